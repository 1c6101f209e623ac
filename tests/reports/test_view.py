"""The words and roll-ups shared by the Markdown and HTML reports."""

from __future__ import annotations

import pytest

from riskframe.assessment import NistSubcategoryStatus, Summary
from riskframe.reports import view


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.094, "9.4%"),
        (0.0082, "0.82%"),
        (0.25, "25%"),
        (0.12345, "12.3%"),
        (1.0, "100%"),
        (float("nan"), "n/a"),
        (3e-7, "< 0.01%"),
    ],
)
def test_percent(value, text) -> None:
    assert view.percent(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(1797, "1,797"), (0.123456, "0.1235"), (123456.7, "123,457"), (True, "True"), ("x", "x"), (float("inf"), "inf")],
)
def test_number(value, text) -> None:
    assert view.number(value) == text


def test_every_status_and_level_has_words() -> None:
    from riskframe.results import STATUSES
    from riskframe.vocabulary import LEVELS

    assert [view.status_word(s) for s in STATUSES] == [
        "passed",
        "warning",
        "failed",
        "error (could not run)",
        "skipped",
        "waived",
        "not applicable",
    ]
    assert all(view.level_sentence(level).startswith(level.capitalize()) for level in LEVELS)


def test_attention_lists_failures_then_errors_then_warnings_by_residual(assessment, make_result) -> None:
    results = [
        make_result(id="w", status="warn"),
        make_result(id="e", status="error"),
        make_result(id="f-low", status="fail"),
        make_result(id="f-high", status="fail", risk=assessment.results[0].risk),
        make_result(id="p", status="pass"),
    ]
    ordered = view.attention_results(assessment.model_copy(update={"results": results}))
    assert [r.id for r in ordered] == ["f-high", "f-low", "e", "w"]


def test_counts_come_from_the_summary_in_status_order(assessment) -> None:
    assert view.status_counts(assessment) == [
        ("pass", 1),
        ("warn", 1),
        ("fail", 1),
        ("error", 1),
        ("waived", 1),
        ("not_applicable", 1),
    ]
    single = assessment.model_copy(
        update={"summary": Summary(risk_score=0, level="low", counts={"pass": 1, "fail": 0}, requirements=1, stages=1)}
    )
    assert view.counts_sentence(single) == "1 passed (1 result)"


def test_counts_fall_back_to_the_results_when_the_summary_has_none(assessment) -> None:
    bare = assessment.model_copy(update={"summary": assessment.summary.model_copy(update={"counts": {}})})
    assert dict(view.status_counts(bare)) == {
        "pass": 1,
        "warn": 1,
        "fail": 1,
        "error": 1,
        "waived": 1,
        "not_applicable": 1,
    }


def test_nist_groups_keep_the_rmf_order_and_sort_numbers_numerically(assessment) -> None:
    def entry(sub: str, status: str) -> NistSubcategoryStatus:
        function = sub.split()[0]
        return NistSubcategoryStatus(
            id=sub, function=function, category=sub.split(".")[0], statement="s", status=status, results=[]
        )

    nist = [
        entry("MEASURE 2.10", "satisfied"),
        entry("MEASURE 2.9", "not-satisfied"),
        entry("GOVERN 1.1", "not-assessed"),
        entry("EXTRA 1.1", "satisfied"),
    ]
    groups = view.nist_groups(assessment.model_copy(update={"nist": nist}))
    assert [g.function for g in groups] == ["GOVERN", "MEASURE", "EXTRA"]
    measure = groups[1]
    assert [s.id for s in measure.assessed] == ["MEASURE 2.9", "MEASURE 2.10"]
    assert measure.counts == {"satisfied": 1, "not-satisfied": 1, "not-assessed": 0}
    assert measure.sentence() == "1 satisfied, 1 not satisfied, 0 not assessed"


def test_poison_share_with_and_without_an_interval(make_result) -> None:
    assert view.poison_share(make_result(metrics={"estimated_poison_fraction": 0.05})) == "5%"
    with_interval = make_result(
        metrics={
            "estimated_poison_fraction": 0.05,
            "estimated_poison_fraction_low": 0.04,
            "estimated_poison_fraction_high": 0.061,
        }
    )
    assert view.poison_share(with_interval) == "5% (interval 4% to 6.1%)"
    assert view.poison_share(make_result()) is None


def test_anchors_are_unique_and_url_safe(assessment, make_result) -> None:
    results = [make_result(id="R 1/a:b"), make_result(id="R-1/a-b"), make_result(id="R-1/a-b-2"), make_result(id="")]
    anchors = view.anchors(assessment.model_copy(update={"results": results}))
    assert list(anchors.values()) == ["result-r-1-a-b", "result-r-1-a-b-2", "result-r-1-a-b-2-2", "result-x"]


def test_tactic_labels_fall_back_to_the_id() -> None:
    assert view.tactic_label("AML.TA9999") == "AML.TA9999"


def test_low_risk_never_says_nothing_needs_action_next_to_failing_results(assessment, make_result) -> None:
    quiet = assessment.model_copy(update={"results": [make_result(status="pass")]})
    assert view.level_sentence("low", quiet) == view.LEVEL_SENTENCES["low"]
    loud = assessment.model_copy(update={"results": [make_result(status="fail"), make_result(status="warn")]})
    assert view.level_sentence("low", loud) == (
        "Low risk by the risk model, but 2 results failed, errored or warned: read them below before release.")


def test_a_passed_gate_says_every_check_ran_only_when_it_did(assessment, make_result) -> None:
    from riskframe.assessment import Gate, NotAssessed
    from riskframe.reports import decision

    passed = assessment.model_copy(update={"gate": Gate(decision="pass", fail_on="high", reasons=[]),
                                           "results": [make_result(status="pass")], "not_assessed": []})
    assert decision.gate_sentence(passed).startswith("Gate passed: every check ran, and no result")
    gap = NotAssessed(policy="p", requirement="R1", control="c", reason="no dataset")
    allowed = passed.model_copy(update={"not_assessed": [gap]})
    assert decision.gate_sentence(allowed).startswith(
        "Gate passed: 1 check had nothing to check, which the policy allows, and no result")
