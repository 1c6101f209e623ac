"""Models as the backdoor controls use them: a TorchScript file loaded only after its scan, class
predictions from a torch module or a scikit-learn estimator, and a training entry point the
pipeline names.

torch is imported inside the functions (the ``torch`` extra).

>>> import numpy as np
>>> from sklearn.dummy import DummyClassifier
>>> model = DummyClassifier(strategy="constant", constant=3).fit(np.zeros((2, 4)), [3, 3])
>>> predict_classes(model, np.zeros((5, 2, 2))).tolist()
[3, 3, 3, 3, 3]
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from riskframe.data.datasets import Dataset
from riskframe.detectors.backdoor.neural_cleanse import import_torch, to_model_layout
from riskframe.errors import DetectorError
from riskframe.io.model_files import open_model

BATCH = 1024  # images per forward pass: bounds memory, not results


def load_torchscript(path: Path, name: str, detector: str = "") -> tuple[Any, str]:
    """Load the TorchScript model ``name`` for inference on CPU through
    :func:`riskframe.io.model_files.open_model` (scanned first); returns the model in eval mode and
    the scan's outcome in words (for the evidence).

    Raises
    ------
    riskframe.errors.UnsafeArtifactError
        The scan's verdict is not ``safe``, or the scanner is unavailable: the file is not loaded.
    riskframe.errors.DetectorError
        The file is not a TorchScript archive.
    riskframe.errors.MissingDependencyError
        torch is not installed (the ``torch`` extra).

    Examples
    --------
    >>> model, scan = load_torchscript(Path("models/model.pt"), "model")  # doctest: +SKIP
    """
    import_torch(detector)  # names the detector when the torch extra is missing
    opened = open_model(path, "torchscript", name)
    return opened.model, opened.scan


def output_size(model: Any, images: np.ndarray) -> int:
    """Number of classes ``model`` scores, from one forward pass on the first image."""
    torch = import_torch()
    with torch.inference_mode():
        logits = model(to_model_layout(torch, images[:1]))
    if logits.dim() != 2:
        raise DetectorError(f"the model returns an output of shape {tuple(logits.shape)} for one image; "
                            "expected (1, number of classes)")
    return int(logits.shape[1])


def model_labels(dataset: Dataset, n_outputs: int) -> np.ndarray:
    """The dataset's labels as model output indices (label value ``v`` is output ``v``).

    Raises
    ------
    riskframe.errors.DetectorError
        A label is not an integer in [0, n_outputs): the model and the dataset do not fit.
    """
    values = np.asarray(dataset.classes)[dataset.labels]
    if values.dtype.kind not in "iu" or values.min() < 0 or values.max() >= n_outputs:
        shown = ", ".join(str(v) for v in dataset.classes.tolist()[:12])
        raise DetectorError(f"the model scores {n_outputs} classes but dataset {dataset.name!r} has labels "
                            f"{shown}: its labels must be the model's output indices 0..{n_outputs - 1}")
    codes: np.ndarray = values.astype(np.int64)
    return codes


def predict_classes(model: Any, images: np.ndarray) -> np.ndarray:
    """Predicted classes of ``images`` (N, H, W[, C]): a torch module reads them as (N, C, H, W)
    in their own units; an object with ``predict`` (scikit-learn) reads them flattened."""
    if hasattr(model, "predict") and not _is_torch_module(model):
        return np.asarray(model.predict(np.asarray(images).reshape(len(images), -1)))
    classes: np.ndarray = predict_proba(model, images).argmax(axis=1)
    return classes


def predict_proba(model: Any, images: np.ndarray) -> np.ndarray:
    """Class probabilities (N, K) of ``images``, read as :func:`predict_classes` reads them."""
    if hasattr(model, "predict_proba") and not _is_torch_module(model):
        return np.asarray(model.predict_proba(np.asarray(images).reshape(len(images), -1)))
    torch = import_torch()
    x = to_model_layout(torch, images)
    with torch.inference_mode():
        chunks = [model(chunk).softmax(dim=1) for chunk in x.split(BATCH)]
    probabilities: np.ndarray = torch.cat(chunks).double().numpy()
    return probabilities


def _is_torch_module(model: Any) -> bool:
    try:
        import torch
    except ImportError:
        return False
    return isinstance(model, (torch.nn.Module, torch.jit.ScriptModule))


def load_entry_point(spec: str, owner: str) -> Callable[..., Any]:
    """The function ``package.module:function`` names (a model's ``train:``).

    Raises
    ------
    riskframe.errors.DetectorError
        It cannot be imported or is not callable; ``owner`` says who named it.
    """
    module_name, _, attr = spec.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), attr)
    except ImportError as exc:
        raise DetectorError(f"cannot import the training entry point {spec!r} named by {owner}: {exc}") from exc
    except AttributeError:
        raise DetectorError(f"module {module_name!r} has no {attr!r}: the training entry point {spec!r} "
                            f"named by {owner} does not exist") from None
    if not callable(function):
        raise DetectorError(f"the training entry point {spec!r} named by {owner} is not callable")
    return function  # type: ignore[no-any-return]
