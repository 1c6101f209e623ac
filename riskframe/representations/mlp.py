"""Hidden-layer representations of a scikit-learn ``MLPClassifier``, read from a skops file.

scikit-learn has no API for hidden activations, but an MLP's are a few matrix products: layer
``l`` is ``activation(h_{l-1} @ coefs_[l-1] + intercepts_[l-1])`` with ``h_0`` the input. That is
what :meth:`SkopsMLP.representations` computes, after the preprocessing steps when the MLP ends a
``Pipeline``. Layers are named ``hidden_1`` (the first) to ``hidden_L`` (the last, the default).

Model files are only ever read with skops, with an explicit list of the types riskframe trusts
beyond skops' defaults; pickle and joblib files are never loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from riskframe.data.datasets import Dataset
from riskframe.errors import DetectorError, NotApplicableError
from riskframe.io.model_files import open_model

# Types skops does not trust by default that a fitted MLP holds: its optimiser state. Nothing else
# is trusted; a file naming any other type is refused before it is loaded.
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
)

_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "logistic": lambda z: 1.0 / (1.0 + np.exp(-z)),
}


def hidden_activations(estimator: Any, features: np.ndarray, layer: int | None = None) -> np.ndarray:
    """Activations of hidden layer ``layer`` (1-based; default the last) of a fitted ``MLPClassifier``.

    Parameters
    ----------
    estimator : sklearn.neural_network.MLPClassifier
        Fitted; its ``activation`` is applied after each hidden layer.
    features : numpy.ndarray
        (N, D) inputs, as the MLP receives them (after any preprocessing).
    layer : int, optional
        Which hidden layer, 1 to ``len(estimator.hidden_layer_sizes)``.

    Examples
    --------
    >>> from sklearn.neural_network import MLPClassifier
    >>> X, y = np.random.default_rng(0).random((40, 4)), np.arange(40) % 2
    >>> mlp = MLPClassifier((5, 3), max_iter=5, random_state=0).fit(X, y)  # doctest: +SKIP
    >>> hidden_activations(mlp, X).shape  # doctest: +SKIP
    (40, 3)
    """
    depth = len(estimator.coefs_) - 1
    layer = depth if layer is None else layer
    if not 1 <= layer <= depth:
        raise ValueError(f"layer must be in [1, {depth}]; got {layer}")
    activate = _ACTIVATIONS[estimator.activation]
    hidden = np.asarray(features, dtype=np.float64)
    for weights, bias in zip(estimator.coefs_[:layer], estimator.intercepts_[:layer], strict=True):
        hidden = activate(hidden @ weights + bias)
    return hidden


class SkopsMLP:
    """A scikit-learn ``MLPClassifier`` (alone or ending a ``Pipeline``) loaded from a skops file."""

    kind = "scikit-learn MLP"

    def __init__(self, model: Any, name: str) -> None:
        from sklearn.neural_network import MLPClassifier
        from sklearn.pipeline import Pipeline

        self.name = name
        self.preprocess = model[:-1] if isinstance(model, Pipeline) else None
        self.mlp = model[-1] if isinstance(model, Pipeline) else model
        if not isinstance(self.mlp, MLPClassifier):
            raise NotApplicableError(
                f"model {name!r} is a {type(self.mlp).__name__}; representations can be read from a "
                "scikit-learn MLPClassifier (or a Pipeline ending in one) or a TorchScript model"
            )

    @classmethod
    def load(cls, path: Path, name: str) -> SkopsMLP:
        """Load ``path`` through :func:`riskframe.io.model_files.open_model`, refusing any type
        outside skops' defaults and :data:`TRUSTED_TYPES`, and any file the scan does not find safe."""
        return cls(open_model(path, "skops", name, trusted=TRUSTED_TYPES).model, name)

    def layer_names(self) -> list[str]:
        return [f"hidden_{i}" for i in range(1, len(self.mlp.coefs_))]

    def default_layer(self) -> str:
        return self.layer_names()[-1]

    def representations(self, dataset: Dataset, layer: str) -> np.ndarray:
        """The activations of ``layer`` for every sample of ``dataset`` (its flattened features)."""
        features = dataset.features
        if self.preprocess is not None:
            features = self.preprocess.transform(features)
        expected = self.mlp.coefs_[0].shape[0]
        if features.shape[1] != expected:
            raise DetectorError(
                f"model {self.name!r} takes {expected} features but dataset {dataset.name!r} has {features.shape[1]}"
            )
        return hidden_activations(self.mlp, features, self.layer_names().index(layer) + 1)

    def output_labels(self) -> np.ndarray:
        """The label values the model's outputs stand for (its ``classes_``)."""
        return np.asarray(self.mlp.classes_)
