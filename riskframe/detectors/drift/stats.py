"""Two-sample tests on counts, effect sizes and multiple-testing corrections: pure functions.

Every comparison riskframe makes between a reference profile and new data is a 2 x k table of
counts: reference and new rows over the same cells (a numeric column's reference-decile bins, a
categorical column's values, the classes). One test serves them all:

- **Pearson's chi-squared test of homogeneity** on the table, after pooling cells whose expected
  count is under 5 (adjacent bins for ordered cells, the rarest values together for categories), so
  the chi-squared approximation holds at every sample size. It accounts for the noise of both
  samples, which a test against the reference treated as exact would not (and would false-alarm
  when the new sample is as large as the reference).
- **Cohen's w** as the effect size, ``w = sqrt(sum((p_new - p_ref)^2 / p))`` with ``p`` the pooled
  proportions: the statistic is ``X^2 = n_eff w^2`` with ``n_eff = n_ref n_new / (n_ref + n_new)``,
  so ``w`` is estimated without the upward bias of small samples as ``sqrt(max(0, X^2 - df) / n_eff)``
  and the smallest ``w`` the data can see is exact (noncentral chi-squared). For a numeric column
  binned at the reference deciles, a shift of the mean by ``d`` standard deviations of a normal
  column gives ``w`` of ``0.98 d`` for small shifts (``0.95 d`` at 0.5 sd): ``w = 0.1`` is a
  0.1-sd shift. PSI over the same cells is about ``w^2`` for small shifts (PSI 0.1, "moderate",
  is about w = 0.3).

Counts are all these functions need, so data read in chunks can be counted chunk by chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

MIN_EXPECTED = 5.0  # the usual rule for the chi-squared approximation of a contingency table
POWER = 0.8  # the detection limit is the effect found with this probability
_PSI_FLOOR = 1e-4  # proportions of empty cells in PSI's logarithm, as Evidently and most PSI code do

Correction = Literal["holm", "bh"]


@dataclass(frozen=True)
class Comparison:
    """One reference-vs-new comparison of counts."""

    statistic: float
    df: int
    p_value: float
    effect: float  # Cohen's w, bias-corrected
    n_reference: int
    n_new: int
    psi: float

    @property
    def n_eff(self) -> float:
        total = self.n_reference + self.n_new
        return self.n_reference * self.n_new / total if total else 0.0


def compare_counts(reference: np.ndarray, new: np.ndarray, *, ordered: bool) -> Comparison:
    """Chi-squared test of homogeneity and Cohen's w of two count vectors over the same cells.

    Parameters
    ----------
    reference, new
        Counts per cell (same length, non-negative).
    ordered
        Cells are ordered bins (pool neighbours) rather than categories (pool the rarest).

    Examples
    --------
    >>> c = compare_counts(np.array([500, 500]), np.array([400, 600]), ordered=False)
    >>> round(c.p_value, 6), round(c.effect, 3)
    (7e-06, 0.196)
    """
    from scipy.stats import chi2

    reference, new = np.asarray(reference, dtype=np.float64), np.asarray(new, dtype=np.float64)
    n_ref, n_new = float(reference.sum()), float(new.sum())
    psi = population_stability_index(reference, new)
    if n_ref == 0 or n_new == 0:
        return Comparison(0.0, 0, 1.0, 0.0, int(n_ref), int(n_new), psi)
    groups = pool_cells(reference + new, min(n_ref, n_new) / (n_ref + n_new), ordered=ordered)
    ref = np.array([reference[g].sum() for g in groups])
    cur = np.array([new[g].sum() for g in groups])
    df = len(groups) - 1
    if df < 1:
        return Comparison(0.0, 0, 1.0, 0.0, int(n_ref), int(n_new), psi)
    total = ref + cur
    expected_ref, expected_new = total * n_ref / (n_ref + n_new), total * n_new / (n_ref + n_new)
    statistic = float(((ref - expected_ref) ** 2 / expected_ref).sum()
                      + ((cur - expected_new) ** 2 / expected_new).sum())
    n_eff = n_ref * n_new / (n_ref + n_new)
    effect = float(np.sqrt(max(0.0, statistic - df) / n_eff))
    return Comparison(statistic, df, float(chi2.sf(statistic, df)), effect, int(n_ref), int(n_new), psi)


def pool_cells(totals: np.ndarray, smaller_share: float, *, ordered: bool) -> list[np.ndarray]:
    """Groups of cell indices whose expected count in the smaller sample reaches :data:`MIN_EXPECTED`.

    The expected count of a cell in the smaller sample is ``totals[cell] * smaller_share``; pooling
    depends on the pooled totals only, which are the same whichever sample drifted, so it does not
    bias the test. Empty cells are dropped.
    """
    need = MIN_EXPECTED / smaller_share if smaller_share > 0 else np.inf
    cells = np.flatnonzero(totals > 0)
    if ordered:
        groups: list[list[int]] = []
        running = 0.0
        current: list[int] = []
        for cell in cells:
            current.append(int(cell))
            running += totals[cell]
            if running >= need:
                groups.append(current)
                current, running = [], 0.0
        if current:  # a short tail joins the last full group
            if groups:
                groups[-1].extend(current)
            else:
                groups.append(current)
        return [np.array(g) for g in groups]
    large = [int(c) for c in cells if totals[c] >= need]
    small = [int(c) for c in cells if totals[c] < need]
    result = [[c] for c in large]
    if small:
        if totals[small].sum() >= need or not result:
            result.append(small)
        else:  # the rare values together are still too few: they join the smallest regular cell
            smallest = min(range(len(result)), key=lambda i: totals[result[i]].sum())
            result[smallest] = result[smallest] + small
    return [np.array(g) for g in result]


def population_stability_index(reference: np.ndarray, new: np.ndarray) -> float:
    """PSI over the cells, empty proportions floored at 1e-4 (reported, not tested)."""
    n_ref, n_new = float(np.sum(reference)), float(np.sum(new))
    if n_ref == 0 or n_new == 0:
        return 0.0
    p = np.maximum(np.asarray(reference) / n_ref, _PSI_FLOOR)
    q = np.maximum(np.asarray(new) / n_new, _PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def detectable_effect(n_reference: int, n_new: int, df: int, level: float, power: float = POWER) -> float:
    """The smallest Cohen's w a chi-squared test with ``df`` degrees of freedom at ``level`` finds with
    probability ``power``, given the two sample sizes (inf when a sample is empty).

    Examples
    --------
    >>> round(detectable_effect(10_000, 10_000, 9, 0.05), 3)
    0.056
    """
    from scipy.optimize import brentq
    from scipy.stats import chi2, ncx2

    if n_reference <= 0 or n_new <= 0 or df < 1:
        return float("inf")
    critical = chi2.isf(level, df)
    # The noncentrality lambda = n_eff w^2 at which the test reaches the power; monotone in lambda.
    upper = 10.0
    while ncx2.sf(critical, df, upper) < power:
        upper *= 2
    noncentrality = brentq(lambda lam: ncx2.sf(critical, df, lam) - power, 1e-9, upper, xtol=1e-6)
    n_eff = n_reference * n_new / (n_reference + n_new)
    return float(np.sqrt(noncentrality / n_eff))


def adjust_p_values(p_values: np.ndarray, method: Correction) -> np.ndarray:
    """P-values adjusted for multiple testing: Holm (family-wise error) or Benjamini-Hochberg (false
    discovery rate; scipy's). A test is significant at ``alpha`` when its adjusted p-value is at
    most ``alpha``.

    Holm is written here because scipy has no Holm step-down (statsmodels does, a dependency
    riskframe does not otherwise need); it is valid under any dependence between the tests.

    Examples
    --------
    >>> adjust_p_values(np.array([0.01, 0.04, 0.03]), "holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    from scipy.stats import false_discovery_control

    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        return p
    if method == "bh":
        return np.asarray(false_discovery_control(p, method="bh"), dtype=np.float64)
    order = np.argsort(p, kind="stable")
    scaled = (p.size - np.arange(p.size)) * p[order]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return adjusted
