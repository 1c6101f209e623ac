"""End-to-end through the engine with small real detectors: plan, run, score, compose, gate."""

from __future__ import annotations

import json

import pytest

from riskframe.engine.assess import assess
from riskframe.errors import DocumentError
from riskframe.spec.resolved import load_inputs


def run(workspace, registry, **kwargs):
    return assess(workspace.pipeline, [workspace.policy], controls_dirs=[workspace.controls],
                  registry=registry, **kwargs)


def test_balance_passes_upstream_and_fails_on_skewed_training_data(workspace, registry):
    assessment = run(workspace, registry)
    by_stage = {r.stage: r for r in assessment.results}
    assert set(by_stage) == {"ingest", "prepare"}  # train and deploy have no dataset
    assert by_stage["ingest"].status == "pass"
    assert by_stage["prepare"].status == "fail"
    assert by_stage["prepare"].id == "R1/prepare/balance/train"
    assert by_stage["prepare"].metrics == {"ratio": 0.125}
    assert assessment.gate.decision == "fail"
    assert assessment.gate.reasons == [
        "R1 at stage prepare: balance on train failed with high residual risk (0.73), at or above fail_on: high"]


def test_one_policy_may_be_given_without_a_list(workspace, registry):
    """A path string is one policy, not a sequence of one-letter policy names."""
    one = assess(str(workspace.pipeline), str(workspace.policy), controls_dirs=[workspace.controls],
                 registry=registry)
    assert [r.id for r in one.results] == [r.id for r in run(workspace, registry).results]


def test_failure_upstream_raises_risk_downstream(workspace, registry):
    assessment = run(workspace, registry)
    stages = {s.name: s for s in assessment.stages}
    assert stages["prepare"].likelihood > stages["ingest"].likelihood
    assert stages["train"].inherited == pytest.approx(0.5 * stages["prepare"].likelihood, abs=1e-6)
    assert stages["train"].exposed and stages["deploy"].exposed  # the untrusted ingest is upstream


def test_crashing_detector_becomes_an_error_and_the_rest_completes(workspace, registry):
    workspace.write_policy(("R1", "balance", "low"), ("R2", "crash", "low"))
    assessment = run(workspace, registry)
    errors = [r for r in assessment.results if r.status == "error"]
    assert len(errors) == 2 and all(r.requirement == "R2" for r in errors)
    assert errors[0].summary == "Detector 'crashes' raised RuntimeError: boom. Counted as a failure (fail closed)."
    assert errors[0].evidence["error"] == "RuntimeError: boom"
    assert {r.status for r in assessment.results if r.requirement == "R1"} == {"pass", "fail"}
    assert assessment.gate.decision == "fail"
    assert any("ended in error; the gate fails closed" in reason for reason in assessment.gate.reasons)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_detector_calling_sys_exit_is_an_error_not_the_end_of_riskframe(workspace, registry, jobs):
    workspace.write_policy(("R1", "exit", "low"))
    assessment = run(workspace, registry, jobs=jobs)
    assert {r.status for r in assessment.results} == {"error"}
    assert assessment.results[0].summary == "Detector 'exits' raised SystemExit: 0. Counted as a failure (fail closed)."
    assert assessment.gate.decision == "fail"


def test_a_run_past_its_timeout_is_abandoned_as_an_error(workspace, registry):
    release = registry["hangs"].release
    release.clear()
    workspace.write_policy(("R1", "hang", "low"))
    try:
        assessment = run(workspace, registry, jobs=2)
    finally:
        release.set()
    assert {r.status for r in assessment.results} == {"error"}
    assert assessment.results[0].summary.startswith("Detector 'hangs' did not finish within the control's timeout of 0.5 s")


def test_error_never_lowers_risk_compared_with_a_pass(workspace, registry):
    workspace.write_policy(("R1", "crash", "high"))
    crashed = run(workspace, registry)
    workspace.write_policy(("R1", "balance", "high"))
    measured = run(workspace, registry)
    ingest_error = next(r for r in crashed.results if r.stage == "ingest")
    ingest_pass = next(r for r in measured.results if r.stage == "ingest")
    assert ingest_error.risk.residual > ingest_pass.risk.residual
    assert ingest_error.risk.residual == ingest_error.risk.inherent


def test_same_inputs_same_json_apart_from_timestamps(workspace, registry):
    def stable(assessment):
        data = assessment.model_dump(mode="json")
        data.pop("created_at")
        for result in data["results"]:
            result.pop("duration_s")
        return json.dumps(data, sort_keys=True)

    assert stable(run(workspace, registry)) == stable(run(workspace, registry, jobs=2))


def test_inputs_are_recorded_with_digests(workspace, registry):
    assessment = run(workspace, registry)
    roles = {i.role for i in assessment.inputs}
    assert roles == {"pipeline", "policy", "control", "artifact"}
    artifact = next(i for i in assessment.inputs if i.path.endswith("raw.npz"))
    assert len(artifact.sha256) == 64 and artifact.size > 0


def test_nist_and_atlas_views(workspace, registry):
    assessment = run(workspace, registry)
    measure = next(n for n in assessment.nist if n.id == "MEASURE 2.7")
    assert measure.status == "not-satisfied" and len(measure.results) == 2
    assert sum(n.status == "not-assessed" for n in assessment.nist) == 71
    technique = next(t for t in assessment.atlas if t.id == "AML.T0020")
    assert technique.covered and technique.status == "fail"
    assert technique.max_residual == max(r.risk.residual for r in assessment.results)


def test_requirements_that_apply_nowhere_are_reported(workspace, registry):
    text = workspace.pipeline.read_text().replace("kind: data-understanding", "kind: monitoring").replace(
        "kind: data-preparation", "kind: monitoring")  # model-engineering 'train' is left, without data
    workspace.pipeline.write_text(text)
    assessment = run(workspace, registry)
    assert assessment.results == []
    assert [n.model_dump() for n in assessment.not_assessed] == [{
        "policy": "test-policy", "requirement": "R1", "control": "balance",
        "reason": "no dataset artifact at the eligible stages (train)"}]


def test_bad_override_is_located_in_the_policy(workspace, registry):
    text = workspace.policy.read_text().replace("- control: balance", "- control: balance\n        with: {min_ratio: 2}")
    workspace.policy.write_text(text)
    with pytest.raises(DocumentError) as info:
        load_inputs(workspace.pipeline, [workspace.policy], controls_dirs=[workspace.controls], registry=registry)
    assert str(info.value) == (f"{workspace.policy}:13:16: requirements[0].controls[0].with.min_ratio: "
                               "must be a number in [0, 1]. Got 2 instead.")


def test_unknown_control_suggests_the_nearest(workspace, registry):
    workspace.write_policy(("R1", "balanse", "high"))
    with pytest.raises(DocumentError) as info:
        load_inputs(workspace.pipeline, [workspace.policy], controls_dirs=[workspace.controls], registry=registry)
    assert str(info.value).endswith("requirements[0].controls[0].control: unknown control 'balanse' "
                                    "(did you mean 'balance'?)")


def test_missing_artifact_file_is_located_before_anything_runs(workspace, registry):
    (workspace.root / "train.npz").unlink()
    with pytest.raises(DocumentError) as info:
        run(workspace, registry)
    assert str(info.value) == (f"{workspace.pipeline}:14:38: stages[1].artifacts[0].path: "
                               f"file not found: {workspace.root / 'train.npz'}")


def test_results_point_at_their_requirement_stage_and_artifact(workspace, registry):
    assessment = run(workspace, registry)
    result = next(r for r in assessment.results if r.stage == "prepare")
    shown = {loc.what: (loc.path.rsplit("/", 1)[-1], loc.line, loc.column) for loc in result.locations}
    assert shown == {"requirement": ("policy.yaml", 12, 9), "stage": ("pipeline.yaml", 10, 5),
                     "artifact": ("pipeline.yaml", 14, 9)}
