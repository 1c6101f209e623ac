"""--baseline: matching failures by id, the gate over new failures only, and what the reports say."""

from __future__ import annotations

import json

import pytest

from riskframe.errors import DocumentError, UsageError
from riskframe.reports.baseline import Baseline, apply_baseline, compare, load_baseline, rebase, render_reports
from riskframe.reports.html_report import render_html
from riskframe.reports.json_report import load_assessment
from riskframe.reports.markdown_report import render_markdown


@pytest.fixture
def older(assessment):
    """An earlier run in which DP-1 already failed and DP-4 did not exist, and a since-fixed failure."""
    results = [r for r in assessment.results if r.id != "DP-4/evaluate/label-issues/test"]
    gone = results[1].model_copy(update={"id": "DP-9/ingest/artifact-digest/old", "status": "fail"})
    return assessment.model_copy(update={"created_at": "2025-01-01T09:00:00+00:00", "results": [*results, gone]})


def test_failures_are_matched_by_id(assessment, older) -> None:
    comparison = compare(assessment, Baseline("main/assessment.json", older))
    assert comparison.known == ("DP-1/train/label-issues/train",)
    assert comparison.new == ("DP-4/evaluate/label-issues/test",)
    assert comparison.fixed == ("DP-9/ingest/artifact-digest/old",)
    assert comparison.sentence() == (
        "1 failing result was already failing in the baseline main/assessment.json (2025-01-01T09:00:00+00:00); "
        "the reports do not list it again and the gate does not count it."
    )


def test_the_gate_counts_only_new_failures(assessment, older) -> None:
    rebased, comparison = rebase(assessment, Baseline("main/assessment.json", older))
    assert rebased.gate.decision == "fail"  # DP-4 is new and erred: the gate still fails closed
    assert rebased.gate.reasons[-1] == comparison.sentence()
    assert not any(reason.startswith("DP-1 ") for reason in rebased.gate.reasons)
    assert rebased.results == assessment.results  # assessment.json keeps every result


def test_with_every_failure_known_the_gate_passes_and_says_why(assessment) -> None:
    rebased, _ = rebase(assessment, Baseline("main.json", assessment))
    assert rebased.gate.decision == "pass"
    assert rebased.gate.reasons == [
        "2 failing results were already failing in the baseline main.json (2025-01-15T10:00:00+00:00); "
        "the reports do not list them again and the gate does not count them."
    ]


def test_a_warning_at_the_gate_level_is_never_suppressed(assessment, make_result) -> None:
    risky_warning = make_result(id="W/train/x", status="warn", risk=assessment.results[0].risk)  # high residual
    current = assessment.model_copy(update={"results": [risky_warning]})
    rebased, _ = rebase(current, Baseline("main.json", current))
    assert rebased.gate.decision == "fail"


def test_no_baseline_changes_nothing(assessment) -> None:
    assert rebase(assessment, None) == (assessment, None)


def test_a_baseline_of_another_pipeline_is_refused(assessment) -> None:
    other = assessment.model_copy(update={"pipeline": assessment.pipeline.model_copy(update={"name": "fraud"})})
    with pytest.raises(
        UsageError,
        match=r"^--baseline: old.json assesses pipeline 'fraud', not 'digits-classifier'; "
        r"give an earlier assessment of the same pipeline$",
    ):
        compare(assessment, Baseline("old.json", other))


def test_a_baseline_that_is_not_an_assessment_is_a_located_error(tmp_path) -> None:
    bad = tmp_path / "policy.json"
    bad.write_text(json.dumps({"apiVersion": "riskframe/v1", "kind": "Policy"}))
    with pytest.raises(DocumentError, match=r"policy.json: not a riskframe assessment"):
        load_baseline(bad)


def test_markdown_and_html_leave_known_failures_out_and_count_them(assessment, older) -> None:
    rebased, comparison = rebase(assessment, Baseline("main/assessment.json", older))
    text = render_markdown(rebased, baseline=comparison)
    table = [line for line in text.splitlines() if line.startswith("| DP-")]
    assert [row.split(" | ")[0] for row in table] == [
        "| DP-4: Test labels are trustworthy",
        "| DP-2: No class holds out-of-distribution samples",
    ]
    assert "\nNot listed: 1 failing result already failing in the baseline `main/assessment.json`.\n" in text
    assert f"- {comparison.sentence()}\n" in text  # among the gate's reasons
    page = render_html(rebased, comparison)
    findings = page.split('id="findings"', 1)[1].split("</section>", 1)[0]
    assert "DP-1: Training labels" not in findings and "DP-4: Test labels" in findings
    assert comparison.sentence() in findings


def test_the_written_assessment_keeps_the_rebased_gate(assessment, tmp_path) -> None:
    comparison = compare(assessment, Baseline("main.json", assessment))
    rebased = apply_baseline(assessment, comparison)
    [path, _] = render_reports(rebased, tmp_path, ["json", "md"], comparison)
    reread = load_assessment(path)
    assert reread.gate.decision == "pass" and len(reread.results) == len(assessment.results)
    # Rebasing again (riskframe report --baseline) gives the same gate, without repeating the reason.
    assert apply_baseline(reread, comparison).gate == reread.gate
