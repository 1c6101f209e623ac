"""The portfolio summary: systems that fail their gate, systems that fail each ATLAS technique,
rendered from the record alone; text from documents cannot become Markdown."""

from __future__ import annotations

import json

from markdown_it import MarkdownIt

from riskframe.reports.portfolio import PortfolioSummary, render_json, render_markdown, summarize


def passing(assessment, name: str):
    """The fixture assessment as a system whose every technique passed and whose gate passed."""
    atlas = [t.model_copy(update={"status": "pass" if t.covered else t.status}) for t in assessment.atlas]
    gate = assessment.gate.model_copy(update={"decision": "pass", "reasons": []})
    pipeline = assessment.pipeline.model_copy(update={"name": name})
    return assessment.model_copy(update={"atlas": atlas, "gate": gate, "pipeline": pipeline})


def portfolio(assessment) -> PortfolioSummary:
    systems = [("a/pipeline.yaml", "a/pipeline", assessment),
               ("b/pipeline.yaml", "b/pipeline", passing(assessment, "[x](javascript:alert(1)) @team"))]
    return summarize(systems, planned_runs=12, computed_runs=7, created_at="2025-01-15T10:00:00+00:00")


def test_systems_and_techniques_say_who_fails_what(assessment):
    summary = portfolio(assessment)

    assert summary.decision == "fail"
    assert [(s.report, s.decision, s.failing_techniques) for s in summary.systems] == [
        ("a/pipeline", "fail", ["AML.T0020", "AML.T0059"]), ("b/pipeline", "pass", [])]
    assert [(t.id, t.failing, t.assessed) for t in summary.techniques] == [
        ("AML.T0020", ["a/pipeline"], 2), ("AML.T0059", ["a/pipeline"], 2), ("AML.T0010.002", [], 0),
        ("AML.T0019", [], 2)]


def test_the_json_is_the_record_and_reads_back(assessment):
    summary = portfolio(assessment)
    assert PortfolioSummary.model_validate(json.loads(render_json(summary))) == summary


def test_the_markdown_tables_and_inert_user_text(assessment):
    text = render_markdown(portfolio(assessment)).decode()

    assert text.splitlines()[:3] == [
        "# Portfolio: 1 of 2 systems fail their gate", "",
        "Decision: **FAIL**. Detector runs: 12 planned, 7 computed (a run that several pipelines hold over the same "
        "files is computed once)."]
    assert "| AML.T0020 | Poison Training Data | 1: a/pipeline | 2 |" in text
    html = MarkdownIt("gfm-like").render(text)
    assert 'href="javascript' not in html and "@team" not in text  # no link, no mention from a pipeline's name
    assert '<a href="a/pipeline/">a/pipeline</a>' in html
