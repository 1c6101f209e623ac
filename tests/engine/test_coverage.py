"""What counts as assessed: every control a requirement names, at every stage its scope names.
On the bundled controls and the tiny two-stage pipeline of the report tests (real files)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from riskframe import assess
from riskframe.errors import DocumentError
from riskframe.io.digests import sha256_file

TINY = Path(__file__).resolve().parents[1] / "reports" / "fixtures" / "tiny-pipeline"


@pytest.fixture
def tiny(tmp_path) -> Path:
    """The tiny pipeline with both digests right: every artifact-integrity check passes."""
    root = tmp_path / "tiny"
    shutil.copytree(TINY, root)
    pipeline = root / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text().replace("0" * 64, sha256_file(root / "data" / "model.bin")))
    return root


def _policy(root: Path, requirement: str) -> Path:
    path = root / "policy.yaml"
    path.write_text("apiVersion: riskframe/v1\nkind: Policy\nmetadata: {name: multi}\nrequirements:\n"
                    "  - id: M-1\n    title: The data is as pinned and its labels are clean\n    severity: critical\n"
                    + requirement)
    return path


def test_a_requirement_is_met_only_by_every_control_it_names(tiny):
    """The label screen has no dataset to run on: the digest check passing alone must not pass M-1."""
    policy = _policy(tiny, "    controls:\n      - control: artifact-integrity\n      - control: label-flip-screen\n")
    assessment = assess(tiny / "pipeline.yaml", policy)
    assert [r.status for r in assessment.results] == ["pass", "pass"]
    assert assessment.gate.decision == "fail"
    assert assessment.gate.reasons == [
        "M-1 (multi): label-flip-screen produced no verdict (label-flip-screen: no dataset artifact at the eligible "
        "stages (ingest)); the gate fails closed (risk_appetite.unassessed: fail)"]
    relaxed = policy.read_text().replace("metadata: {name: multi}", "metadata: {name: multi}\n"
                                         "risk_appetite: {unassessed: allow}")
    policy.write_text(relaxed)
    assert assess(tiny / "pipeline.yaml", policy).gate.decision == "pass"


def test_a_scope_naming_a_stage_the_pipeline_lacks_is_a_located_error(tiny):
    policy = _policy(tiny, "    controls: [{control: artifact-integrity}]\n    scope: {stages: [ingest, depoly]}\n")
    with pytest.raises(DocumentError) as info:
        assess(tiny / "pipeline.yaml", policy)
    assert str(info.value) == (f"{policy}:9:30: requirements[0].scope.stages[1]: no stage 'depoly' in pipeline "
                               "'tiny-digests' (did you mean 'deploy'?)")
