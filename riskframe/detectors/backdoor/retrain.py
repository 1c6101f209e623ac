"""Retrain a model through the entry point its pipeline names, and measure it.

The entry point (a model artifact's ``train: package.module:function``) is called as
``function(images, labels, n_classes=K, seed=S)`` with the training images as the dataset stores
them ((N, H, W[, C]), labels 0..K-1) and returns a model: a torch module reading (N, C, H, W)
images in their own units (riskframe's :func:`riskframe.detectors.backdoor.cnn.train_cnn` is one), or a
scikit-learn estimator with ``predict`` reading the images flattened.

Two optional records travel inside the ``.npz`` files, beside ``X`` and ``y``:

* a known trigger (``trigger_mask``, ``trigger_pattern``, ``trigger_target``), which the backdoor
  example and benchmarks write into their held-out set so that attack success can also be
  measured with the trigger the attacker really planted;
* ``removed_indices`` and ``source_rows``, which ``riskframe remediate`` writes into a filtered
  dataset, so that the number of samples removed is known downstream.

>>> import numpy as np
>>> from sklearn.dummy import DummyClassifier
>>> model = DummyClassifier(strategy="constant", constant=1).fit(np.zeros((2, 1)), [1, 1])
>>> accuracy(model, np.zeros((4, 2, 2)), np.array([1, 1, 0, 1]))
0.75
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from riskframe.detectors.backdoor.models import predict_classes
from riskframe.detectors.backdoor.neural_cleanse import ReversedTrigger
from riskframe.errors import DetectorError

TRIGGER_KEYS = ("trigger_mask", "trigger_pattern", "trigger_target")
REMOVAL_KEYS = ("removed_indices", "source_rows")


@dataclass(frozen=True)
class Retrained:
    model: Any
    entry_point: str
    seconds: float


def retrain(function: Callable[..., Any], entry_point: str, images: np.ndarray, labels: np.ndarray, n_classes: int,
            seed: int) -> Retrained:
    """Call the training entry point (``function``, loaded by
    :func:`riskframe.detectors.backdoor.models.load_entry_point` from ``entry_point``) and return what it
    trained, timed.

    Raises
    ------
    riskframe.errors.DetectorError
        The entry point raises, or returns None.
    """
    started = time.perf_counter()
    try:
        model = function(images, labels, n_classes=n_classes, seed=seed)
    except Exception as exc:  # the user's training code: its failure is the detector's error
        raise DetectorError(f"the training entry point {entry_point!r} raised {type(exc).__name__}: {exc}") from exc
    if model is None:
        raise DetectorError(f"the training entry point {entry_point!r} returned None instead of a model")
    return Retrained(model, entry_point, time.perf_counter() - started)


def accuracy(model: Any, images: np.ndarray, labels: np.ndarray) -> float:
    """Share of ``images`` the model classifies as ``labels``."""
    return float(np.mean(predict_classes(model, images) == np.asarray(labels)))


def known_trigger(path: Path) -> ReversedTrigger | None:
    """The trigger recorded in an ``.npz`` (``trigger_mask``, ``trigger_pattern``,
    ``trigger_target``), or None when the file records none (or is not an npz)."""
    arrays = _optional_arrays(path, TRIGGER_KEYS)
    if arrays is None:
        return None
    mask = np.asarray(arrays["trigger_mask"], dtype=np.float64)
    pattern = np.asarray(arrays["trigger_pattern"], dtype=np.float64)
    target = int(np.asarray(arrays["trigger_target"]).reshape(-1)[0])
    return ReversedTrigger(target, mask, pattern, float(mask.sum()), 1.0, reached=True)


def removal_record(path: Path) -> tuple[int, int] | None:
    """(samples removed, rows of the source dataset) recorded by ``riskframe remediate``, or None."""
    arrays = _optional_arrays(path, REMOVAL_KEYS)
    if arrays is None:
        return None
    return int(np.asarray(arrays["removed_indices"]).size), int(np.asarray(arrays["source_rows"]).reshape(-1)[0])


def _optional_arrays(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    if path.suffix.lower() != ".npz":
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if not all(key in data.files for key in keys):
                return None
            return {key: data[key] for key in keys}
    except (ValueError, OSError, zipfile.BadZipFile):  # the dataset loader has vetted the file already
        return None
