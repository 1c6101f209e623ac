"""Whether the out-of-fold models learn a targeted flip on this dataset: tried, not assumed.

The detection limits (:mod:`riskframe.detectors.labels._detection_limits`) say what the test would
see if the models did not learn the flips they are trained on. Where the classes overlap they do:
a share of one class relabelled as another is, to a flexible model, one more relation between
features and labels that nothing in the features contradicts, and the more labels are flipped
the more of it they learn. On a survey of 6,366 rows whose two classes overlap almost everywhere,
12% of the larger class relabelled left no trace (fitted share 0) where the formula promised a
clear signal from 7% on; on another dataset a flip of 9% of a class was seen and one of 20% was not.

So the screen tries it: it relabels a share of the largest class as the second largest (twice
the limit the formula states for that pair, which it says the test sees almost surely, within
:data:`PROBE_SHARES`), fits the out-of-fold models again, and runs the pair's test. If that flip is
not seen, the formula's limits for class pairs say nothing on this data and the verdict says so;
if it is, the limits stand (the probe checks one pair at one share, not every pair at every
share). On a large dataset the probe runs on a stratified sample (:data:`PROBE_ROWS`): what the
models learn depends on the share, not on the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from riskframe.detectors.labels._detection_limits import Limits
from riskframe.detectors.labels._natural import Component, fit_natural, ratio_test
from riskframe.detectors.labels._scale import stratified_sample

PROBE_SHARES = (0.05, 0.25)  # the shares of the largest class relabelled, smallest and largest
PROBE_ROWS = 10_000  # rows the probe is fitted on (a seeded stratified sample beyond that)


@dataclass(frozen=True)
class Probe:
    """A targeted flip tried on the dataset, and whether the test saw it."""

    pair: tuple[int, int]  # class codes: the largest class, relabelled as the second largest
    share: float  # of the pair's true class
    statistic: float
    p_value: float  # Bonferroni-adjusted, as in the verdict's tests
    seen: bool

    def describe(self) -> dict[str, object]:
        return {"pair": list(self.pair), "share": round(self.share, 4), "statistic": round(self.statistic, 2),
                "p_value": float(f"{self.p_value:.3g}"), "seen": self.seen}


def probe_targeted_flip(labels: np.ndarray, limits: Limits, floors: np.ndarray, alpha: float, tests: int, seed: int,
                        refit: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Probe | None:
    """Relabel a share of the largest class as the second largest (twice the formula's limit for
    the pair, within :data:`PROBE_SHARES`), ``refit(rows, labels)`` the out-of-fold probabilities of
    ``rows`` on those labels, and test the pair at ``alpha`` over ``tests`` components above its
    natural allowance ``floors[a]``. None without two classes, or when the formula sees no flip
    of the pair at all."""
    sizes = np.bincount(labels)
    if np.count_nonzero(sizes) < 2:
        return None
    a, b = (int(c) for c in np.argsort(-sizes, kind="stable")[:2])
    if not np.isfinite(limits.pairs[a, b]):
        return None
    share = float(np.clip(2.0 * limits.pairs[a, b], *PROBE_SHARES))
    rows = stratified_sample(np.arange(labels.size), labels, PROBE_ROWS, seed)
    relabelled = labels[rows].copy()
    members = np.flatnonzero(relabelled == a)
    chosen = np.random.default_rng(seed).choice(members, size=max(1, round(share * members.size)), replace=False)
    relabelled[chosen] = b
    natural = fit_natural(refit(rows, relabelled), relabelled)
    evidence = ratio_test(natural, Component((a, b)), float(floors[a]), {}, tests)
    return Probe((a, b), share, evidence.statistic, evidence.p_value, evidence.p_value < alpha)
