"""Run keys: equal for one computation, different whenever a detector could see a difference."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np

from riskframe.data.roots import DataRoots
from riskframe.detectors.context import ArtifactStore
from riskframe.engine.plan import plan_runs
from riskframe.engine.sharing import run_key
from riskframe.spec.resolved import load_inputs


def keyed(workspace, registry, pipeline=None):
    inputs = load_inputs(pipeline or workspace.pipeline, [workspace.policy], controls_dirs=[workspace.controls],
                         registry=registry)
    runs = plan_runs(inputs.pipeline, inputs.graph, inputs.policies, inputs.controls, inputs.catalog,
                     inputs.registry).runs
    store = ArtifactStore(DataRoots.of(inputs.pipeline))
    return runs, store, [run_key(run, store) for run in runs]


def test_a_run_is_one_computation_with_itself_and_differs_from_every_other(workspace, registry):
    runs, store, keys = keyed(workspace, registry)
    assert keys == keyed(workspace, registry)[2]  # the same inputs planned again
    assert len(set(keys)) == len(keys) == 2  # raw and train: two artifacts, two computations
    looser = dataclasses.replace(runs[0], params=runs[0].params.model_copy(update={"min_ratio": 0.1}))
    assert run_key(looser, store) != keys[0]


def test_changed_content_or_another_folder_is_another_computation(workspace, registry, tmp_path):
    keys = keyed(workspace, registry)[2]
    copy = tmp_path / "copy"
    shutil.copytree(workspace.root, copy)
    assert keyed(workspace, registry, copy / "pipeline.yaml")[2] != keys  # equal files, another folder

    np.savez(workspace.root / "raw.npz", X=np.zeros((60, 4)), y=np.repeat(np.arange(3), 20))
    changed = keyed(workspace, registry)[2]
    assert changed[0] != keys[0] and changed[1] == keys[1]
