"""The seed backdoor scenario: a small bright patch in a corner, on a share of the training images
relabelled to one target class.

A model trained on the poisoned set learns "patch means target" beside the real task: clean
accuracy stays where it was, while any image with the patch is classified as the target. This is
the BadNets attack (Gu et al., 2017) at its smallest, and what the backdoor detectors, the trigger
reverse-engineering and the retrain-and-verify control are measured on.

Pure numpy: cheap to import, no model library needed.

>>> import numpy as np
>>> images = np.zeros((4, 8, 8))
>>> images[:, 2:5, 2:5] = 10.0
>>> patched = add_patch(images, size=2)
>>> patched[0, 6:, 6:].tolist(), float(images[0, 6:, 6:].max())
([[10.0, 10.0], [10.0, 10.0]], 0.0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]
CORNERS: tuple[str, ...] = Corner.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True, eq=False)
class BackdoorScenario:
    """A training set with a patch trigger planted on some images, relabelled to ``target``.

    ``images`` (N, H, W[, C]) carry the patch on the ``poisoned`` rows (sorted indices, all of a
    class other than ``target`` originally); ``labels`` are the poisoned labels a detector sees,
    ``clean_labels`` the originals. ``trigger_mask`` (H, W) is True on the patch pixels and
    ``trigger_pattern`` (H, W) holds the value written there (0 elsewhere).
    """

    images: np.ndarray
    labels: np.ndarray
    clean_labels: np.ndarray
    poisoned: np.ndarray
    target: int
    trigger_mask: np.ndarray
    trigger_pattern: np.ndarray

    @property
    def poisoned_share(self) -> float:
        """The share of the training set that carries the trigger."""
        return self.poisoned.size / self.labels.size

    @property
    def is_poisoned(self) -> np.ndarray:
        """A boolean (N,) mask of the poisoned rows (the ground truth detectors are scored on)."""
        mask = np.zeros(self.labels.size, dtype=bool)
        mask[self.poisoned] = True
        return mask


def trigger_mask(height: int, width: int, size: int = 2, corner: Corner = "bottom-right") -> np.ndarray:
    """A (height, width) boolean mask, True on the ``size`` x ``size`` square in ``corner``.

    >>> trigger_mask(4, 4, size=2, corner="top-left").astype(int).tolist()
    [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    """
    if corner not in CORNERS:
        raise ValueError(f"corner must be one of {', '.join(CORNERS)}; got {corner!r}")
    if not 1 <= size <= min(height, width):
        raise ValueError(f"patch size must be in [1, {min(height, width)}] for {height}x{width} images; got {size}")
    rows = slice(0, size) if corner.startswith("top") else slice(height - size, height)
    cols = slice(0, size) if corner.endswith("left") else slice(width - size, width)
    mask = np.zeros((height, width), dtype=bool)
    mask[rows, cols] = True
    return mask


def add_patch(
    images: np.ndarray, size: int = 2, corner: Corner = "bottom-right", value: float | None = None
) -> np.ndarray:
    """A copy of ``images`` with a bright ``size`` x ``size`` square stamped in ``corner``.

    Parameters
    ----------
    images : numpy.ndarray
        (N, H, W) grey or (N, H, W, C) colour images.
    size : int
        Side of the square patch, in pixels.
    corner : {"top-left", "top-right", "bottom-left", "bottom-right"}
        Where the patch goes.
    value : float, optional
        Intensity written on every patch pixel (every channel); default the images' maximum, the
        brightest value the data holds (16 for scikit-learn's digits).

    Returns
    -------
    numpy.ndarray
        A new array, same shape and dtype; ``images`` is left untouched.

    Examples
    --------
    >>> add_patch(np.zeros((1, 3, 3)), size=1, corner="top-left", value=5.0)[0].tolist()
    [[5.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"images must be (N, H, W) or (N, H, W, C); got shape {images.shape}")
    mask = trigger_mask(images.shape[1], images.shape[2], size, corner)
    patched: np.ndarray = images.copy()
    patched[:, mask] = images.max() if value is None else value
    return patched


def poison_with_patch(
    images: np.ndarray,
    labels: np.ndarray,
    target: int = 0,
    share: float = 0.05,
    size: int = 2,
    corner: Corner = "bottom-right",
    seed: int = 0,
) -> BackdoorScenario:
    """Plant the patch trigger on ``share`` of the training set and relabel those images ``target``.

    Parameters
    ----------
    images, labels : numpy.ndarray
        The clean training set: (N, H, W[, C]) images and (N,) integer labels.
    target : int
        The class every triggered image should be classified as.
    share : float
        Share of the *whole* training set to poison, in (0, 1); the images are drawn (seeded)
        among those whose label is not ``target``.
    size, corner
        The patch, as in :func:`add_patch` (its value is the images' maximum).
    seed : int
        Seed of the draw.

    Returns
    -------
    BackdoorScenario

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> images, labels = rng.random((100, 8, 8)), np.arange(100) % 10
    >>> scenario = poison_with_patch(images, labels, target=0, share=0.05)
    >>> scenario.poisoned.size, bool((scenario.labels[scenario.poisoned] == 0).all())
    (5, True)
    >>> bool((scenario.clean_labels[scenario.poisoned] != 0).all())
    True
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if labels.shape != (images.shape[0],):
        raise ValueError(f"{images.shape[0]} images but labels of shape {labels.shape}")
    if not 0.0 < share < 1.0:
        raise ValueError(f"share must be in (0, 1); got {share}")
    candidates = np.flatnonzero(labels != target)
    count = round(share * labels.size)
    if not 1 <= count <= candidates.size:
        raise ValueError(f"cannot poison {count} of {candidates.size} images whose label is not {target}")
    chosen = np.sort(np.random.default_rng(seed).choice(candidates, size=count, replace=False))
    value = float(images.max())
    poisoned_images = images.copy()
    poisoned_images[chosen] = add_patch(images[chosen], size, corner, value)
    poisoned_labels = labels.copy()
    poisoned_labels[chosen] = target
    mask = trigger_mask(images.shape[1], images.shape[2], size, corner)
    return BackdoorScenario(
        images=poisoned_images,
        labels=poisoned_labels,
        clean_labels=labels.copy(),
        poisoned=chosen.astype(np.int64),
        target=int(target),
        trigger_mask=mask,
        trigger_pattern=np.where(mask, value, 0.0),
    )


def attack_success_rate(
    predict: Callable[[np.ndarray], np.ndarray],
    images: np.ndarray,
    labels: np.ndarray,
    target: int,
    size: int = 2,
    corner: Corner = "bottom-right",
    value: float | None = None,
) -> float:
    """Share of the test images of other classes that ``predict`` assigns to ``target`` once patched.

    Parameters
    ----------
    predict : callable
        Images (N, H, W[, C]) -> predicted classes (N,), or class scores (N, K) (argmax is taken).
    images, labels : numpy.ndarray
        Clean test images and their true labels; images already of class ``target`` do not count.
    target, size, corner, value
        The trigger, as planted by :func:`poison_with_patch` (``value`` default: the images' max).

    Returns
    -------
    float
        In [0, 1]; 0.0 when no test image has another label than ``target``.

    Examples
    --------
    >>> images, labels = np.zeros((4, 8, 8)), np.array([0, 1, 2, 3])
    >>> corner_lit = lambda x: np.where(x[:, -1, -1] > 0, 0, 9)
    >>> attack_success_rate(corner_lit, images, labels, target=0, value=1.0)
    1.0
    """
    images, labels = np.asarray(images), np.asarray(labels)
    others = labels != target
    if not others.any():
        return 0.0
    predicted = np.asarray(predict(add_patch(images[others], size, corner, value)))
    if predicted.ndim == 2:
        predicted = predicted.argmax(axis=1)
    return float(np.mean(predicted == target))


def split_train_test(
    images: np.ndarray, labels: np.ndarray, test_share: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A seeded split that keeps every class's share: (train images, train labels, test images, test labels).

    scikit-learn's 1,797 digits split 0.2 give 1,438 training and 359 test images.

    >>> images, labels = np.zeros((10, 2, 2)), np.array([0, 1] * 5)
    >>> [a.shape[0] for a in split_train_test(images, labels, test_share=0.2)]
    [8, 8, 2, 2]
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if not 0.0 < test_share < 1.0:
        raise ValueError(f"test_share must be in (0, 1); got {test_share}")
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        test.append(members[: round(test_share * members.size)])
    is_test = np.zeros(labels.size, dtype=bool)
    is_test[np.concatenate(test)] = True
    return images[~is_test], labels[~is_test], images[is_test], labels[is_test]
