"""A representations artifact is checked against the model it claims to represent, when the plan
binds one trained on the same dataset: a replaced file is an error naming both artifacts."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from riskframe.errors import DetectorError
from riskframe.representations import representations_for
from riskframe.representations.spot_check import ROWS, RTOL, relative_difference

torch = pytest.importorskip("torch", reason="TorchScript models need the torch extra")

from riskframe.detectors.backdoor.cnn import export_torchscript, train_cnn  # noqa: E402
from riskframe.representations.torchscript import TorchScriptModel  # noqa: E402


@pytest.fixture(scope="module")
def exported(small_digits, tmp_path_factory):
    """A CNN exported as TorchScript, and its true penultimate representations of the digits."""
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("spot-check")
    export_torchscript(train_cnn(*small_digits, n_classes=10, epochs=1, seed=0), folder / "model.pt")
    model = TorchScriptModel.load(folder / "model.pt", "model")
    return folder / "model.pt", model.representations(_digits_dataset(*small_digits), "penultimate")


def _digits_dataset(images, labels):
    from riskframe.data.datasets import Dataset

    return Dataset("train", "train.npz", images.reshape(len(images), -1).astype(float), labels,
                   np.unique(labels), images)


def _bound(tmp_path, small_digits, model_context, exported, reps, model_of="train"):
    (tmp_path / "model.pt").write_bytes(exported[0].read_bytes())
    return model_context(tmp_path, *small_digits, "model.pt", reps=reps, model_of=model_of)


def test_true_representations_pass_and_say_where_they_came_from(tmp_path, small_digits, model_context, exported):
    reps = representations_for(_bound(tmp_path, small_digits, model_context, exported, exported[1]))

    assert reps.source == ("representations artifact 'train-reps' (matches layer 'penultimate' of TorchScript "
                           "model 'model' on 64 sampled rows)")
    evidence = reps.evidence()
    assert evidence["representations_source"] == "artifact"
    check = evidence["checked_against_model"]
    assert (check["model"], check["layer"], check["rows"], check["tolerance"]) == ("model", "penultimate", ROWS, RTOL)
    assert check["max_relative_difference"] < 1e-5


def test_representations_stored_as_float16_are_within_the_tolerance(tmp_path, small_digits, model_context, exported):
    half = exported[1].astype(np.float16)

    reps = representations_for(_bound(tmp_path, small_digits, model_context, exported, half))

    assert reps.checked.max_relative_difference < RTOL


def test_a_replaced_file_is_an_error_naming_both_artifacts(tmp_path, small_digits, model_context, exported):
    # The security review's reproduction: one-hot labels scaled up, plus noise, with the digest re-pinned.
    labels = small_digits[1]
    forged = np.eye(10)[labels] * 10 + np.random.default_rng(0).normal(scale=0.1, size=(len(labels), 10))
    forged = np.hstack([forged, np.zeros((len(labels), exported[1].shape[1] - 10))])

    with pytest.raises(DetectorError) as excinfo:
        representations_for(_bound(tmp_path, small_digits, model_context, exported, forged))

    assert re.fullmatch(
        r"representations 'train-reps' do not match layer 'penultimate' of model 'model' on 64 sampled rows "
        r"\(max relative difference [0-9.]+, tolerance 0\.001\); the file was changed or comes from another "
        r"model: re-export it from the model, or remove the artifact to let the detector compute the "
        r"representations", str(excinfo.value))


def test_representations_of_another_width_are_an_error(tmp_path, small_digits, model_context, exported):
    with pytest.raises(DetectorError, match=r"they have 3 values per row, the layer has 64"):
        representations_for(_bound(tmp_path, small_digits, model_context, exported, exported[1][:, :3]))


def test_every_row_changed_a_little_beyond_the_tolerance_is_caught(tmp_path, small_digits, model_context, exported):
    nudged = exported[1] * (1 + 5 * RTOL)

    with pytest.raises(DetectorError, match=r"max relative difference 0\.005"):
        representations_for(_bound(tmp_path, small_digits, model_context, exported, nudged))


def test_a_model_trained_on_other_data_is_not_checked_and_the_evidence_says_so(tmp_path, small_digits,
                                                                               model_context, exported):
    forged = np.zeros_like(exported[1])

    reps = representations_for(_bound(tmp_path, small_digits, model_context, exported, forged, model_of=None))

    assert reps.source == "representations artifact 'train-reps'"
    assert reps.evidence()["not_checked"] == "model 'model' is not declared `of: train`, the dataset they represent"


def test_a_model_without_readable_layers_is_not_checked(tmp_path, small_digits, model_context):
    (tmp_path / "model.onnx").write_bytes(b"\x08\x07")

    reps = representations_for(model_context(tmp_path, *small_digits, "model.onnx", reps=np.ones((200, 4)),
                                             model_of="train"))

    assert reps.evidence()["not_checked"] == "model 'model' is onnx, whose layers riskframe cannot read"


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (5, 4), elements=st.floats(-1e3, 1e3)), st.floats(1e-3, 1e3))
def test_the_relative_difference_does_not_depend_on_the_layers_scale(values, scale):
    assume(np.linalg.norm(values, axis=1).mean() > 1e-3)  # an all-zero layer has no scale to be relative to
    nudged = values + 0.5

    assert relative_difference(values, values) == 0.0
    assert relative_difference(nudged * scale, values * scale) == pytest.approx(relative_difference(nudged, values))
