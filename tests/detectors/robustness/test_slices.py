"""``slice-forensics`` on a real scikit-learn MLP: the slice where it fails is found, compared and traced."""

from __future__ import annotations

import numpy as np
import pytest

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.robustness.slices import SliceForensics
from riskframe.io.files import write_npz
from riskframe.spec.pipeline import Artifact, Stage

pytestmark = pytest.mark.slow  # trains an MLP on the digits (several seconds on two busy cores)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    import skops.io as sio
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    digits = load_digits()
    images, labels = digits.images, digits.target
    folder = tmp_path_factory.mktemp("slices")
    model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0)
    sio.dump(model.fit(images[:1200].reshape(1200, -1), labels[:1200]), folder / "mlp.skops")
    damaged = images[1200:].copy()
    threes = labels[1200:] == 3  # the 3s of the evaluation set arrive with heavy noise
    damaged[threes] = np.clip(damaged[threes] + np.random.default_rng(0).normal(0, 6, damaged[threes].shape), 0, 16)
    write_npz(folder / "test.npz", {"X": damaged, "y": labels[1200:]})
    return folder


def _run(folder, **params):
    test = Artifact(name="test", type="dataset", path="test.npz")
    model = Artifact(name="mlp", type="model", path="mlp.skops", format="skops")
    stage = Stage(name="evaluate", kind="model-evaluation", trust="untrusted", artifacts=[test, model])
    return SliceForensics().run(RunContext(stage, {"dataset": (test,), "model": (model,)}, ArtifactStore(folder)),
                                SliceForensics.Params(**params))


def test_the_damaged_class_is_the_worst_slice_with_its_lineage(folder):
    result = _run(folder)

    worst = result.evidence["failing_slices"][0]
    assert result.status == "fail" and worst["slice"] == "class 3" and worst["labels"] == {"3": 62}
    assert worst["error_rate"] > 0.3 > 0.1 > worst["rest_error_rate"]
    assert result.summary.startswith("The model fails on ") and result.summary.endswith(
        "they came through stage 'evaluate' (untrusted) in artifact 'test'")
    lineage = result.evidence["lineage"]
    assert (lineage["artifact"], lineage["stage"], lineage["trust"], len(lineage["sha256"])) == (
        "test", "evaluate", "untrusted", 64)
    flagged = result.evidence["flagged_indices"]
    assert len(flagged) == result.metrics["rows_in_failing_slices"] and set(flagged) >= set(
        np.flatnonzero(np.load(folder / "test.npz")["y"] == 3).tolist())


def test_a_margin_no_slice_reaches_passes(folder):
    result = _run(folder, min_error_gap=0.9)

    assert result.status == "pass" and result.evidence["flagged_indices"] == []
    assert result.summary.startswith("No slice of 'test' fails beyond the margin (")
