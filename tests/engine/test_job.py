"""A job: runs its detector wherever it is called and answers with JSON only, every failure an
``error`` reply; what the parent reads back is validated data, never objects."""

from __future__ import annotations

import json

import numpy as np
import pytest

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import ArtifactStore
from riskframe.engine.job import Job, Reply
from riskframe.errors import NotApplicableError
from riskframe.results import DetectorResult
from riskframe.spec.pipeline import Artifact, Stage


class Counts(Detector):
    name = "counts"
    title = "Counts the samples"
    requires = ("dataset",)
    Params = DetectorParams

    def run(self, ctx, params):
        n = ctx.dataset().n_samples
        return DetectorResult(status="warn", score=0.25, summary=f"{n} samples.", metrics={"n": float(n)},
                              evidence={"flagged_indices": [3, 1], "note": ("a", "tuple")})


class ClaimsAWaiver(Detector):
    """A status only the engine may set, slipped past validation with model_construct()."""

    name = "claims-a-waiver"
    title = "Claims to be waived"
    requires = ("dataset",)
    Params = DetectorParams

    def run(self, ctx, params):
        return DetectorResult.model_construct(status="waived", score=0.0, summary="Waived, honest.", metrics={},
                                              evidence={}, attachments=[])


class NumpyEvidence(Detector):
    name = "numpy-evidence"
    title = "Puts a numpy integer in its evidence"
    requires = ("dataset",)
    Params = DetectorParams

    def run(self, ctx, params):
        return DetectorResult(status="pass", score=0.0, summary="Fine.", evidence={"count": np.int64(3)})


class DoesNotApply(Detector):
    name = "does-not-apply"
    title = "Never applies"
    requires = ("dataset",)
    Params = DetectorParams

    def run(self, ctx, params):
        raise NotApplicableError("Nothing to check here.")


@pytest.fixture
def job_for(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((6, 2)), y=np.array([0, 1] * 3))
    artifact = Artifact(name="d", type="dataset", path="d.npz")
    stage = Stage(name="s", kind="data-preparation", artifacts=[artifact])

    def make(detector: type[Detector]) -> Job:
        return Job(detector, detector.Params(), stage, {"dataset": (artifact,)}, ArtifactStore(tmp_path))

    return make


def test_a_result_comes_back_as_json_that_the_reply_model_validates(job_for):
    text = job_for(Counts)()
    reply = Reply.model_validate_json(text)
    assert (reply.status, reply.score, reply.summary, reply.metrics) == ("warn", 0.25, "6 samples.", {"n": 6.0})
    assert reply.evidence == {"flagged_indices": [3, 1], "note": ["a", "tuple"]}  # what the assessment JSON holds
    assert json.loads(text)["duration_s"] >= 0


def test_a_status_only_the_engine_may_set_is_an_error(job_for):
    reply = Reply.model_validate_json(job_for(ClaimsAWaiver)())
    assert reply.status == "error"
    assert reply.summary.startswith("Detector 'claims-a-waiver' raised ValidationError: 1 validation error for "
                                    "DetectorResult")


def test_evidence_json_cannot_carry_is_an_error_naming_it(job_for):
    reply = Reply.model_validate_json(job_for(NumpyEvidence)())
    assert reply.status == "error"
    assert reply.summary.startswith("Detector 'numpy-evidence' returned evidence that is not JSON (")
    assert "numpy.int64" in reply.summary


def test_not_applicable_is_its_own_status(job_for):
    reply = Reply.model_validate_json(job_for(DoesNotApply)())
    assert (reply.status, reply.summary) == ("not_applicable", "Nothing to check here.")
