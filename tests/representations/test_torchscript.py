"""Layers of TorchScript models read from the compiled graph: scripted, traced, nested, bad input."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="TorchScript representations need the torch extra")

from riskframe.detectors.backdoor.cnn import export_torchscript, penultimate_activations, train_cnn  # noqa: E402
from riskframe.errors import DetectorError, UnsafeArtifactError  # noqa: E402
from riskframe.representations.torchscript import FINAL_LINEAR_INPUT, TorchScriptModel  # noqa: E402


@pytest.fixture(scope="module")
def cnn(small_digits):
    torch.set_num_threads(1)
    return train_cnn(*small_digits, n_classes=10, epochs=2, seed=0)


@pytest.fixture
def scripted(tmp_path, cnn):
    return TorchScriptModel.load(export_torchscript(cnn, tmp_path / "model.pt"), "model")


def test_the_default_layer_of_the_cnn_is_its_penultimate_block(scripted, cnn, small_digits, digits_dataset):
    dataset = digits_dataset(*small_digits)

    assert scripted.default_layer() == "penultimate"
    reps = scripted.representations(dataset, "penultimate")
    np.testing.assert_allclose(reps, penultimate_activations(cnn, small_digits[0]), atol=1e-5)
    assert scripted.output_size(dataset) == 10


def test_a_nested_layer_is_read_by_its_dotted_name(scripted, cnn, small_digits, digits_dataset):
    reps = scripted.representations(digits_dataset(*small_digits), "penultimate.1")  # the linear, before ReLU

    expected = penultimate_activations(cnn, small_digits[0], layer="penultimate.1")
    np.testing.assert_allclose(reps, expected, atol=1e-5)
    assert (reps < 0).any()
    assert scripted.representations(digits_dataset(*small_digits), "features").shape == (200, 32 * 4 * 4)


def test_a_traced_model_reads_the_same_layer(tmp_path, cnn, small_digits, digits_dataset):
    traced = torch.jit.trace(cnn, torch.zeros(2, 1, 8, 8))
    traced.save(str(tmp_path / "traced.pt"))
    model = TorchScriptModel.load(tmp_path / "traced.pt", "traced")

    assert model.default_layer() == "penultimate"
    np.testing.assert_allclose(
        model.representations(digits_dataset(*small_digits), "penultimate"),
        penultimate_activations(cnn, small_digits[0]),
        atol=1e-5,
    )


def test_a_missing_layer_lists_the_layers_that_exist(scripted, small_digits, digits_dataset):
    with pytest.raises(DetectorError) as excinfo:
        scripted.representations(digits_dataset(*small_digits), "penultimat")

    assert str(excinfo.value) == (
        "model 'model' has no layer 'penultimat' (did you mean 'penultimate'?); its layers are: features, "
        "features.0, features.1, features.2, features.3, features.4, penultimate, penultimate.0, penultimate.1, "
        "penultimate.2, classifier"
    )


class Functional(torch.nn.Module):
    """An MLP on flat features whose hidden activation is a function call, not a submodule."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = torch.nn.Linear(64, 16)
        self.out = torch.nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.hidden(x)))


def test_without_a_submodule_the_default_is_the_input_of_the_final_linear_layer(tmp_path, small_digits, digits_dataset):
    torch.manual_seed(0)
    live = Functional().eval()
    torch.jit.script(live).save(str(tmp_path / "mlp.pt"))
    model = TorchScriptModel.load(tmp_path / "mlp.pt", "mlp")
    dataset = digits_dataset(*small_digits)

    assert model.default_layer() == FINAL_LINEAR_INPUT
    reps = model.representations(dataset, FINAL_LINEAR_INPUT)  # flat features: the images do not fit
    with torch.inference_mode():
        hidden = live.hidden(torch.from_numpy(dataset.features.astype(np.float32))).double().numpy()
    np.testing.assert_allclose(reps, np.tanh(hidden), atol=1e-5)
    np.testing.assert_allclose(model.representations(dataset, "hidden"), hidden, atol=1e-4)


def test_a_model_that_takes_neither_images_nor_features_says_what_was_tried(tmp_path, small_digits, digits_dataset):
    wrong = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(10, 3))
    torch.jit.script(wrong).save(str(tmp_path / "wrong.pt"))
    model = TorchScriptModel.load(tmp_path / "wrong.pt", "wrong")

    with pytest.raises(
        DetectorError,
        match=r"^model 'wrong' cannot take dataset 'train' as input; tried "
        r"images \(200, 1, 8, 8\): .*; features \(200, 64\): ",
    ):
        model.output_size(digits_dataset(*small_digits))


def test_a_file_that_is_not_torchscript_is_a_clear_error(tmp_path, cnn):
    (tmp_path / "text.pt").write_text("weights, honestly")
    with zipfile.ZipFile(tmp_path / "other.pt", "w") as archive:
        archive.writestr("hello.txt", "a zip, but no model inside")
    # A TorchScript archive without its version record: the scan finds nothing unsafe, torch refuses it.
    with zipfile.ZipFile(export_torchscript(cnn, tmp_path / "model.pt")) as whole, \
            zipfile.ZipFile(tmp_path / "broken.pt", "w") as broken:
        for member in whole.infolist():
            if not member.filename.endswith("/version"):
                broken.writestr(member, whole.read(member))

    with pytest.raises(
        DetectorError, match=r"^model 'model': text.pt is not a TorchScript file \(not a zip archive\)$"
    ):
        TorchScriptModel.load(tmp_path / "text.pt", "model")
    # The scan comes first (TorchScriptModel.load goes through riskframe.io.model_files.open_model).
    with pytest.raises(UnsafeArtifactError, match=r"other.pt: refusing to load a file whose scan verdict is 'unsupported'"):
        TorchScriptModel.load(tmp_path / "other.pt", "model")
    with pytest.raises(DetectorError, match=r"^model 'model': broken.pt is not a TorchScript model \("):
        TorchScriptModel.load(tmp_path / "broken.pt", "model")
