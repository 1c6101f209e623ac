"""The gate: errors fail closed, waived results never fail it, every reason says why, and the record
holds each reason as data (requirement, artifact, result id), waived and known apart."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskframe.assessment import ControlResult, ResultWaiver, Risk, RiskTerms
from riskframe.engine.gate import NoVerdict, check_override, decide, without_known
from riskframe.errors import UsageError
from riskframe.scoring import DEFAULT_MODEL
from riskframe.vocabulary import LEVELS

RESIDUAL = {"low": 0.1, "medium": 0.4, "high": 0.6, "critical": 0.9}


def result(status, level="high", waiver=None, requirement="R1", severity="high", artifact=None):
    terms = RiskTerms(maturity_prior=0.6, exposure=0.0, inherited=0.0, control_effect="-")
    risk = Risk(likelihood=1.0, impact=RESIDUAL[level], inherent=RESIDUAL[level], residual=RESIDUAL[level],
                level=level, terms=terms)
    return ControlResult(id=f"{requirement}/prepare/balance" + (f"/{artifact}" if artifact else ""),
                         requirement=requirement, artifact=artifact, requirement_title="t",
                         policy="p", stage="prepare", control="balance", control_title="c", detector="d", params={},
                         status=status, severity=severity, score=0.5, summary="s", risk=risk, atlas=[], nist=[],
                         waiver=waiver)


def waiver(status="active", applied=True, waived_status="fail"):
    return ResultWaiver(justification="Vendor relabels next sprint", approved_by="Jane Doe", expires=date(2025, 6, 30),
                        source="policy.yaml:20", status=status, applied=applied,
                        waived_status=waived_status if applied else None)


def test_an_error_fails_closed_whatever_its_risk():
    gate = decide([result("error", "low")], "critical")
    assert gate.decision == "fail"
    assert gate.reasons == ["R1 at stage prepare: balance ended in error; the gate fails closed"]


def test_a_waived_failure_passes_and_is_listed_with_who_accepted_it():
    gate = decide([result("waived", "high", waiver())], "high")
    assert gate.decision == "pass"
    assert gate.reasons == ["R1 at stage prepare: balance failed with high residual risk (0.60), waived until "
                            "2025-06-30 by Jane Doe (policy.yaml:20): Vendor relabels next sprint (found now: s)"]


def test_a_waived_reason_shows_what_the_check_found_now_shortened():
    """The waiver was written for one finding; the reviewer sees the current one beside it."""
    long = result("waived", "high", waiver()).model_copy(update={"summary": "Estimated 60.0% of class 7 " * 10})
    [reason] = decide([long], "high").reasons
    assert reason.endswith("Vendor relabels next sprint (found now: " + "Estimated 60.0% of class 7 " * 5
                           + "Estimated 60.0% of class ...)")


def test_a_waived_result_below_the_gate_level_needs_no_reason():
    assert decide([result("waived", "low", waiver())], "high").reasons == []


def test_an_expired_waiver_is_named_in_the_failing_reason():
    gate = decide([result("fail", "high", waiver("expired", applied=False))], "high")
    assert gate.reasons == ["R1 at stage prepare: balance failed with high residual risk (0.60), at or above "
                            "fail_on: high; its waiver (policy.yaml:20) expired on 2025-06-30"]


def test_failing_reasons_come_before_accepted_ones():
    gate = decide([result("waived", "high", waiver(), "R1"), result("fail", "critical", requirement="R2")], "high")
    assert gate.decision == "fail"
    assert [r.split(":")[0] for r in gate.reasons] == ["R2 at stage prepare", "R1 at stage prepare"]


statuses = st.sampled_from(("pass", "warn", "fail", "error", "skipped", "waived", "not_applicable"))
levels = st.sampled_from(LEVELS)


@given(st.lists(st.tuples(statuses, levels, levels), max_size=8), levels)
def test_the_gate_fails_exactly_on_unwaived_errors_severe_failures_and_risks_at_its_level(cases, fail_on):
    results = [result(s, lvl, waiver() if s == "waived" else None, severity=sev) for s, lvl, sev in cases]
    gate = decide(results, fail_on)
    at_level = LEVELS.index(fail_on)
    failing = any(s == "error"
                  or (s in ("pass", "warn", "fail", "skipped") and LEVELS.index(lvl) >= at_level)
                  or (s == "fail" and LEVELS.index(sev) >= at_level) for s, lvl, sev in cases)
    assert (gate.decision == "fail") == failing
    # waiving any result never turns a passing gate into a failing one
    waived = [result("waived", lvl, waiver(), severity=sev) for _, lvl, sev in cases]
    assert decide(waived, fail_on).decision == "pass"


def test_residuals_above_match_their_levels():
    from riskframe.scoring import level_of

    assert {level: level_of(value, DEFAULT_MODEL) for level, value in RESIDUAL.items()} == \
        {level: level for level in RESIDUAL}


def test_a_failure_of_a_severe_requirement_fails_the_gate_whatever_the_criticality_made_of_it():
    # A low-criticality pipeline scales impact down; the team being gated declares its criticality,
    # so a failed high-severity requirement still fails a fail_on: high gate.
    gate = decide([result("fail", "medium", severity="high")], "high")
    assert gate.decision == "fail"
    assert gate.reasons == ["R1 at stage prepare: balance failed a high-severity requirement (medium residual "
                            "risk (0.40)), at or above fail_on: high"]


def test_a_requirement_without_a_verdict_fails_closed():
    gate = decide([], "high", [NoVerdict("R9", "p", "balance: no dataset artifact at the eligible stages")])
    assert gate.decision == "fail"
    assert gate.reasons == ["R9 (p) produced no verdict (balance: no dataset artifact at the eligible stages); "
                            "the gate fails closed (risk_appetite.unassessed: fail)"]


def test_a_laxer_fail_on_from_the_command_line_is_said_in_the_reasons():
    """The PR comment must not credit the policy with a level the command line chose."""
    gate = decide([result("fail", "high", severity="high")], "critical", policy_levels=["high", "critical"],
                  source="command-line")
    assert (gate.decision, gate.reasons) == (
        "pass", ["fail_on critical was set on the command line (--fail-on); the policies fail at high"])
    assert gate.fail_on_source == "command-line" and gate.policy_fail_on == "high"
    # stricter than the policies: nothing to say
    assert decide([], "medium", policy_levels=["high"], source="command-line").reasons == []
    assert decide([], "high", policy_levels=["high"]).reasons == []


def test_waived_results_are_not_among_the_failing_reasons():
    """The reviewer's case: a waived high failure is accepted, not a reason the gate failed."""
    gate = decide([result("waived", "high", waiver()), result("error", "low", requirement="R2")], "high")
    assert [r.requirement for r in gate.failing] == ["R2"]
    assert [(r.why, r.requirement, r.status, r.waiver) for r in gate.waived] == [
        ("waived", "R1", "fail", "policy.yaml:20")]


def test_two_failures_that_differ_only_by_artifact_give_two_reasons_naming_it():
    gate = decide([result("fail", "high", artifact="train"), result("fail", "high", artifact="test")], "high")
    assert [r.text for r in gate.failing] == [
        "R1 at stage prepare: balance on train failed with high residual risk (0.60), at or above fail_on: high",
        "R1 at stage prepare: balance on test failed with high residual risk (0.60), at or above fail_on: high"]
    assert [(r.artifact, r.result) for r in gate.failing] == [("train", "R1/prepare/balance/train"),
                                                                ("test", "R1/prepare/balance/test")]


def test_the_level_is_the_highest_the_gate_counts():
    results = [result("waived", "critical", waiver()), result("pass", "medium", requirement="R2"),
               result("not_applicable", "high", requirement="R3")]
    assert decide(results, "high").level == "medium"


def test_known_failures_move_out_of_the_failing_reasons_without_a_second_decision():
    results = [result("fail", "critical", requirement="R1"), result("pass", "medium", requirement="R2")]
    gate = without_known(decide(results, "high"), results, {"R1/prepare/balance"}, "main.json", ["a note"])
    assert (gate.decision, gate.level, gate.failing, gate.baseline) == ("pass", "medium", [], "main.json")
    assert [(k.why, k.result) for k in gate.known] == [("known", "R1/prepare/balance")]
    assert gate.reasons == [
        "R1 at stage prepare: balance failed with critical residual risk (0.90); already failing in the baseline "
        "main.json with the same evidence, not counted", "a note"]


def test_an_unassessed_requirement_stays_failing_whatever_the_baseline_knows():
    gate = decide([], "high", [NoVerdict("R9", "p", "no dataset")])
    assert without_known(gate, [], {"R9/prepare/balance"}, "main.json").decision == "fail"


def test_a_laxer_fail_on_is_refused_unless_the_policy_allows_it():
    check_override("medium", [("p", "high", "stricter-only")])  # tighter: fine
    check_override("critical", [("p", "high", "any")])
    with pytest.raises(UsageError) as raised:
        check_override("critical", [("p", "high", "stricter-only")])
    assert str(raised.value) == ("--fail-on critical: policy 'p' fails at high and allows only a stricter --fail-on "
                                 "(risk_appetite.cli_override: stricter-only); use --fail-on high or medium or low, "
                                 "or set cli_override: any in the policy")
