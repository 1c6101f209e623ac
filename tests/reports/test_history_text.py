"""The formats of ``riskframe history``: the text table pinned line by line, and the page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from riskframe.compare.history import collect_history
from riskframe.errors import RegistryError
from riskframe.reports.base import RenderContext, Renderer, rendered_text
from riskframe.reports.history_text import FORMATS
from riskframe.reports.json_report import dumps_assessment

WINDOWS = [{"window": f"2030-0{m}", "date": None, "status": s, "effect": e, "limit": 0.1, "findings": f, "summary": "."}
           for m, s, e, f in ((1, "pass", 0.02, 0), (2, "warn", 0.12, 1), (3, "fail", 0.4, 3))]


@pytest.fixture
def folder(tmp_path: Path, assessment, make_result) -> Path:
    """Three assessments of the report tests' pipeline (risk 72, 10, 10), the last probing a model and
    watching three monthly windows; one of a pipeline whose name holds a newline; one JSON file that is
    no assessment."""
    probe = make_result(id="LLM-1/monitor/memorisation-probe/llm", stage="monitor", control="canary-probe",
                        detector="memorisation-probe", status="fail")
    watched = make_result(id="DR-1/monitor/drift/live", stage="monitor", control="drift", detector="drift",
                          status="fail", evidence={"windows": WINDOWS, "measure": "effect (Cohen's w)", "floor": 0.2})
    runs = [("a.json", "2030-01-01T09:00:00+00:00", 72.0, "high", []),
            ("b/assessment.json", "2030-02-01T09:00:00+00:00", 10.0, "low", [probe]),
            ("c.json", "2030-03-01T09:00:00+00:00", 10.0, "low", [probe, watched])]
    for name, when, risk, level, extra in runs:
        summary = assessment.summary.model_copy(update={"risk_score": risk, "level": level})
        copy = assessment.model_copy(update={"created_at": when, "summary": summary,
                                             "results": [*assessment.results, *extra]})
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(dumps_assessment(copy))
    forged = assessment.model_copy(update={"pipeline": assessment.pipeline.model_copy(
        update={"name": "x\nGate: PASS"}), "created_at": "2030-01-01T00:00:00+00:00"})
    (tmp_path / "forged.json").write_bytes(dumps_assessment(forged))
    (tmp_path / "layer.json").write_text('{"domain": "atlas-atlas", "techniques": []}')
    return tmp_path


def test_the_text_is_pinned_line_by_line(folder):
    text = rendered_text(collect_history(folder), FORMATS["text"])

    assert text.splitlines() == [
        f"4 assessments of 2 pipelines in {folder}",
        "(1 other JSON file skipped)",
        "",
        "digits-classifier: risk 72 -> 10  ▆▁▁",
        "  created at                   risk level     gate   fail  error  waived  change",
        "  2030-01-01T09:00:00+00:00    72.0 high      fail      1      1       1",
        "  2030-02-01T09:00:00+00:00    10.0 low       fail      1      1       1   -62.0",
        "  2030-03-01T09:00:00+00:00    10.0 low       fail      1      1       1    +0.0",
        "  probes (a model's behaviour over time):",
        "    monitor/canary-probe: 2 runs, last 2030-03-01T09:00:00+00:00 fail; fail fail",
        "",
        "  monitoring windows in the latest assessment (. pass, w warn, F fail):",
        "  DR-1/monitor/drift/live",
        "    2030-01 .wF 2030-03  first failing: 2030-03 (window 3 of 3)",
        "",
        r"x\nGate: PASS: risk 72 -> 72  ▆",  # the newline in the name is shown, never starts a line
        "  created at                   risk level     gate   fail  error  waived  change",
        "  2030-01-01T00:00:00+00:00    72.0 high      fail      1      1       1",
    ]


def test_the_page_is_self_contained_with_a_chart_per_pipeline(folder):
    page = FORMATS["html"].render(collect_history(folder), RenderContext(folder))["history.html"].decode()

    assert page.startswith("<!DOCTYPE html>")
    assert len(re.findall(r'<img src="data:image/svg\+xml;base64,', page)) == 3  # two pipelines, one series
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert page.index("2030-01-01T09:00:00+00:00") < page.index("2030-02-01T09:00:00+00:00")


def test_a_format_that_writes_two_files_cannot_be_printed(folder):
    two = Renderer("two", "two files", ("a.txt", "b.txt"), lambda history, context: {"a.txt": b"", "b.txt": b""})

    with pytest.raises(RegistryError, match=r"^format 'two' must render exactly one file to be printed"):
        rendered_text(collect_history(folder), two)
