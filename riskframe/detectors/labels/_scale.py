"""How ``label-issues`` keeps its cost bounded on large datasets, and says so.

The screen's verdict logic is the same at every size: out-of-fold probabilities for every row, the
natural-noise model, the two likelihood-ratio tests, the detection limits. What changes with size
is how much of the data each step looks at, and every change is in the result's ``method``
evidence (:meth:`Scale.describe`):

- **Members.** Models whose cost grows with the square of the rows (the kernel svm's fit, the
  k-nearest-neighbours' predictions: every row against every training row) leave the ensemble
  above :data:`riskframe.detectors.labels._oof.QUADRATIC_MAX_SAMPLES` rows.
- **Training rows.** Each member is fitted, in each fold, on at most ``train_rows`` rows of the
  training folds (a seeded sample stratified by label): a linear model of a hundred coefficients,
  or 30 rounds of boosted trees, has little left to learn from the rows beyond that. Every row is
  still predicted by models that never saw its label.
- **Folds.** Once each fold's training rows are a sample of ``train_rows``, more folds fit more
  models of that same size and learn nothing more: the screen fits the fewest folds whose training
  rows still hold the whole sample (two from ``2 * train_rows`` rows, three from ``1.5 *
  train_rows``), never more than asked (:meth:`Scale.folds`). Every row is still predicted by a
  model fitted on ``train_rows`` rows that never saw its label; only fewer such models are fitted.
- **Tested rows.** The natural model's temperature, the tests, the intervals and the detection
  limits are fitted on at most ``natural_rows`` rows (a seeded stratified sample); every row then
  gets its probability of having been flipped from that fit. The tests' power is that of the
  sample, which the stated detection limit reflects.
- **Folds at once.** The folds are fitted on ``workers`` threads (scikit-learn's fits release the
  interpreter lock); threads share the run's memory limit, where processes would each get it. By
  default, as many as the run's share of the cores: ``OMP_NUM_THREADS`` where it is set (the process
  and Dask executors set it to each worker's share: two runs on two cores get one each, not two
  threads fighting over each core), else every core the process may run on.

``benchmarks/scale.py`` runs the screen on both sides of each line and shows the verdicts agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

# Rows per fold each member is fitted on, and rows the natural model is tested on: enough that the
# verdicts agree with those on every row (benchmarks/scale.py --lines), few enough that a million
# rows cost less CPU than raw cleanlab's logistic regression on every row (benchmarks/README.md).
TRAIN_ROWS = 50_000
NATURAL_ROWS = 50_000


@dataclass(frozen=True)
class Scale:
    """What the screen looks at on a large dataset; ``None`` is no bound (every row)."""

    train_rows: int | None = TRAIN_ROWS
    natural_rows: int | None = NATURAL_ROWS
    workers: int | None = None  # folds fitted at once; None: this run's share of the cores
    fewest_folds: bool = True  # fewer folds once a sample fills their training rows (see folds())

    @property
    def threads(self) -> int:
        """Folds fitted at once: ``workers``; else the run's share of the cores, ``OMP_NUM_THREADS``
        when it is set to a number; else every core the process may run on."""
        if self.workers is not None:
            return max(1, self.workers)
        share = os.environ.get("OMP_NUM_THREADS", "").strip()
        if share.isdigit() and int(share) > 0:
            return int(share)
        affinity = getattr(os, "sched_getaffinity", None)
        return max(1, len(affinity(0)) if affinity is not None else (os.cpu_count() or 1))

    def folds(self, requested: int, n_rows: int) -> int:
        """The folds to fit on ``n_rows`` rows: the fewest (at least 2, at most ``requested``) whose
        training rows still hold a full sample of ``train_rows``.

        >>> Scale(train_rows=50_000).folds(5, 1_000_000), Scale(train_rows=50_000).folds(5, 80_000)
        (2, 3)
        """
        if self.train_rows is None or not self.fewest_folds:
            return requested
        return next((folds for folds in range(2, requested) if n_rows - n_rows // folds >= self.train_rows),
                    requested)

    def describe(self, n_rows: int, folds: int) -> dict[str, int | None]:
        """The bounds that applied to a dataset of ``n_rows`` rows (None where every row was used)."""
        training = n_rows - n_rows // folds
        return {
            "training_rows_per_fold": (self.train_rows if self.train_rows is not None and training > self.train_rows
                                       else None),
            "tested_rows": (self.natural_rows if self.natural_rows is not None and n_rows > self.natural_rows
                            else None),
        }


DEFAULT_SCALE = Scale()
EVERY_ROW = Scale(train_rows=None, natural_rows=None)


def stratified_sample(rows: np.ndarray, labels: np.ndarray, size: int | None, seed: int) -> np.ndarray:
    """At most ``size`` of ``rows`` (indices), each label's share kept, seeded; sorted.

    ``rows`` itself when it is no larger than ``size`` (or ``size`` is None).

    >>> stratified_sample(np.arange(10), np.array([0] * 8 + [1] * 2), 5, seed=0).size
    5
    """
    if size is None or rows.size <= size:
        return rows
    rng = np.random.default_rng(seed)
    of_rows = labels[rows]
    classes, counts = np.unique(of_rows, return_counts=True)
    # Largest remainders: each class its share of ``size``, the leftover to the largest fractions.
    exact = counts * (size / rows.size)
    quota = np.floor(exact).astype(np.int64)
    quota[np.argsort(quota - exact, kind="stable")[: size - int(quota.sum())]] += 1
    chosen = [rng.choice(rows[of_rows == c], size=int(q), replace=False) for c, q in zip(classes, quota, strict=True)]
    return np.sort(np.concatenate(chosen))
