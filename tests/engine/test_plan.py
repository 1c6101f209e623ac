"""Planning: the training data a model was fitted on (its ``of:``) is bound as a second ``dataset``
for detectors that ask for it, once, and never twice."""

from __future__ import annotations

import textwrap
from typing import ClassVar

import pytest

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.registry import Registry
from riskframe.engine.inputs import load_inputs
from riskframe.engine.plan import plan_runs
from riskframe.results import DetectorResult

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


@pytest.fixture
def plan(tmp_path):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    (tmp_path / "policy.yaml").write_text(POLICY)
    controls = tmp_path / "controls"
    controls.mkdir()
    registry = Registry()
    for detector in (WithTrainingData, HeldOutOnly):
        registry.register(detector)
        (controls / f"{detector.name}.yaml").write_text(textwrap.dedent(CONTROL.format(detector=detector.name)))
    inputs = load_inputs(tmp_path / "pipeline.yaml", [tmp_path / "policy.yaml"], controls_dirs=[controls],
                         registry=registry)
    return plan_runs(inputs.pipeline, inputs.graph, inputs.policies, inputs.controls, inputs.catalog,
                     inputs.registry)


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
