"""Waivers, inheritance and the policy's risk section through real assessments (small real
detectors from conftest.py; real files in tmp_path)."""

from __future__ import annotations

import json
import textwrap
from datetime import date

import pytest

from riskframe.engine.assess import assess
from riskframe.errors import DocumentError
from riskframe.reports import render

TODAY = date(2025, 6, 1)


def run(workspace, registry, policies=None, **kwargs):
    return assess(workspace.pipeline, policies or [workspace.policy], controls_dirs=[workspace.controls],
                  registry=registry, today=kwargs.pop("today", TODAY), **kwargs)


def add_waivers(workspace, text):
    waivers = "waivers:\n" + textwrap.indent(textwrap.dedent(text), "  ")
    workspace.policy.write_text(workspace.policy.read_text() + waivers)


WAIVER = """\
- requirement: R1
  stage: prepare
  justification: Class 0 is oversampled on purpose until the vendor delivers more data
  approved_by: jane.doe@example.org
  expires: {expires}
"""


def test_a_waived_failure_is_reported_waived_and_does_not_fail_the_gate(workspace, registry):
    unwaived = run(workspace, registry)
    add_waivers(workspace, WAIVER.format(expires="2025-06-30"))
    assessment = run(workspace, registry)
    result = next(r for r in assessment.results if r.stage == "prepare")
    assert result.status == "waived"
    assert result.waiver.model_dump(mode="json") == {
        "justification": "Class 0 is oversampled on purpose until the vendor delivers more data",
        "approved_by": "jane.doe@example.org", "expires": "2025-06-30", "source": f"{_shown(workspace.policy)}:15",
        "status": "active", "applied": True, "waived_status": "fail",
        "note": f"Waived until 2025-06-30 by jane.doe@example.org ({_shown(workspace.policy)}:15): "
                "Class 0 is oversampled on purpose until the vendor delivers more data"}
    # A waiver accepts the risk, it does not remove it.
    before = next(r for r in unwaived.results if r.stage == "prepare")
    assert result.risk.residual == before.risk.residual and result.risk.level == "high"
    assert result.risk.terms.control_effect.endswith("; waived: the risk is accepted, the gate ignores it")
    assert assessment.gate.decision == "pass"
    assert assessment.gate.reasons == [
        "R1 at stage prepare: balance on train failed with high residual risk (0.73), waived until 2025-06-30 by "
        f"jane.doe@example.org ({_shown(workspace.policy)}:15): Class 0 is oversampled on purpose until the "
        "vendor delivers more data (found now: smallest/largest class = 0.12)"]
    assert assessment.summary.counts["waived"] == 1
    [record] = assessment.waivers
    assert (record.status, record.days_left, record.applied_to) == ("active", 29, [result.id])


def test_an_expired_waiver_does_not_apply_and_says_when_it_expired(workspace, registry):
    add_waivers(workspace, WAIVER.format(expires="2025-05-20"))
    assessment = run(workspace, registry)
    result = next(r for r in assessment.results if r.stage == "prepare")
    assert result.status == "fail"
    assert result.waiver.status == "expired" and not result.waiver.applied
    assert result.waiver.note == (f"Waiver {_shown(workspace.policy)}:15 expired on 2025-05-20 (12 days before this "
                                  "assessment); the failure counts.")
    assert assessment.gate.decision == "fail"
    assert assessment.gate.reasons == [
        "R1 at stage prepare: balance on train failed with high residual risk (0.73), at or above fail_on: high; "
        f"its waiver ({_shown(workspace.policy)}:15) expired on 2025-05-20"]
    [record] = assessment.waivers
    assert (record.status, record.days_left, record.matched, record.applied_to) == ("expired", -12, [result.id], [])


def test_the_last_day_of_a_waiver_still_counts(workspace, registry):
    add_waivers(workspace, WAIVER.format(expires="2025-06-01"))
    assert run(workspace, registry).gate.decision == "pass"
    assert run(workspace, registry, today=date(2025, 6, 2)).gate.decision == "fail"


def test_errors_are_waived_only_when_the_waiver_says_so(workspace, registry):
    workspace.write_policy(("R1", "crash", "low"))
    add_waivers(workspace, WAIVER.format(expires="2025-06-30").replace("  stage: prepare\n", ""))
    assessment = run(workspace, registry)
    assert {r.status for r in assessment.results} == {"error"}
    assert assessment.results[0].waiver.note.endswith(
        "does not cover errors (it does not say include_errors: true); the error counts (fail closed).")
    assert assessment.gate.decision == "fail"
    assert assessment.gate.reasons[0].endswith(
        "ended in error; the gate fails closed; its waiver "
        f"({_shown(workspace.policy)}:15) does not cover errors (include_errors: false)")

    workspace.policy.write_text(workspace.policy.read_text() + "    include_errors: true\n")
    assessment = run(workspace, registry)
    assert {r.status for r in assessment.results} == {"waived"}
    assert assessment.results[0].waiver.waived_status == "error"
    assert assessment.gate.decision == "pass"
    assert assessment.gate.reasons[0].startswith("R1 at stage ingest: crash on raw ended in error, waived until 2025-06-30")


def test_a_waiver_file_applies_like_a_policy_waiver_and_is_an_input(workspace, registry):
    waivers = workspace.root / "waivers.yaml"
    waivers.write_text("apiVersion: riskframe/v1\nkind: Waivers\nwaivers:\n"
                       + textwrap.indent(WAIVER.format(expires="2025-06-30").replace("stage: prepare",
                                                                                    "control: balance"), "  "))
    assessment = run(workspace, registry, waivers=[waivers])
    assert [(r.stage, r.status) for r in assessment.results] == [("ingest", "pass"), ("prepare", "waived")]
    assert assessment.gate.decision == "pass"
    assert assessment.results[1].waiver.source == f"{_shown(waivers)}:4"
    assert any(i.role == "waivers" and i.path == _shown(waivers) for i in assessment.inputs)
    assert assessment.waivers[0].policy is None


def test_a_waiver_for_another_stage_or_control_does_not_apply(workspace, registry):
    add_waivers(workspace, WAIVER.format(expires="2025-06-30").replace("stage: prepare", "stage: ingest"))
    assessment = run(workspace, registry)
    assert next(r for r in assessment.results if r.stage == "prepare").status == "fail"
    assert assessment.waivers[0].matched == []  # ingest passed: nothing to waive


def test_a_waiver_for_an_unknown_stage_is_a_located_error(workspace, registry):
    add_waivers(workspace, WAIVER.format(expires="2025-06-30").replace("stage: prepare", "stage: prepar"))
    with pytest.raises(DocumentError) as info:
        run(workspace, registry)
    assert str(info.value) == (f"{workspace.policy}:16:5: waivers[0].stage: no stage 'prepar' in pipeline 'tiny' "
                               "(did you mean 'prepare'?)")


def test_a_waiver_longer_than_the_policy_allows_is_an_input_error(workspace, registry):
    add_waivers(workspace, WAIVER.format(expires="2027-06-30"))
    with pytest.raises(DocumentError) as info:
        run(workspace, registry)
    assert str(info.value) == (f"{workspace.policy}:19:5: waivers[0].expires: the waiver runs 759 days (from today, "
                               "2025-06-01, to 2027-06-30), longer than the 365 days policy 'test-policy' allows "
                               "(risk_appetite.max_waiver_days)")


def test_waivers_show_in_every_report_format(workspace, registry, tmp_path):
    add_waivers(workspace, WAIVER.format(expires="2025-06-30"))
    assessment = run(workspace, registry)
    written = render(assessment, tmp_path / "out", ["json", "md", "html"])
    text = {p.suffix: p.read_text() for p in written}
    justification = "Class 0 is oversampled on purpose until the vendor delivers more data"
    data = json.loads(text[".json"])
    assert next(r for r in data["results"] if r["status"] == "waived")["waiver"]["justification"] == justification
    assert justification in text[".md"] and "waived until 2025-06-30" in text[".md"]
    assert justification in text[".html"]


CHILD = """\
apiVersion: riskframe/v1
kind: Policy
metadata: {{name: child}}
extends: [policy.yaml]
{extra}requirements:
  - id: R1
    severity: low
"""


def test_an_inherited_requirement_runs_with_the_childs_overrides_and_points_at_both_files(workspace, registry):
    child = workspace.root / "child.yaml"
    child.write_text(CHILD.format(extra=""))
    assessment = run(workspace, registry, policies=[child])
    result = next(r for r in assessment.results if r.stage == "prepare")
    assert (result.status, result.severity, result.risk.level) == ("fail", "low", "low")
    assert assessment.gate.decision == "pass"
    where = [(loc.what, loc.path, loc.line) for loc in result.locations if loc.what in ("requirement", "override")]
    assert where == [("requirement", _shown(workspace.policy), 12), ("override", _shown(child), 6)]
    [info] = assessment.policies
    assert (info.name, info.path, info.extends) == ("child", str(child), [_shown(workspace.policy)])
    assert [i.path for i in assessment.inputs if i.role == "policy"] == [_shown(workspace.policy), _shown(child)]


def test_the_policys_risk_section_drives_the_scores(workspace, registry):
    child = workspace.root / "child.yaml"
    child.write_text(CHILD.format(extra="risk: {propagation: 0}\n"))
    assessment = run(workspace, registry, policies=[child])
    assert {s.name: s.inherited for s in assessment.stages} == {"ingest": 0, "prepare": 0, "train": 0, "deploy": 0}
    assert assessment.risk_model["propagation"] == 0
    default = run(workspace, registry)
    assert default.risk_model["propagation"] == 0.5
    assert next(s for s in default.stages if s.name == "train").inherited_from == "prepare"


def test_two_policies_with_different_risk_sections_are_refused(workspace, registry):
    first, second = workspace.root / "a.yaml", workspace.root / "b.yaml"
    first.write_text(CHILD.format(extra="risk: {propagation: 0.2}\n").replace("name: child", "name: a"))
    second.write_text(CHILD.format(extra="risk:\n  propagation: 0.3\n").replace("name: child", "name: b"))
    with pytest.raises(DocumentError) as info:
        run(workspace, registry, policies=[first, second])
    assert str(info.value) == (
        f"{second}:5:1: risk: differs from the risk section of policy 'a' ({_shown(first)}:5) in propagation "
        "(0.3 here, 0.2 there). An assessment uses one risk model: make the risk sections agree, or set it once in "
        "a policy both extend")


def _shown(path):
    from riskframe.spec.inherit import display_path

    return display_path(path)
