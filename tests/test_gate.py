"""The gate: errors fail closed, waived results never fail it, and every reason says why."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from riskframe.assessment import ControlResult, ResultWaiver, Risk, RiskTerms
from riskframe.gate import decide
from riskframe.scoring import DEFAULT_MODEL
from riskframe.vocabulary import LEVELS

RESIDUAL = {"low": 0.1, "medium": 0.4, "high": 0.6, "critical": 0.9}


def result(status, level="high", waiver=None, requirement="R1", severity="high"):
    terms = RiskTerms(maturity_prior=0.6, exposure=0.0, inherited=0.0, control_effect="-")
    risk = Risk(likelihood=1.0, impact=RESIDUAL[level], inherent=RESIDUAL[level], residual=RESIDUAL[level],
                level=level, terms=terms)
    return ControlResult(id=f"{requirement}/prepare/balance", requirement=requirement, requirement_title="t",
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
    gate = decide([], "high", ["R9 (p) produced no verdict (balance: no dataset artifact at the eligible stages)"])
    assert gate.decision == "fail"
    assert gate.reasons == ["R9 (p) produced no verdict (balance: no dataset artifact at the eligible stages); "
                            "the gate fails closed (risk_appetite.unassessed: fail)"]


def test_a_laxer_fail_on_from_the_command_line_is_said_in_the_reasons():
    """The PR comment must not credit the policy with a level the command line chose."""
    gate = decide([result("fail", "high", severity="high")], "critical", policy_levels=["high", "critical"])
    assert (gate.decision, gate.reasons) == (
        "pass", ["fail_on critical was set on the command line (--fail-on); the policies fail at high"])
    assert decide([], "medium", policy_levels=["high"]).reasons == []  # stricter than the policies: nothing to say
    assert decide([], "high", policy_levels=["high"]).reasons == []
