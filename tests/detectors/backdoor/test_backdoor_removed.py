"""``backdoor-removed`` on the backdoored-digits example: retraining through the model's training
entry point on the training set without its poisoned images removes the backdoor and passes;
retraining on the poisoned set fails. A scikit-learn entry point works too. The example's
workspace is built once per session; the deployed model's trigger search is shared with the
trigger-reverse-engineering tests (same files, same settings)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.errors import DetectorError
from riskframe.io.files import write_npz
from riskframe.spec.pipeline import Artifact, Stage

pytest.importorskip("torch")
from riskframe.detectors.backdoor.backdoor_removed import BackdoorRemoved

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "backdoored-digits" / "make_example.py"
CNN = "riskframe.detectors.backdoor.cnn:train_cnn"


def example_workspace(factory: pytest.TempPathFactory, clean: bool) -> Path:
    """``make_example.py --out DIR`` run once per session into a shared folder. A fresh process
    (seeded, single-threaded, fixed hash seed) gives every test module that asks the same bytes, so
    trigger searches on the same model and data are computed once per session."""
    folder = factory.getbasetemp() / ("backdoored-digits-clean" if clean else "backdoored-digits")
    if not (folder / "pipeline.yaml").exists():
        command = [sys.executable, str(EXAMPLE), "--out", str(folder), *(["--clean"] if clean else [])]
        subprocess.run(command, check=True, capture_output=True, timeout=300)
    return folder


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """The example plus ``data/train_filtered.npz``: the training set without its poisoned images,
    with the record ``riskframe remediate`` writes."""
    folder = example_workspace(tmp_path_factory, clean=False)
    filtered = folder / "data" / "train_filtered.npz"
    if not filtered.exists():
        poisoned = np.array(json.loads((folder / "data" / "ground_truth.json").read_text())["poisoned"]["train"])
        with np.load(folder / "data" / "train.npz", allow_pickle=False) as data:
            x, y = data["X"], data["y"]
        keep = np.setdiff1d(np.arange(len(y)), poisoned)
        write_npz(filtered, {"X": x[keep], "y": y[keep], "kept_indices": keep, "removed_indices": poisoned,
                             "source_rows": np.array(len(y))})
    return folder


def context(folder: Path, *, train: str | None = "data/train_filtered.npz", entry: str | None = CNN) -> RunContext:
    """Bound as the engine binds it: held-out ``test`` first, then the model's ``of:`` training data."""
    test = Artifact(name="test", type="dataset", path="data/test.npz", format="npz")
    model = Artifact(name="model", type="model", path="models/model.pt", format="torchscript",
                     of="train" if train else None, train=entry)
    datasets = (test,) if train is None else (test, Artifact(name="train", type="dataset", path=train))
    stage = Stage(name="evaluate", kind="model-evaluation", artifacts=[test])
    return RunContext(stage=stage, bindings={"dataset": datasets, "model": (model,)}, store=ArtifactStore(folder))


def run(ctx: RunContext, **params):
    return BackdoorRemoved().run(ctx, BackdoorRemoved.Params(**params))


@pytest.fixture(scope="module")
def after_filtering(workspace):
    return run(context(workspace))


def test_retraining_without_the_poisoned_images_removes_the_backdoor(after_filtering):
    result = after_filtering
    assert result.status == "pass" and result.score < 0.5
    assert re.fullmatch(r"Retrained on train \(72 of 1438 samples removed\): attack success \d+% -> [0-4]%, clean "
                        r"accuracy \d+\.\d% -> \d+\.\d%: the backdoor into class 0 is gone\.", result.summary), \
        result.summary
    table = {row["measure"]: row for row in result.evidence["before_after"]}
    assert list(table) == ["clean accuracy", "attack success, reversed trigger of class 0",
                           "attack success, true trigger of class 0"]
    assert all(row["verdict"] == "ok" for row in table.values())
    assert table["attack success, true trigger of class 0"]["before"] > 0.9
    assert table["attack success, true trigger of class 0"]["after"] < 0.05
    metrics = result.metrics
    assert metrics["attack_success_before"] > 0.9 and metrics["attack_success_after"] < 0.05
    assert metrics["accuracy_drop"] <= 0.01 and metrics["samples_removed"] == 72
    assert result.evidence["training_entry_point"] == CNN
    assert result.evidence["backdoor_before"].startswith("class 0 (index ")


def test_retraining_on_the_poisoned_set_keeps_the_backdoor_and_fails(workspace, after_filtering):
    result = run(context(workspace, train="data/train.npz"))
    assert result.status == "fail" and result.score >= 0.5
    assert result.summary.endswith(": not met: attack success, reversed trigger of class 0; attack success, true "
                                   "trigger of class 0.")
    assert result.metrics["attack_success_after"] > 0.9 and result.metrics["true_attack_success_after"] > 0.9
    assert "samples_removed" not in result.metrics
    # The deployed model was examined once: the same search served both runs.
    assert result.metrics["attack_success_before"] == after_filtering.metrics["attack_success_before"]


def test_a_scikit_learn_training_entry_point_is_used_as_it_is(workspace, tmp_path, monkeypatch):
    (tmp_path / "sk_entry.py").write_text(textwrap.dedent("""
        from sklearn.linear_model import RidgeClassifier

        def train(images, labels, n_classes, seed):
            return RidgeClassifier().fit(images.reshape(len(images), -1), labels)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    result = run(context(workspace, entry="sk_entry:train"), max_accuracy_drop=0.1)
    assert result.evidence["training_entry_point"] == "sk_entry:train"
    # A linear model on the pixels learns no 2x2-patch backdoor from clean data either.
    assert result.metrics["attack_success_after"] < 0.05 and result.metrics["clean_accuracy_after"] > 0.8


def test_the_retrained_model_can_be_searched_for_a_backdoor_again(workspace):
    result = run(context(workspace), recheck=True, steps=40, samples=60)
    rows = {row["measure"]: row for row in result.evidence["before_after"]}
    assert rows["backdoor target (Neural Cleanse)"]["limit"] == "none"
    assert rows["backdoor target (Neural Cleanse)"]["after"].startswith(("none", "class "))
    assert result.evidence["backdoor_after"].startswith(("none (highest index ", "class "))


def test_without_a_training_entry_point_the_check_does_not_apply(workspace):
    result = run(context(workspace, entry=None))
    assert result.status == "not_applicable"
    assert result.summary == ("Not applicable: model 'model' declares no train:; the check retrains it with the "
                              "entry point `train:` names on the dataset `of:` names.")
    assert run(context(workspace, train=None)).evidence["missing"] == ["of:"]


def test_an_entry_point_that_does_not_import_is_an_error(workspace):
    with pytest.raises(DetectorError, match=r"cannot import the training entry point 'no_such_module:train' named "
                                            r"by model 'model'"):
        run(context(workspace, entry="no_such_module:train"))
    with pytest.raises(DetectorError, match=r"module 'riskframe.detectors.backdoor.cnn' has no 'nothing'"):
        run(context(workspace, entry="riskframe.detectors.backdoor.cnn:nothing"))


def test_an_entry_point_that_raises_is_an_error(workspace, tmp_path, monkeypatch):
    (tmp_path / "broken_entry.py").write_text("def train(images, labels, n_classes, seed):\n"
                                              "    raise RuntimeError('out of GPUs')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DetectorError, match=r"the training entry point 'broken_entry:train' raised RuntimeError: "
                                            r"out of GPUs"):
        run(context(workspace, entry="broken_entry:train"))
