"""Hidden layers of scikit-learn MLPs read from skops files, checked against a manual computation."""

from __future__ import annotations

import operator
import warnings

import numpy as np
import pytest
import skops.io as sio
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from riskframe.errors import DetectorError, NotApplicableError
from riskframe.representations.mlp import SkopsMLP, hidden_activations


def _fit(model, images, labels):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few iterations are enough to have weights
        return model.fit(images.reshape(len(images), -1), labels)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_hidden_layers_equal_the_weights_applied_by_hand(activation, small_digits):
    mlp = _fit(MLPClassifier((12, 7), activation=activation, max_iter=20, random_state=0), *small_digits)
    x = small_digits[0].reshape(200, -1)
    act = {
        "relu": lambda z: np.maximum(z, 0),
        "tanh": np.tanh,
        "logistic": lambda z: 1 / (1 + np.exp(-z)),
        "identity": lambda z: z,
    }[activation]

    first = act(x @ mlp.coefs_[0] + mlp.intercepts_[0])
    np.testing.assert_allclose(hidden_activations(mlp, x, layer=1), first)
    np.testing.assert_allclose(hidden_activations(mlp, x), act(first @ mlp.coefs_[1] + mlp.intercepts_[1]))


def test_a_skops_mlp_in_a_pipeline_reads_its_last_hidden_layer(tmp_path, small_digits, digits_dataset):
    pipeline = _fit(make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=20, random_state=0)), *small_digits)
    sio.dump(pipeline, tmp_path / "mlp.skops")
    model = SkopsMLP.load(tmp_path / "mlp.skops", "mlp")
    dataset = digits_dataset(*small_digits)

    assert model.layer_names() == ["hidden_1"] and model.default_layer() == "hidden_1"
    scaled = pipeline[0].transform(dataset.features)
    manual = np.maximum(scaled @ pipeline[-1].coefs_[0] + pipeline[-1].intercepts_[0], 0)
    np.testing.assert_allclose(model.representations(dataset, "hidden_1"), manual)
    assert model.output_labels().tolist() == list(range(10))


def test_a_skops_file_naming_an_untrusted_type_is_not_loaded(tmp_path, small_digits):
    pipeline = _fit(make_pipeline(FunctionTransformer(operator.pos), MLPClassifier((4,), max_iter=5)), *small_digits)
    sio.dump(pipeline, tmp_path / "mlp.skops")

    with pytest.raises(
        DetectorError,
        match=r"^model 'mlp': mlp.skops holds types riskframe does not trust, so it is "
        r"not loaded: _operator.pos$",
    ):
        SkopsMLP.load(tmp_path / "mlp.skops", "mlp")


def test_a_skops_file_without_an_mlp_is_not_applicable(tmp_path, small_digits):
    sio.dump(_fit(LogisticRegression(max_iter=50), *small_digits), tmp_path / "logistic.skops")

    with pytest.raises(
        NotApplicableError,
        match=r"^model 'lr' is a LogisticRegression; representations can be read "
        r"from a scikit-learn MLPClassifier",
    ):
        SkopsMLP.load(tmp_path / "logistic.skops", "lr")


def test_a_file_that_is_not_skops_is_a_clear_error(tmp_path):
    (tmp_path / "model.skops").write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip archive

    with pytest.raises(DetectorError, match=r"^model 'm': model.skops is not a skops file \("):
        SkopsMLP.load(tmp_path / "model.skops", "m")


def test_features_of_the_wrong_width_are_refused(tmp_path, small_digits, digits_dataset):
    sio.dump(_fit(MLPClassifier((4,), max_iter=5), small_digits[0][:, :4, :4], small_digits[1]), tmp_path / "m.skops")

    with pytest.raises(DetectorError, match=r"^model 'm' takes 16 features but dataset 'train' has 64$"):
        SkopsMLP.load(tmp_path / "m.skops", "m").representations(digits_dataset(*small_digits), "hidden_1")
