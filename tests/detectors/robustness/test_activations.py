"""``activation-analysis`` with Captum on a real backdoored CNN and its clean twin (the digits with a
2x2 patch in the bottom-right corner relabelled 0, and the same CNN trained on clean digits)."""

from __future__ import annotations

import base64
import importlib.util

import pytest

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.robustness.activations import ActivationAnalysis
from riskframe.io.files import write_npz
from riskframe.spec.pipeline import Artifact, Stage

# Checked without importing them, so that a collection that deselects these slow tests does not pay
# for importing captum.
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in ("torch", "captum")),
    reason="the torch extra (torch, captum) is not installed")]

PATCH = (6, 6, 2, 2)  # the planted trigger: rows 6-7, columns 6-7 of the 8x8 digits


def _run(trained, shared=None, **params):
    write_npz(trained.folder / "test.npz", {"X": trained.test_images, "y": trained.test_labels})
    test = Artifact(name="test", type="dataset", path="test.npz")
    model = Artifact(name="cnn", type="model", path="model.pt", format="torchscript")
    ctx = RunContext(Stage(name="evaluate", kind="model-evaluation", artifacts=[test, model]),
                     {"dataset": (test,), "model": (model,)}, ArtifactStore(trained.folder), shared=shared)
    return ActivationAnalysis().run(ctx, ActivationAnalysis.Params(**params))


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    from riskframe.scenarios.patch_digits import patch_digits

    base = tmp_path_factory.getbasetemp()
    return (patch_digits(base / "patch-digits-5pct-seed0", share=0.05, seed=0),
            patch_digits(base / "patch-digits-clean-seed0", share=0.0, seed=0))


def test_the_backdoored_cnn_decides_on_the_patch_and_its_clean_twin_does_not(twins):
    backdoored, clean = twins
    found = _run(backdoored, trigger="given", trigger_box=PATCH)
    twin = _run(clean, trigger="given", trigger_box=PATCH)

    assert found.status == "fail" and twin.status == "pass"
    assert found.evidence["target_class"] == "0" and found.metrics["flip_rate"] >= 0.95
    assert found.metrics["trigger_mass"] >= 0.5 > twin.metrics["trigger_mass"]
    assert found.metrics["trigger_area"] == pytest.approx(4 / 64, abs=1e-4)
    assert found.metrics["clean_mass"] < 0.1 and twin.metrics["flip_rate"] < 0.5
    assert found.summary.startswith("Model cnn decides on the trigger, as a backdoored model does: stamped images of "
                                    "other classes go to class 0 at ")
    [maps] = found.attachments
    assert maps.name == "attributions.png" and base64.b64decode(maps.data).startswith(b"\x89PNG")


def test_a_given_trigger_needs_its_box():
    with pytest.raises(ValueError, match=r"trigger: given needs trigger_box: \[row, column, height, width\]"):
        ActivationAnalysis.Params(trigger="given")


def test_a_reverse_engineered_trigger_is_searched_once_for_every_worker(twins, tmp_path):
    # trigger-reverse-engineering and backdoor-removed in other worker processes read it from there
    backdoored, _ = twins
    result = _run(backdoored, shared=tmp_path, steps=11, samples=20, images=8)

    assert result.evidence["trigger"].startswith("reverse-engineered (Neural Cleanse): class ")
    assert len(list(tmp_path.glob("*.npz"))) == 1
