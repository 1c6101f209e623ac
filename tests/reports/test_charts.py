"""Charts: the stage graph's layering and drawing, score histograms, deterministic SVG bytes."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

from riskframe.assessment import PipelineInfo, StageInfo
from riskframe.reports._evidence import Histogram
from riskframe.reports.charts import (
    MAX_GRAPH_STAGES,
    data_uri,
    histogram_alt,
    histogram_svg,
    stage_graph_alt,
    stage_graph_svg,
    stage_layers,
)

SVG = "{http://www.w3.org/2000/svg}"


def _pipeline(needs: dict[str, list[str]]) -> PipelineInfo:
    stages = [
        StageInfo(name=name, kind="data-preparation", trust="trusted", needs=deps, artifacts=[])
        for name, deps in needs.items()
    ]
    return PipelineInfo(name="p", path="p.yaml", owner=None, criticality="medium", stages=stages)


def _texts(svg: bytes) -> list[str]:
    # Text is drawn as paths; matplotlib keeps each label as a comment beside its glyphs.
    return [line.strip()[5:-4] for line in svg.decode().splitlines() if line.strip().startswith("<!-- ")]


def test_layers_follow_dependencies_left_to_right(assessment) -> None:
    assert stage_layers(assessment.pipeline) == {"ingest": 0, "prepare": 1, "train": 2, "evaluate": 3, "deploy": 4}
    diamond = _pipeline({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "lone": []})
    assert stage_layers(diamond) == {"a": 0, "lone": 0, "b": 1, "c": 1, "d": 2}


def test_a_cycle_or_a_missing_need_is_drawn_rather_than_refused() -> None:
    odd = _pipeline({"a": ["c"], "b": ["a"], "c": ["b"], "d": ["c", "ghost"], "e": ["e"]})
    layers = stage_layers(odd)
    assert layers["a"] == layers["b"] == layers["c"] < layers["d"]
    assert stage_graph_svg(odd, []) is not None


def test_the_stage_graph_is_valid_svg_naming_every_stage_and_level(assessment) -> None:
    svg = stage_graph_svg(assessment.pipeline, assessment.stages)
    assert svg is not None and ET.fromstring(svg).tag == f"{SVG}svg"
    texts = _texts(svg)
    for stage in assessment.stages:  # each node reads: name, kind, level (and trust when untrusted)
        where = texts.index(stage.name)
        assert texts[where + 1] == stage.kind and texts[where + 2].startswith(f"{stage.level} risk")
    assert texts[texts.index("ingest") + 2] == "low risk, untrusted"
    assert "untrusted input (dashed border)" in texts


def test_the_stage_graph_bytes_are_identical_across_renders(assessment) -> None:
    first = stage_graph_svg(assessment.pipeline, assessment.stages)
    assert first == stage_graph_svg(assessment.pipeline, assessment.stages)
    assert b"<dc:date>" not in first  # no timestamp in the metadata


def test_no_graph_for_no_stages_or_too_many() -> None:
    assert stage_graph_svg(_pipeline({}), []) is None
    chain = {f"s{i}": [f"s{i - 1}"] if i else [] for i in range(MAX_GRAPH_STAGES + 1)}
    assert stage_graph_svg(_pipeline(chain), []) is None


def test_the_alt_text_describes_the_graph(assessment) -> None:
    alt = stage_graph_alt(assessment.pipeline, assessment.stages[:1])
    assert alt.startswith("Stage graph of 5 stages: ingest (data-understanding, untrusted, low risk); ")
    assert "evaluate (model-evaluation, trusted, not assessed, after train, prepare)" in alt


def test_histograms_draw_one_panel_per_class_deterministically() -> None:
    panels = [Histogram(f"class {c}", [0.0, 0.5, 1.0], [0.0, float(c)], [90.0, 3.0]) for c in range(5)]
    svg = histogram_svg(panels, "Suspicion scores")
    assert svg is not None and svg == histogram_svg(panels, "Suspicion scores")
    texts = _texts(svg)
    assert "Suspicion scores" in texts and "class 4" in texts and "flagged" in texts and "kept" in texts
    assert histogram_svg([], "nothing") is None
    assert histogram_alt(panels[:2]) == (
        "Histogram of suspicion scores, flagged versus kept samples. "
        "class 0: 0 flagged, 93 kept; class 1: 1 flagged, 93 kept."
    )


def test_data_uri_round_trips() -> None:
    uri = data_uri(b"<svg/>")
    assert uri == "data:image/svg+xml;base64,PHN2Zy8+"
    assert base64.b64decode(uri.split(",", 1)[1]) == b"<svg/>"


def test_a_stage_without_results_is_not_assessed_rather_than_low(assessment) -> None:
    quiet = [
        stage.model_copy(update={"results": []}) if stage.name == "deploy" else stage for stage in assessment.stages
    ]
    alt = stage_graph_alt(assessment.pipeline, quiet)
    assert "deploy (deployment, trusted, not assessed, after evaluate)" in alt
    assert "evaluate (model-evaluation, trusted, high risk, after train, prepare)" in alt
    texts = _texts(stage_graph_svg(assessment.pipeline, quiet) or b"")
    assert texts[texts.index("deploy") + 2] == "not assessed"


def test_an_arrow_that_skips_a_column_bows_clear_of_the_stages_it_skips() -> None:
    from riskframe.reports.charts import _arc_peak, _bend, _positions

    pipeline = _pipeline({"a": [], "b": ["a"], "c": ["b", "a"], "side": ["a"], "end": ["c", "side", "a"]})
    layers = stage_layers(pipeline)
    positions = _positions(pipeline, layers)
    assert _bend("a", "b", layers, positions) == 0.0  # neighbouring columns: straight
    for source, target in (("a", "c"), ("a", "end")):
        bend = _bend(source, target, layers, positions)
        peak = _arc_peak((source, target, bend), positions)
        skipped = [positions[n][1] for n, column in layers.items() if layers[source] < column < layers[target]]
        assert bend != 0.0 and all(abs(peak - y) > 0.42 for y in skipped), (source, target, bend, peak)


def test_a_short_pipelines_graph_keeps_its_whole_legend(assessment) -> None:
    """One stage draws a 2.9-inch picture; the legend's six entries need about 7.8 inches: the canvas
    grows to hold them instead of cutting them at the figure's edge (on screen and in print)."""
    import re

    one = assessment.pipeline.model_copy(update={"stages": assessment.pipeline.stages[:1]})
    svg = stage_graph_svg(one, assessment.stages[:1])
    width = float(re.search(rb'<svg[^>]* width="([\d.]+)pt"', svg).group(1))
    assert width > 7 * 72
