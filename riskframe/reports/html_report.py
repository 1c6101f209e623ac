"""``report.html``: the reviewer's report, one self-contained page.

Rendered from ``templates/report.html.j2`` with autoescaping. Styles are inlined and every
picture is a ``data:`` URI (charts as SVG, detector attachments as they came), so the page works
offline, fetches nothing and can be attached to a ticket or printed as it is.

>>> from riskframe.reports.html_report import render_html
>>> page = render_html(assessment)  # doctest: +SKIP
>>> page.startswith("<!DOCTYPE html>")  # doctest: +SKIP
True
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from riskframe.assessment import Assessment, ControlResult, TechniqueStatus
from riskframe.compare.baseline import BaselineComparison, comparison_in, unreported
from riskframe.reports import _evidence, _executive, charts, decision, matrix, view
from riskframe.reports.base import RenderContext, Renderer
from riskframe.reports.templates import environment

FILE_NAME = "report.html"
TEMPLATE = "report.html.j2"


@dataclass(frozen=True)
class Picture:
    uri: str
    alt: str
    caption: str
    prominent: bool = False


@dataclass(frozen=True)
class ResultView:
    """One result and what the page shows of it."""

    result: ControlResult
    anchor: str
    poison_share: str | None
    evidence: _evidence.ReadableEvidence
    histogram: Picture | None
    attachments: list[Picture]
    unreadable_attachments: list[str]
    detection_limit: str | None = None
    risk_terms: list[tuple[str, str, str]] = field(default_factory=list)
    lands_on: str | None = None


def render_html(assessment: Assessment, baseline: BaselineComparison | None = None) -> str:
    """The HTML report of ``assessment`` as text (with ``baseline``: known failures left out of the findings)."""
    anchors = view.anchors(assessment)
    atlas = matrix.atlas_matrix(assessment)
    context: dict[str, Any] = {
        "a": assessment,
        "headline": decision.headline(assessment),
        "gate_sentence": decision.gate_sentence(assessment),
        "gate_sections": decision.sections(assessment),
        "set_aside": decision.set_aside(assessment),
        "nothing_sentence": decision.nothing_sentence(assessment),
        "level_sentence": view.level_sentence(assessment.summary.level, assessment),
        "status_counts": view.status_counts(assessment),
        "counts_sentence": view.counts_sentence(assessment),
        "facts": view.headline_facts(assessment),
        "attention": unreported(decision.attention(assessment), baseline),
        "baseline": baseline,
        "brief": _executive.executive_summary(assessment, baseline),
        "matrix": atlas,
        "matrix_rows": list(itertools.zip_longest(*(column.cells for column in atlas.columns))),
        "technique_anchors": {t.id: technique_anchor(t.id) for t in assessment.atlas},
        "anchors": anchors,
        "nist_groups": view.nist_groups(assessment),
        "techniques": [_technique_row(t) for t in assessment.atlas],
        "stage_graph": _stage_graph(assessment),
        "max_graph_stages": charts.MAX_GRAPH_STAGES,
        "max_histogram_panels": _evidence.MAX_HISTOGRAM_PANELS,
        "stage_risk": {stage.name: stage for stage in assessment.stages},
        "results_by_stage": [
            (stage, [_result_view(r, anchors[r.id], assessment.risk_model) for r in results])
            for stage, results in view.results_by_stage(assessment)
        ],
    }
    return environment("html").get_template(TEMPLATE).render(context)


def _stage_graph(assessment: Assessment) -> Picture | None:
    svg = charts.stage_graph_svg(assessment.pipeline, assessment.stages)
    if svg is None:
        return None
    alt = charts.stage_graph_alt(assessment.pipeline, assessment.stages)
    return Picture(
        charts.data_uri(svg), alt, "Stages left to right in dependency order, coloured by residual risk level."
    )


def technique_anchor(technique_id: str) -> str:
    """``AML.T0010.002`` -> ``technique-aml-t0010-002``: the HTML id of a technique's row."""
    return "technique-" + re.sub(r"[^a-z0-9]+", "-", technique_id.lower()).strip("-")


def _technique_row(technique: TechniqueStatus) -> dict[str, Any]:
    return {"t": technique, "tactics": [view.tactic_label(t) for t in technique.tactics]}


def _result_view(result: ControlResult, anchor: str, risk_model: dict[str, Any]) -> ResultView:
    evidence = _evidence.readable(result.evidence)
    pictures, unreadable = _attachments(result)
    return ResultView(
        result, anchor, None if result.status == "pass" else view.poison_share(result), evidence,
        _histogram(result, evidence), pictures, unreadable, view.detection_limit(result), view.risk_terms(result),
        view.lands_on(result, risk_model),
    )


def _histogram(result: ControlResult, evidence: _evidence.ReadableEvidence) -> Picture | None:
    svg = charts.histogram_svg(evidence.histograms, f"Suspicion scores: {result.control} on {result.stage}")
    if svg is None:
        return None
    alt = charts.histogram_alt(evidence.histograms)
    return Picture(charts.data_uri(svg), alt, "Flagged (hatched, red) and kept (blue) samples by suspicion score.")


def _attachments(result: ControlResult) -> tuple[list[Picture], list[str]]:
    """The attachments that can be shown, and the names of those that cannot (data not base64)."""
    pictures, unreadable = [], []
    # The picture its detector marked prominent (the flagged samples a reviewer checks by eye) goes first, and large.
    for attachment in sorted(result.attachments, key=lambda a: not a.prominent):
        if not _is_base64(attachment.data):
            unreadable.append(attachment.name)
            continue
        caption = attachment.caption or attachment.name
        uri = f"data:{attachment.media_type};base64,{attachment.data}"
        pictures.append(Picture(uri, caption, caption, prominent=attachment.prominent))
    return pictures, unreadable


def _is_base64(data: str) -> bool:
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return False
    return bool(data)


def _render(assessment: Assessment, context: RenderContext) -> dict[str, bytes]:
    return {FILE_NAME: render_html(assessment, comparison_in(context)).encode("utf-8")}


RENDERER = Renderer(
    name="html",
    description="a self-contained HTML report for reviewers (images inline, no network)",
    files=(FILE_NAME,),
    render=_render,
)
