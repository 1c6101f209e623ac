"""Poisoned variants of scikit-learn's bundled datasets, for examples, tests and benchmarks.

Every scenario is seeded and returns the ground truth beside the poisoned labels, so a detector's
flags can be scored (precision, recall, F1) against the samples that were really changed.

>>> images, labels = digits()
>>> poisoned, flipped = flip_targeted(labels, source=7, target=1, share=0.10, seed=0)
>>> int((labels[flipped] == 7).all()), int((poisoned[flipped] == 1).all()), flipped.size
(1, 1, 18)

Pure numpy plus ``sklearn.datasets`` (imported when :func:`digits` is called): the module is
cheap to import.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskframe.io.files import write_npz


@dataclass(frozen=True, eq=False)
class Scenario:
    """A dataset with some labels changed on purpose.

    ``labels`` are the poisoned labels a detector sees, ``clean_labels`` the originals and
    ``flipped`` the sorted indices whose label differs between the two.
    """

    name: str
    images: np.ndarray
    labels: np.ndarray
    clean_labels: np.ndarray
    flipped: np.ndarray

    @property
    def poisoned_share(self) -> float:
        """The share of the dataset whose label was changed."""
        return self.flipped.size / self.labels.size

    def save_npz(self, path: Path) -> Path:
        """Write ``X`` (the images, so readers keep them as pictures) and ``y`` to ``path``."""
        return save_npz(path, self.images, self.labels)


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 handwritten digits: images (N, 8, 8) float64 and labels 0..9.

    Returns
    -------
    images, labels : numpy.ndarray
        Pixel intensities 0..16 and integer class labels.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images.astype(np.float64), bunch.target.astype(np.int64)


def flip_targeted(
    labels: np.ndarray, source: int, target: int, share: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Relabel ``share`` of the samples of class ``source`` as ``target``.

    Parameters
    ----------
    labels : numpy.ndarray
        The clean integer labels, shape (N,).
    source, target : int
        The class whose samples are relabelled, and the label they get.
    share : float
        Share of the ``source`` class to relabel, in [0, 1]; rounded to a whole number of samples.
    seed : int
        Seeds which samples are chosen.

    Returns
    -------
    new_labels, flipped_indices : numpy.ndarray
        A relabelled copy of ``labels`` and the sorted indices that were changed.
    """
    _check_share(share)
    if source == target:
        raise ValueError(f"source and target must differ; both are {source}")
    members = np.flatnonzero(labels == source)
    if members.size == 0:
        raise ValueError(f"no sample has label {source}")
    count = round(share * members.size)
    flipped = np.sort(np.random.default_rng(seed).choice(members, size=count, replace=False))
    new_labels = labels.copy()
    new_labels[flipped] = target
    return new_labels, flipped


def flip_random(
    labels: np.ndarray, share: float, n_classes: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Give ``share`` of all samples a different label, drawn uniformly from the other classes.

    Parameters
    ----------
    labels : numpy.ndarray
        The clean integer labels 0..K-1, shape (N,).
    share : float
        Share of all samples to relabel, in [0, 1]; rounded to a whole number of samples.
    n_classes : int, optional
        K; by default ``labels.max() + 1``.
    seed : int
        Seeds which samples are chosen and their new labels.

    Returns
    -------
    new_labels, flipped_indices : numpy.ndarray
        A relabelled copy of ``labels`` and the sorted indices that were changed.
    """
    _check_share(share)
    k = int(labels.max()) + 1 if n_classes is None else n_classes
    if k < 2:
        raise ValueError("random flips need at least two classes")
    rng = np.random.default_rng(seed)
    count = round(share * labels.size)
    flipped = np.sort(rng.choice(labels.size, size=count, replace=False))
    # An offset in 1..K-1 added modulo K lands uniformly on one of the *other* classes.
    offsets = rng.integers(1, k, size=count)
    new_labels = labels.copy()
    new_labels[flipped] = (labels[flipped] + offsets) % k
    return new_labels, flipped


def digits_targeted(source: int = 7, target: int = 1, share: float = 0.10, seed: int = 0) -> Scenario:
    """The digits with ``share`` of class ``source`` relabelled ``target`` (the seed's scenario)."""
    images, labels = digits()
    poisoned, flipped = flip_targeted(labels, source, target, share, seed)
    name = f"{source}->{target} {share:.0%} of the {source}s"
    return Scenario(name, images, poisoned, labels, flipped)


def digits_random(share: float = 0.03, seed: int = 0) -> Scenario:
    """The digits with ``share`` of all samples given a random other label."""
    images, labels = digits()
    poisoned, flipped = flip_random(labels, share, 10, seed)
    return Scenario(f"random {share:.0%} of all", images, poisoned, labels, flipped)


def digits_clean() -> Scenario:
    """The digits as scikit-learn ships them: nothing flipped."""
    images, labels = digits()
    return Scenario("clean", images, labels.copy(), labels, np.zeros(0, dtype=np.int64))


def save_npz(path: Path, features: np.ndarray, labels: np.ndarray) -> Path:
    """Save ``X`` and ``y`` the way a riskframe ``npz`` dataset artifact reads them (byte-reproducible)."""
    return write_npz(Path(path), {"X": features, "y": labels})


def _check_share(share: float) -> None:
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be in [0, 1]; got {share}")
