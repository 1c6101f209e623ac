"""Screen a model for a backdoor on clean held-out images, and use the reversed trigger.

:func:`screen_model` splits the clean images into a small *search* set (Neural Cleanse optimises
on it) and a *holdout* set (the reversed trigger's attack success is measured on it, so that the
number is not flattered by the images it was fitted to). :func:`attack_success` measures any
trigger on any model; :func:`trigger_carriers` finds the training images whose label the trigger
alone explains.

>>> import numpy as np
>>> search, holdout = search_split(np.repeat(np.arange(3), 10), samples=6, seed=0)
>>> search.size, holdout.size, sorted(np.bincount(np.repeat(np.arange(3), 10)[search]).tolist())
(6, 24, [2, 2, 2])
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from riskframe.detectors.backdoor.models import predict_classes, predict_proba
from riskframe.detectors.backdoor.neural_cleanse import (
    CleanseResult,
    CleanseSettings,
    ReversedTrigger,
    apply_trigger,
    neural_cleanse,
)
from riskframe.detectors.shared import computed_once

CACHED_SCREENS = 8  # a screen holds a few small arrays besides the (shared, read-only) images
MIN_HOLDOUT = 20  # fewer held-out images than this: measure on the search images, and say so
CARRIER_MASK_SHARE = 0.1  # trigger pixels: mask values above this share of the mask's peak

_SCREENS: OrderedDict[tuple[Any, ...], Screen] = OrderedDict()
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Screen:
    """A model screened on clean images: the search result and the images it was measured on."""

    cleanse: CleanseResult
    images: np.ndarray
    labels: np.ndarray
    search: np.ndarray
    holdout: np.ndarray

    @property
    def held_out(self) -> bool:
        """Whether measurements use images the search did not see."""
        return not np.array_equal(self.search, self.holdout)

    @property
    def suspect(self) -> ReversedTrigger:
        """The flagged target's trigger, or the most anomalous class's when none is flagged."""
        label = self.cleanse.target if self.cleanse.target is not None else self.cleanse.most_anomalous
        return self.cleanse.triggers[label]

    def attack_success(self, model: Any, trigger: ReversedTrigger | None = None) -> float:
        """Share of held-out images of other classes that ``trigger`` (default: the suspect's)
        sends to its class on ``model``."""
        trigger = trigger or self.suspect
        rows = self.holdout
        return attack_success(model, self.images[rows], self.labels[rows], trigger)


def search_split(labels: np.ndarray, samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Class-balanced search indices (at most ``samples``) and the remaining holdout indices.

    Classes are drawn round-robin from seeded shuffles, so every class is represented even in a
    small search set. When fewer than :data:`MIN_HOLDOUT` images would remain, both sets are all
    the images.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    queues = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    depth = max(len(q) for q in queues)
    order = np.array([q[i] for i in range(depth) for q in queues if i < len(q)], dtype=np.int64)
    if labels.size - samples < MIN_HOLDOUT:
        everything = np.arange(labels.size)
        return everything, everything
    search = np.sort(order[:samples])
    return search, np.setdiff1d(np.arange(labels.size), search)


def screen_model(model: Any, images: np.ndarray, labels: np.ndarray, n_classes: int, samples: int,
                 settings: CleanseSettings, *, key: tuple[str, ...] | None = None,
                 shared: Path | None = None) -> Screen:
    """Run Neural Cleanse on a class-balanced search set of ``samples`` clean images.

    ``key`` identifies the model and the images by content (their files' sha256): a screen with
    the same key and settings is computed once per process, and once for all the worker processes
    that share the folder ``shared`` (a run's ``ctx.shared``). The search is deterministic for its
    seed, so ``trigger-reverse-engineering`` and ``backdoor-removed`` on the same model and data
    can share one search instead of repeating it.

    Examples
    --------
    >>> screen = screen_model(model, images, labels, 10, 128, CleanseSettings())  # doctest: +SKIP
    >>> screen.cleanse.target, round(screen.attack_success(model), 2)  # doctest: +SKIP
    (0, 0.99)
    """
    cache_key = None if key is None else (*key, n_classes, samples, settings)
    if cache_key is not None:
        with _LOCK:
            if cache_key in _SCREENS:
                _SCREENS.move_to_end(cache_key)
                return _SCREENS[cache_key]

    def search() -> Screen:
        chosen, holdout = search_split(labels, samples, settings.seed)
        cleanse = neural_cleanse(model, images[chosen], labels[chosen], n_classes, settings)
        return Screen(cleanse, np.asarray(images), np.asarray(labels), chosen, holdout)

    if cache_key is not None and shared is not None:
        screen = computed_once(shared, ("screen", *cache_key), search, _save_screen,
                               partial(_load_screen, images=images, labels=labels))
    else:
        screen = search()
    if cache_key is not None:
        with _LOCK:
            _SCREENS[cache_key] = screen
            while len(_SCREENS) > CACHED_SCREENS:
                _SCREENS.popitem(last=False)
    return screen


def _save_screen(screen: Screen, path: Path) -> None:
    triggers, cleanse = screen.cleanse.triggers, screen.cleanse
    np.savez(path, labels=[t.label for t in triggers], masks=np.stack([t.mask for t in triggers]),
             patterns=np.stack([t.pattern for t in triggers]), norms=[t.norm for t in triggers],
             success=[t.success for t in triggers], reached=[t.reached for t in triggers],
             indices=cleanse.indices, flagged=np.array(cleanse.flagged, dtype=np.int64),
             threshold=cleanse.threshold, search=screen.search, holdout=screen.holdout)


def _load_screen(path: Path, images: np.ndarray, labels: np.ndarray) -> Screen:
    with np.load(path, allow_pickle=False) as saved:
        triggers = [ReversedTrigger(int(label), mask, pattern, float(norm), float(success), bool(reached))
                    for label, mask, pattern, norm, success, reached in zip(
                        saved["labels"], saved["masks"], saved["patterns"], saved["norms"], saved["success"],
                        saved["reached"], strict=True)]
        cleanse = CleanseResult(triggers, saved["indices"], [int(c) for c in saved["flagged"]],
                                float(saved["threshold"]))
        return Screen(cleanse, np.asarray(images), np.asarray(labels), saved["search"], saved["holdout"])


def attack_success(model: Any, images: np.ndarray, labels: np.ndarray, trigger: ReversedTrigger) -> float:
    """Share of ``images`` not of class ``trigger.label`` that the model assigns to it once stamped.

    Returns 0.0 when every image is of the trigger's class.
    """
    others = np.asarray(labels) != trigger.label
    if not others.any():
        return 0.0
    stamped = apply_trigger(images[others], trigger.mask, trigger.pattern)
    return float(np.mean(predict_classes(model, stamped) == trigger.label))


def trigger_carriers(model: Any, images: np.ndarray, labels: np.ndarray, trigger: ReversedTrigger,
                     fill: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Training images labelled ``trigger.label`` that the model stops assigning to it once the
    trigger's pixels are painted over with ``fill`` (a clean image: the search set's median).

    A clean image of the class keeps its label without those few pixels; a poisoned one was given
    the label *because* of them. Returns the carriers' indices, most confident first, and their
    scores: how much of the model's probability for the label the painting took away (1 = all).

    Examples
    --------
    >>> fill = np.median(clean_images, axis=0)  # doctest: +SKIP
    >>> indices, scores = trigger_carriers(model, train_images, train_labels, trigger, fill)  # doctest: +SKIP
    """
    mask = (trigger.mask >= CARRIER_MASK_SHARE * float(trigger.mask.max())).astype(np.float64)
    candidates = np.flatnonzero(np.asarray(labels) == trigger.label)
    if candidates.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    before = predict_proba(model, images[candidates])
    after = predict_proba(model, apply_trigger(images[candidates], mask, fill))
    label = trigger.label
    carried = (before.argmax(axis=1) == label) & (after.argmax(axis=1) != label)
    drop = np.clip(before[:, label] - after[:, label], 0.0, 1.0)
    order = np.argsort(-drop, kind="stable")
    keep = order[carried[order]]
    return candidates[keep].astype(np.int64), drop[keep]
