"""Where representations come from: the artifact, a TorchScript or skops model, and every bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import skops.io as sio
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from riskframe.errors import ArtifactError, DetectorError, NotApplicableError, UnsafeArtifactError
from riskframe.representations import representations_for

torch = pytest.importorskip("torch", reason="TorchScript models need the torch extra")

from riskframe.detectors.backdoor.cnn import SmallCNN, export_torchscript, penultimate_activations, train_cnn  # noqa: E402


@pytest.fixture(scope="module")
def cnn(small_digits):
    torch.set_num_threads(1)
    return train_cnn(*small_digits, n_classes=10, epochs=1, seed=0)


def test_a_representations_artifact_wins_over_the_model(tmp_path, small_digits, model_context, cnn):
    export_torchscript(cnn, tmp_path / "model.pt")
    given = np.arange(200 * 3, dtype=float).reshape(200, 3)
    reps = representations_for(model_context(tmp_path, *small_digits, "model.pt", reps=given))

    np.testing.assert_array_equal(reps.values, given)
    assert reps.source == "representations artifact 'train-reps'" and reps.model is None


def test_a_torchscript_model_gives_its_penultimate_layer(tmp_path, small_digits, model_context, cnn):
    export_torchscript(cnn, tmp_path / "model.pt")
    reps = representations_for(model_context(tmp_path, *small_digits, "model.pt"))

    np.testing.assert_allclose(reps.values, penultimate_activations(cnn, small_digits[0]), atol=1e-5)
    assert reps.source == "layer 'penultimate' of TorchScript model 'model'" and reps.layer == "penultimate"


def test_the_artifact_layer_picks_another_layer(tmp_path, small_digits, model_context, cnn):
    export_torchscript(cnn, tmp_path / "model.pt")
    reps = representations_for(model_context(tmp_path, *small_digits, "model.pt", layer="features"))

    assert reps.values.shape == (200, 512) and reps.source == "layer 'features' of TorchScript model 'model'"
    with pytest.raises(
        DetectorError,
        match=r"^model 'model' has no layer 'head'; its layers are: features, "
        r"features.0, .*, penultimate.2, classifier$",
    ):
        representations_for(model_context(tmp_path, *small_digits, "model.pt", layer="head"))


def test_a_skops_mlp_gives_its_last_hidden_layer(tmp_path, small_digits, model_context):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier((9,), max_iter=10, random_state=0).fit(small_digits[0].reshape(200, -1), small_digits[1])
    sio.dump(mlp, tmp_path / "mlp.skops")
    reps = representations_for(model_context(tmp_path, *small_digits, "mlp.skops"))

    assert reps.source == "layer 'hidden_1' of scikit-learn MLP model 'model'" and reps.values.shape == (200, 9)


def test_nothing_to_read_representations_from_is_not_applicable(tmp_path, small_digits, model_context):
    with pytest.raises(NotApplicableError, match=r"^no representations to analyse: bind a representations artifact"):
        representations_for(model_context(tmp_path, *small_digits, None))


def test_a_model_format_without_layers_is_not_applicable(tmp_path, small_digits, model_context):
    (tmp_path / "model.onnx").write_bytes(b"\x08\x07")

    with pytest.raises(
        NotApplicableError,
        match=r"^model 'model' is onnx: representations are read from "
        r"TorchScript or skops",
    ):
        representations_for(model_context(tmp_path, *small_digits, "model.onnx"))


def test_a_model_with_the_wrong_output_size_is_an_error(tmp_path, small_digits, model_context):
    export_torchscript(SmallCNN(1, 8, 8, n_classes=3).eval(), tmp_path / "three.pt")

    with pytest.raises(DetectorError) as excinfo:
        representations_for(model_context(tmp_path, *small_digits, "three.pt"))
    assert str(excinfo.value) == (
        "model 'model' outputs 3 class scores but dataset 'train' has 10 classes (labels "
        "0, 1, 2, 3, 4, 5, 6, 7, 8, 9); bind the model trained on this dataset"
    )


def test_an_mlp_that_never_saw_some_labels_is_an_error(tmp_path, small_digits, model_context):
    images, labels = small_digits
    few = labels < 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier((5,), max_iter=5, random_state=0).fit(images[few].reshape(-1, 64), labels[few])
    sio.dump(mlp, tmp_path / "mlp.skops")

    with pytest.raises(
        DetectorError,
        match=r"^model 'model' outputs the labels 0, 1, 2, 3 but dataset 'train' also "
        r"has 4, 5, 6, 7, 8, 9; bind the model trained on this dataset$",
    ):
        representations_for(model_context(tmp_path, *small_digits, "mlp.skops"))


def test_an_unsafe_model_file_is_refused_before_loading(tmp_path, small_digits, model_context):
    marker = tmp_path / "ran"
    (tmp_path / "model.pt").write_bytes(f"cposix\nsystem\n(S'touch {marker}'\ntR.".encode())

    with pytest.raises(UnsafeArtifactError, match=r"model.pt: refusing to load a file whose scan verdict is 'unsafe'"):
        representations_for(model_context(tmp_path, *small_digits, "model.pt"))
    assert not marker.exists()


def test_representations_of_another_length_are_an_artifact_error(tmp_path, small_digits, model_context):
    with pytest.raises(ArtifactError, match=r"^representations have 150 rows but dataset 'train' has 200 samples"):
        representations_for(model_context(tmp_path, *small_digits, None, reps=np.zeros((150, 4))))


def test_a_missing_model_file_is_an_error(tmp_path, small_digits, model_context):
    with pytest.raises(DetectorError, match=r"^model 'model': file not found: .*gone.pt$"):
        representations_for(model_context(tmp_path, *small_digits, "gone.pt"))


def test_only_a_model_artifact_names_a_layer():
    from pydantic import ValidationError

    from riskframe.spec.pipeline import Artifact

    assert Artifact(name="m", type="model", path="m.pt", layer="penultimate.2").layer == "penultimate.2"
    with pytest.raises(ValidationError, match=r"`layer:` names a layer of a model; a dataset artifact has none"):
        Artifact(name="d", type="dataset", path="d.npz", layer="penultimate")
