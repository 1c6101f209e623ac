"""Planning: the training data a model was fitted on (its ``of:``) is bound as a second ``dataset``
for detectors that ask for it, once, and never twice; every model of the nearest stage that has
models (walking upstream) gets its own run."""

from __future__ import annotations

import textwrap
from typing import ClassVar

import numpy as np
import pytest

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.registry import Registry
from riskframe.engine.assess import assess
from riskframe.engine.plan import plan_runs
from riskframe.errors import NotApplicableError
from riskframe.results import DetectorResult
from riskframe.spec.resolved import load_inputs

PIPELINE = """\
apiVersion: riskframe/v1
kind: Pipeline
metadata: {name: held-out, criticality: high}
stages:
  - name: train
    kind: model-engineering
    artifacts:
      - {name: train, type: dataset, path: train.npz}
      - {name: model, type: model, path: model.pt, format: torchscript, of: train}
  - name: evaluate
    kind: model-engineering
    needs: [train]
    artifacts:
      - {name: test, type: dataset, path: test.npz}
"""

CONTROL = """\
apiVersion: riskframe/v1
kind: Control
id: {detector}-screen
title: Ensure the model holds up on held-out data
detector: {detector}
atlas: {{detects: [AML.T0020], mitigates: [AML.M0007]}}
stage_kinds: [model-engineering]
"""

POLICY = """\
apiVersion: riskframe/v1
kind: Policy
metadata: {name: held-out}
requirements:
  - id: R1
    title: The model holds up on held-out data
    severity: high
    threats: [AML.T0020]
    controls:
      - control: with-training-data-screen
      - control: held-out-only-screen
"""


class WithTrainingData(Detector):
    name = "with-training-data"
    title = "Measures a model on held-out data, and on what it was trained on"
    requires = ("dataset", "model")
    techniques = ("AML.T0020",)
    binds_training_data: ClassVar[bool] = True

    class Params(DetectorParams):
        pass

    def run(self, ctx, params):
        return DetectorResult(status="pass", score=0.0, summary="planned only")


class HeldOutOnly(WithTrainingData):
    name = "held-out-only"
    title = "Measures a model on held-out data"
    binds_training_data: ClassVar[bool] = False


def _workspace(folder, pipeline: str, policy: str, detectors) -> tuple:
    """``pipeline.yaml``, ``policy.yaml`` and a control per detector in ``folder``; with their registry."""
    (folder / "pipeline.yaml").write_text(pipeline)
    (folder / "policy.yaml").write_text(policy)
    controls = folder / "controls"
    controls.mkdir()
    registry = Registry()
    for detector in detectors:
        registry.register(detector)
        (controls / f"{detector.name}.yaml").write_text(textwrap.dedent(CONTROL.format(detector=detector.name)))
    return folder, controls, registry


def _inputs(folder, controls, registry):
    return load_inputs(folder / "pipeline.yaml", [folder / "policy.yaml"], controls_dirs=[controls],
                       registry=registry)


def _plan(folder, controls, registry):
    inputs = _inputs(folder, controls, registry)
    return plan_runs(inputs.pipeline, inputs.graph, inputs.policies, inputs.controls, inputs.catalog,
                     inputs.registry, inputs.params)


@pytest.fixture
def plan(tmp_path):
    return _plan(*_workspace(tmp_path, PIPELINE, POLICY, (WithTrainingData, HeldOutOnly)))


def _bound(plan, detector: str) -> dict[str, dict[str, list[str]]]:
    return {run.stage.name: {role: [a.name for a in found] for role, found in run.bindings.items()}
            for run in plan.runs if run.detector.name == detector}


def test_held_out_data_gets_the_models_training_data_after_it(plan):
    assert _bound(plan, "with-training-data") == {
        "train": {"dataset": ["train"], "model": ["model"]},  # the primary is the training data: not twice
        "evaluate": {"dataset": ["test", "train"], "model": ["model"]},
    }


def test_a_detector_that_does_not_ask_gets_only_the_primary_dataset(plan):
    assert _bound(plan, "held-out-only") == {
        "train": {"dataset": ["train"], "model": ["model"]},
        "evaluate": {"dataset": ["test"], "model": ["model"]},
    }


def test_runs_that_would_share_an_id_are_never_planned(tmp_path):
    """load_inputs refuses the policies that cause it; a caller that skips it gets an error, not
    results merged under one id."""
    inputs = _inputs(*_workspace(tmp_path, PIPELINE, POLICY, (WithTrainingData, HeldOutOnly)))
    twice = [inputs.policies[0], inputs.policies[0]]
    with pytest.raises(ValueError, match=r"^4 run id\(s\) shared by several runs, e\.g\. 'R1/train/"):
        plan_runs(inputs.pipeline, inputs.graph, twice, inputs.controls, inputs.catalog, inputs.registry,
                  inputs.params)


# -- every model is bound: one run per model of the nearest stage that has models ---------------

TWO_MODELS = """\
apiVersion: riskframe/v1
kind: Pipeline
metadata: {name: two-models, criticality: high}
stages:
  - name: train
    kind: model-engineering
    artifacts:
      - {name: train, type: dataset, path: train.npz}
      - {name: model-onnx, type: model, path: model.onnx, of: train}
      - {name: model, type: model, path: model.pt, format: torchscript, of: train}
  - name: evaluate
    kind: model-engineering
    needs: [train]
    artifacts:
      - {name: test, type: dataset, path: test.npz}
  - name: audit
    kind: model-engineering
    needs: [evaluate]
    artifacts:
      - {name: audit-set, type: dataset, path: audit.npz}
  - name: retrain
    kind: model-engineering
    needs: [audit]
    artifacts:
      - {name: fresh, type: dataset, path: fresh.npz}
      - {name: model-v2, type: model, path: model_v2.pt, format: torchscript, of: fresh}
"""


class ReadsTorchScript(WithTrainingData):
    """What a TorchScript-only model detector does with another format: not applicable, visibly."""

    name = "reads-torchscript"
    title = "Examines a TorchScript model on held-out data"

    def run(self, ctx, params):
        model = ctx.artifact("model")
        if model.resolved_format != "torchscript":
            raise NotApplicableError(f"model {model.name!r} is {model.resolved_format}, not torchscript")
        return DetectorResult(status="pass", score=0.0, summary=f"examined model {model.name!r}")


class MaybeModel(ReadsTorchScript):
    name = "maybe-model"
    title = "Examines a dataset, and a model when there is one"
    requires = ("dataset",)
    optional = ("model",)
    binds_training_data: ClassVar[bool] = False

    def run(self, ctx, params):
        found = ctx.artifact("model").name if ctx.has("model") else "no model"
        return DetectorResult(status="pass", score=0.0, summary=found)


TWO_MODELS_POLICY = POLICY.replace("with-training-data-screen", "reads-torchscript-screen").replace(
    "held-out-only-screen", "maybe-model-screen")


@pytest.fixture
def two_models(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("train", "test", "audit", "fresh"):
        np.savez(tmp_path / f"{name}.npz", X=rng.normal(size=(12, 3)), y=np.arange(12) % 2)
    for name in ("model.onnx", "model.pt", "model_v2.pt"):
        (tmp_path / name).write_bytes(b"never loaded by these detectors")
    return _workspace(tmp_path, TWO_MODELS, TWO_MODELS_POLICY, (ReadsTorchScript, MaybeModel))


def test_every_model_of_the_nearest_stage_gets_its_own_run_named_after_it(two_models):
    plan = _plan(*two_models)

    runs = {r.id: {role: [a.name for a in found] for role, found in r.bindings.items()}
            for r in plan.runs if r.detector.name == "reads-torchscript"}
    assert runs == {
        "R1/train/reads-torchscript-screen/train+model-onnx": {"dataset": ["train"], "model": ["model-onnx"]},
        "R1/train/reads-torchscript-screen/train+model": {"dataset": ["train"], "model": ["model"]},
        "R1/evaluate/reads-torchscript-screen/test+model-onnx": {"dataset": ["test", "train"],
                                                                 "model": ["model-onnx"]},
        "R1/evaluate/reads-torchscript-screen/test+model": {"dataset": ["test", "train"], "model": ["model"]},
        # two stages downstream of the models: the walk goes past the direct predecessor
        "R1/audit/reads-torchscript-screen/audit-set+model-onnx": {"dataset": ["audit-set", "train"],
                                                                   "model": ["model-onnx"]},
        "R1/audit/reads-torchscript-screen/audit-set+model": {"dataset": ["audit-set", "train"],
                                                              "model": ["model"]},
        # a stage with its own model: the nearest models are its own, not the ones upstream
        "R1/retrain/reads-torchscript-screen/fresh+model-v2": {"dataset": ["fresh"], "model": ["model-v2"]},
    }


def test_an_optional_model_is_bound_per_model_and_left_out_where_there_is_none(two_models):
    folder, controls, registry = two_models
    with_models = [r.id for r in _plan(folder, controls, registry).runs
                   if r.detector.name == "maybe-model" and r.stage.name == "evaluate"]
    no_models = "\n".join(line for line in TWO_MODELS.splitlines() if "type: model" not in line)
    (folder / "pipeline.yaml").write_text(no_models)

    without = [r.id for r in _plan(folder, controls, registry).runs if r.detector.name == "maybe-model"]

    assert with_models == ["R1/evaluate/maybe-model-screen/test+model-onnx", "R1/evaluate/maybe-model-screen/test+model"]
    assert without == ["R1/train/maybe-model-screen/train", "R1/evaluate/maybe-model-screen/test",
                       "R1/audit/maybe-model-screen/audit-set", "R1/retrain/maybe-model-screen/fresh"]


def test_a_model_the_detector_cannot_read_is_its_own_not_applicable_result(two_models):
    folder, controls, registry = two_models

    assessment = assess(folder / "pipeline.yaml", [folder / "policy.yaml"], controls_dirs=[controls],
                        registry=registry)

    evaluate = {r.id: (r.status, r.summary) for r in assessment.results
                if r.stage == "evaluate" and r.control == "reads-torchscript-screen"}
    assert evaluate == {
        "R1/evaluate/reads-torchscript-screen/test+model-onnx": (
            "not_applicable", "model 'model-onnx' is onnx, not torchscript"),
        "R1/evaluate/reads-torchscript-screen/test+model": ("pass", "examined model 'model'"),
    }
    # what the id names, each result also records as data
    assert {r.id: (r.artifact, r.model) for r in assessment.results if r.stage == "evaluate"} == {
        "R1/evaluate/reads-torchscript-screen/test+model-onnx": ("test", "model-onnx"),
        "R1/evaluate/reads-torchscript-screen/test+model": ("test", "model"),
        "R1/evaluate/maybe-model-screen/test+model-onnx": ("test", "model-onnx"),
        "R1/evaluate/maybe-model-screen/test+model": ("test", "model"),
    }


MIXED = """\
apiVersion: riskframe/v1
kind: Pipeline
metadata: {name: mixed, criticality: high}
stages:
  - name: train
    kind: model-engineering
    artifacts:
      - {name: features, type: dataset, path: train.npz}
      - {name: reviews, type: dataset, path: reviews.jsonl, labels: label}
      - {name: table, type: dataset, path: table.parquet, labels: y}
      - {name: chat-logs, type: dataset, path: logs.parquet, text: message}
"""


class ReadsText(Detector):
    name = "reads-text"
    title = "Reads a corpus"
    requires = ("dataset",)
    dataset_kind = "text"
    Params = WithTrainingData.Params

    def run(self, ctx, params):
        return DetectorResult(status="pass", score=0.0, summary="planned only")


class ReadsArrays(ReadsText):
    name = "reads-arrays"
    title = "Reads arrays"
    dataset_kind = "arrays"


def test_each_detector_is_bound_only_the_datasets_of_its_kind(tmp_path):
    policy = POLICY.replace("with-training-data-screen", "reads-text-screen").replace("held-out-only-screen",
                                                                                          "reads-arrays-screen")
    plan = _plan(*_workspace(tmp_path, MIXED, policy, (ReadsText, ReadsArrays)))

    runs = {name: [r.id.rsplit("/", 1)[1] for r in plan.runs if r.detector.name == name]
            for name in ("reads-text", "reads-arrays")}
    # jsonl, and parquet with `text:`, are corpora; npz, and parquet without `text:`, are arrays
    assert runs == {"reads-text": ["reviews", "chat-logs"], "reads-arrays": ["features", "table"]}
