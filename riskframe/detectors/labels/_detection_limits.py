"""The detection limit: the smallest flips the label tests would see on this dataset.

A test of a share ``s`` of flips against the natural-noise allowance ``f`` sees, on average, a
likelihood ratio of twice the Kullback-Leibler divergence between the labels drawn with ``s``
flipped and the closest natural model with ``f`` flipped (the temperature refitted: on data whose
classes overlap, a softer model explains part of any flip). The limit is the smallest share at
which that reaches the test's critical value plus the margin for 80% power. It assumes the models
do not learn the flips they are trained on; they partly do, most on data whose classes overlap,
and :mod:`riskframe.detectors.labels._absorption` tries whether they learn them on each dataset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from riskframe.detectors.labels._natural import Component, Natural, label_probs


@dataclass(frozen=True)
class Limits:
    """The smallest flips the tests see 8 times in 10 at their significance level.

    ``spread`` is a share of the dataset; ``pairs[a, b]`` a share of class ``a`` relabelled ``b``
    (``inf`` on the diagonal, and where no share up to one half would be seen).
    """

    spread: float
    pairs: np.ndarray


# Shares the limits are searched over: fine at small shares, where the limits of clean data lie.
LIMIT_GRID = np.concatenate([np.geomspace(1e-4, 0.05, 40), np.linspace(0.05, 0.5, 46)[1:]])
_LIMIT_ROWS = 20_000  # rows the expected statistics are computed on (a seeded sample beyond that)


def detection_limits(natural: Natural, alpha: float, tests: int, allowances: tuple[float, np.ndarray],
                     power: float = 0.8) -> Limits:
    """:class:`Limits` of the tests of :func:`riskframe.detectors.labels._natural.ratio_test` on this
    dataset, at significance ``alpha`` over ``tests`` components, each above its allowance
    (spread, per true class); see the module docstring."""
    from scipy.stats import norm

    reach = float(norm.isf(alpha / tests) + norm.ppf(power)) ** 2
    rows = _limit_rows(natural)
    k = natural.n_classes
    nuisance = _nuisance_shares(rows, allowances)
    pairs = np.full((k, k), np.inf)
    for a in range(k):
        floor = float(allowances[1][a])
        for b in range(k):
            if a != b:
                pairs[a, b] = _smallest_seen(_pair_statistic(rows, (a, b), floor, float(nuisance[a, b])), reach)
    spread = _smallest_seen(lambda s: expected_statistic(rows, None, s, allowances[0]), reach)
    return Limits(spread, pairs)


def _pair_statistic(natural: Natural, pair: tuple[int, int], floor: float, left: float) -> Callable[[float], float]:
    """The expected statistic of ``pair`` as a function of the share, ``left`` of it surviving the
    temperature refit."""
    return lambda share: left * expected_statistic(natural, pair, share, floor, refit=False)


def _smallest_seen(statistic: Callable[[float], float], reach: float) -> float:
    """The smallest share of :data:`LIMIT_GRID` whose expected statistic reaches ``reach``
    (bisection: the statistic grows with the share); ``inf`` when none does."""
    low, high = 0, LIMIT_GRID.size - 1
    if statistic(float(LIMIT_GRID[high])) < reach:
        return float("inf")
    while low < high:
        middle = (low + high) // 2
        if statistic(float(LIMIT_GRID[middle])) >= reach:
            high = middle
        else:
            low = middle + 1
    return float(LIMIT_GRID[low])


def _limit_rows(natural: Natural) -> Natural:
    """The rows the limits are computed on: a seeded sample of large datasets, its weights scaled
    up to the whole."""
    n = natural.labels.size
    if n <= _LIMIT_ROWS:
        return natural
    rows = np.zeros(n, dtype=bool)
    rows[np.random.default_rng(0).choice(n, size=_LIMIT_ROWS, replace=False)] = True
    return natural.subset(rows, natural.weights * (n / _LIMIT_ROWS))


def _nuisance_shares(natural: Natural, allowances: tuple[float, np.ndarray]) -> np.ndarray:
    """(K, K): the part of each pair's expected statistic left once the temperature is refitted.

    Measured at a share of 10% for the pairs of the largest class; every other class gets their
    median (refitting for every pair and share would cost K^2 fits for a correction that varies
    little across pairs).
    """
    k = natural.n_classes
    largest = int(np.argmax(np.bincount(natural.labels, weights=natural.weights, minlength=k)))
    floor = float(allowances[1][largest])
    left = np.ones(k)
    for b in range(k):
        if b != largest:
            fixed = expected_statistic(natural, (largest, b), 0.1, floor, refit=False)
            left[b] = expected_statistic(natural, (largest, b), 0.1, floor) / fixed if fixed > 0 else 1.0
    shares = np.full((k, k), float(np.median(np.delete(left, largest))))
    shares[largest] = left
    return shares


def expected_statistic(natural: Natural, pair: tuple[int, int] | None, share: float, floor: float,
                       refit: bool = True) -> float:
    """Twice the summed Kullback-Leibler divergence of the labels with ``share`` flipped from the
    natural labels with ``floor`` flipped at the closest temperature (``refit``) or at the fitted
    one: the likelihood ratio the test sees on average (0 at or below the floor)."""
    from scipy.optimize import minimize_scalar

    if share <= floor:
        return 0.0
    q = natural.probs()
    component = Component(pair)
    flipped = np.clip(label_probs(q, {component: share}), 1e-300, None)
    weights = natural.weights[:, None]

    def divergence(log_t: float) -> float:
        allowed = np.clip(label_probs(natural.probs(float(np.exp(log_t))), {component: floor}), 1e-300, None)
        return float(2.0 * (weights * flipped * np.log(flipped / allowed)).sum())

    at_fit = np.log(natural.temperature)
    if not refit:
        return divergence(at_fit)
    return float(minimize_scalar(divergence, bounds=(at_fit - 3.0, at_fit + 3.0), method="bounded",
                                 options={"xatol": 1e-3}).fun)


