"""Check a representations artifact against the model it claims to represent.

A ``representations`` artifact is a cache of a model's layer outputs, and it is a file anyone who
delivers the data can replace (re-pinning its digest with it). Representation-based backdoor
screens read *only* those values, so a replaced file (``onehot(y) * 10 + noise``) makes them pass
whatever the model learnt. When the plan also binds a model trained on the same dataset (the
model's ``of:`` is the representations' ``of:``) whose layers riskframe can read, the declared
rows are compared with the model's own layer output on a sample of rows before anything is
analysed; a mismatch raises :class:`~riskframe.errors.DetectorError`, so the run is an ``error``
result naming both artifacts and the gate fails closed, while the rest of the assessment
completes and its reports are written. (Not an exit-2 input error: the mismatch is found only by
loading and running the model, after the unsafe-model scan, which is detector work; and it is
evidence of tampering or of a stale cache, which belongs in the assessment, not only on a terminal.)

**Rows**: :data:`ROWS` (64) rows, drawn with a generator seeded by the run's seed *and* the
representations file's sha256, so an assessment stays reproducible (same inputs, same rows, same
evidence) while the rows are not known before the file's content is fixed. This is a spot-check,
and its reach is stated plainly: a file replaced wholesale, re-derived from another model or left
stale after retraining is caught all but surely; a file differing from the model on a share ``f``
of its rows is caught with probability about ``1 - (1 - f) ** 64`` (96% for ``f`` = 5%, 47% for
``f`` = 1%), and an attacker editing a few rows can retry edits until the drawn rows miss them.
Where representations come from an untrusted party, bind none: the detectors then compute every
row from the model.

**Tolerance**: row ``i`` differs by ``|declared_i - computed_i| / max(|computed_i|, floor)``
(Euclidean norms; ``floor`` is 1e-3 of the sample's mean row norm, so all-zero rows of a ReLU
layer compare on the layer's scale). The check fails when the largest such difference exceeds
:data:`RTOL` (1e-3): float32 recomputation in other batch sizes differs by about 1e-7, storing the
file as float16 by under 1e-3, and a file derived from anything but this layer by far more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from riskframe.data.datasets import Dataset
from riskframe.errors import DetectorError

ROWS = 64
RTOL = 1e-3


@dataclass(frozen=True)
class SpotCheck:
    """How declared representations compared with the model's layer on a sample of rows."""

    representations: str
    model: str
    layer: str
    rows: int
    max_relative_difference: float

    def evidence(self) -> dict[str, Any]:
        return {"model": self.model, "layer": self.layer, "rows": self.rows,
                "max_relative_difference": round(self.max_relative_difference, 6), "tolerance": RTOL}


def spot_check(declared: np.ndarray, dataset: Dataset, model: Any, layer: str, representations: str,
               seed: Sequence[int]) -> SpotCheck:
    """Compare ``declared`` (N, D) with ``model``'s ``layer`` on :data:`ROWS` rows of ``dataset``.

    Parameters
    ----------
    declared
        The representations artifact's values, row-aligned with ``dataset``.
    model
        A loaded :class:`~riskframe.representations.torchscript.TorchScriptModel` or
        :class:`~riskframe.representations.mlp.SkopsMLP` (anything with ``name`` and
        ``representations(dataset, layer)``).
    seed
        Seeds the rows drawn: the run's seed and the file's digest (see the module docstring).

    Raises
    ------
    DetectorError
        The shapes differ, or a row differs by more than :data:`RTOL`; the message names both
        artifacts, the layer, the rows compared and the largest difference.

    Examples
    --------
    >>> check = spot_check(reps, dataset, model, "penultimate", "train-reps", [0, 0x97b6])  # doctest: +SKIP
    >>> check.rows, check.max_relative_difference < RTOL  # doctest: +SKIP
    (64, True)
    """
    rng = np.random.default_rng(list(seed))
    rows = np.sort(rng.choice(dataset.n_samples, size=min(ROWS, dataset.n_samples), replace=False))
    computed = np.asarray(model.representations(_rows_of(dataset, rows), layer), dtype=np.float64)
    given = np.asarray(declared[rows], dtype=np.float64).reshape(len(rows), -1)
    where = f"representations {representations!r}"
    against = f"layer {layer!r} of model {model.name!r}"
    if given.shape != computed.shape:
        raise DetectorError(f"{where} do not match {against}: they have {given.shape[1]} values per row, "
                            f"the layer has {computed.shape[1]}; re-export them from the model, or remove "
                            "the artifact to let the detector compute them")
    difference = relative_difference(given, computed)
    if not difference <= RTOL:  # also catches NaN
        raise DetectorError(f"{where} do not match {against} on {len(rows)} sampled rows (max relative "
                            f"difference {difference:.3g}, tolerance {RTOL:g}); the file was changed or "
                            "comes from another model: re-export it from the model, or remove the artifact "
                            "to let the detector compute the representations")
    return SpotCheck(representations, model.name, layer, len(rows), difference)


def relative_difference(given: np.ndarray, computed: np.ndarray) -> float:
    """The largest row-wise ``|given - computed| / max(|computed|, floor)`` (see the module docstring).

    >>> round(relative_difference(np.array([[1.0, 0.0]]), np.array([[1.0, 0.001]])), 6)
    0.001
    """
    norms = np.linalg.norm(computed, axis=1)
    floor = max(1e-3 * float(norms.mean()), np.finfo(np.float64).tiny)
    return float((np.linalg.norm(given - computed, axis=1) / np.maximum(norms, floor)).max())


def _rows_of(dataset: Dataset, rows: np.ndarray) -> Dataset:
    images = dataset.images[rows] if dataset.images is not None else None
    return replace(dataset, features=dataset.features[rows], labels=dataset.labels[rows], images=images)
