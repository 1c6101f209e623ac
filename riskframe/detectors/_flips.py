"""Deciding which samples were relabelled on purpose, and how many, from out-of-fold probabilities.

Why not flag every sample the model disagrees with: every real dataset carries *natural*
confusions (a thin 8 that looks like a 1), and confident learning counts them as label issues.
cleanlab by hand therefore over-flags (F1 0.67-0.76 on the digits scenarios) and its noise
estimate overshoots small poisoning rates. Poisoning differs from natural confusion in two ways
this module tests for:

1. **Concentration.** A targeted attack relabels one class as another: its suspects pile up in
   one (given, suggested) pair, far above the background rate of the other pairs. Such a pair is
   *targeted* when its count of strong suspects is significant under a Poisson model of the
   background (Bonferroni over all pairs) and large (at least ``min_pair_share`` of the class
   the samples really belong to). Every sample of a targeted pair whose suggested class beats
   its given label (score > 0.5) is flagged.
2. **Excess.** Indiscriminate flips spread over all pairs, like natural confusion, but exceed the
   rate careful annotation leaves (``natural_noise_rate``). Strong suspects outside targeted
   pairs are flagged only when their count is significantly above that floor; otherwise they are
   reported as background label issues, not as poisoning.

The estimate of the poisoned count subtracts, per component, the count natural confusion
explains: for a targeted pair, the background rate of suspects in other pairs scaled to the
pair's class; for the spread component, the natural floor. That subtraction is the calibration:
it removes the overshoot raw confident learning shows at small rates (0.0082 for a true 0.0050)
because it counts natural confusions as noise. Flips the ensemble cannot tell from their new
class are missed by the flags and the estimate alike (0-2% of the flips on the digits scenarios).

The interval is a bootstrap over samples: the counts are resampled and the excess test of the
spread component is re-made on each resample (the targeted pairs are held fixed), so it also
covers the chance that the spread component is or is not judged elevated. Its upper end is
widened by any background excess that was not attributed to poisoning. It describes the
sampling uncertainty of the counts, not the variation from refitting the models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BOOTSTRAP_REPLICATES = 500


@dataclass(frozen=True)
class FlipSettings:
    """Thresholds of the decision; see :class:`riskframe.detectors.label_issues.LabelIssues.Params`."""

    min_score: float = 0.75
    natural_noise_rate: float = 0.003
    min_pair_share: float = 0.03
    alpha: float = 0.001


@dataclass(frozen=True)
class PairFinding:
    """One (given -> suggested) class pair, in class codes."""

    given: int
    suggested: int
    count: int  # suspects in the pair (score > 0.5)
    strong: int  # of which strong (score > min_score)
    expected: float  # suspects natural confusion explains in this pair
    share_of_class: float  # count / samples of the suggested class before relabelling
    p_value: float
    targeted: bool


@dataclass(frozen=True)
class FlipFindings:
    """Everything the decision produced; indices are positions in the analysed arrays."""

    scores: np.ndarray
    suggested: np.ndarray
    flagged: np.ndarray  # most suspicious first
    pairs: list[PairFinding]
    background_count: int
    natural_floor: float
    background_p_value: float
    background_elevated: bool
    background_indices: np.ndarray  # strong suspects outside targeted pairs, most suspicious first
    estimate: float  # poisoned samples
    low: float
    high: float
    notes: list[str] = field(default_factory=list)

    @property
    def targeted(self) -> list[PairFinding]:
        return [p for p in self.pairs if p.targeted]

    @property
    def pattern(self) -> str:
        """``targeted``, ``spread``, ``targeted+spread`` or ``none``."""
        parts = (["targeted"] if self.targeted else []) + (["spread"] if self.background_elevated else [])
        return "+".join(parts) or "none"


def flip_scores(labels: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample suspicion (1 = surely flipped) and the suggested class (best other than given)."""
    from cleanlab.rank import get_label_quality_scores

    quality = get_label_quality_scores(labels, probs, method="normalized_margin")
    scores = 1.0 - quality  # cleanlab: 1 = clean label; riskframe: 1 = worst
    others = probs.copy()
    others[np.arange(labels.size), labels] = -np.inf
    return scores, others.argmax(axis=1)


def analyse_flips(labels: np.ndarray, probs: np.ndarray, settings: FlipSettings, seed: int = 0) -> FlipFindings:
    """Score every sample, find targeted pairs and excess noise, flag, and estimate the count.

    Parameters
    ----------
    labels : numpy.ndarray
        (N,) class codes 0..K-1.
    probs : numpy.ndarray
        (N, K) out-of-fold probabilities.
    settings : FlipSettings
        Decision thresholds.
    seed : int
        Seeds the bootstrap.
    """
    from cleanlab.filter import find_label_issues

    n, k = probs.shape
    scores, suggested = flip_scores(labels, probs)
    # Suspects: the ensemble's most likely class is not the given label (score >= 0.5).
    suspect = find_label_issues(labels, probs, filter_by="predicted_neq_given", n_jobs=1)
    strong = scores > settings.min_score
    pairs = _pairs(labels, suggested, suspect, strong, k, settings)
    in_targeted = _members_of(labels, suggested, suspect, [p for p in pairs if p.targeted])
    background = strong & ~in_targeted
    floor = settings.natural_noise_rate * n
    p_background = _poisson_sf(int(background.sum()), floor)
    elevated = p_background < settings.alpha
    flagged_mask = in_targeted | (background & elevated)
    estimate, low, high = _estimate_with_interval(labels, suggested, suspect, strong, pairs, floor, k, settings, seed)
    return FlipFindings(
        scores=scores,
        suggested=suggested,
        flagged=_most_suspicious(flagged_mask, scores),
        pairs=pairs,
        background_count=int(background.sum()),
        natural_floor=floor,
        background_p_value=p_background,
        background_elevated=bool(elevated),
        background_indices=_most_suspicious(background & ~flagged_mask, scores),
        estimate=estimate,
        low=low,
        high=high,
    )


def _pairs(
    labels: np.ndarray, suggested: np.ndarray, suspect: np.ndarray, strong: np.ndarray, k: int, settings: FlipSettings
) -> list[PairFinding]:
    counts = _pair_matrix(labels[suspect], suggested[suspect], k)
    strong_counts = _pair_matrix(labels[strong], suggested[strong], k)
    class_sizes = np.bincount(labels, minlength=k)
    n_pairs = k * (k - 1)
    # Samples of the suggested class before relabelling: those labelled it plus those it lost.
    source_sizes = class_sizes + counts.sum(axis=0)
    found = []
    for given, sugg in zip(*np.nonzero(counts), strict=True):
        strong_here = int(strong_counts[given, sugg])
        expected_strong = _background_rate(strong_counts, given, sugg, class_sizes, k)
        p_value = _poisson_sf(strong_here, expected_strong)
        share = float(counts[given, sugg] / source_sizes[sugg])
        targeted = p_value < settings.alpha / n_pairs and strong_here / source_sizes[sugg] >= settings.min_pair_share
        found.append(
            PairFinding(
                int(given), int(sugg), int(counts[given, sugg]), strong_here, 0.0, share, p_value, bool(targeted)
            )
        )
    targeted_set = {(p.given, p.suggested) for p in found if p.targeted}
    background_counts = counts.copy()
    for given, sugg in targeted_set:
        background_counts[given, sugg] = 0
    found = [_with_expected(p, background_counts, class_sizes, k) for p in found]
    return sorted(found, key=lambda p: (-p.targeted, -p.count, p.given, p.suggested))


def _with_expected(pair: PairFinding, background: np.ndarray, class_sizes: np.ndarray, k: int) -> PairFinding:
    expected = _background_rate(background, pair.given, pair.suggested, class_sizes, k)
    return PairFinding(
        pair.given, pair.suggested, pair.count, pair.strong, expected, pair.share_of_class, pair.p_value, pair.targeted
    )


def _background_rate(counts: np.ndarray, given: int, sugg: int, class_sizes: np.ndarray, k: int) -> float:
    """Suspects expected in pair (given, sugg) from the other pairs: their rate per sample,
    times the samples of class ``given``, spread evenly over its k-1 possible suggestions."""
    others = counts.sum() - counts[given, sugg]
    per_sample = others / max(class_sizes.sum(), 1)
    return float(per_sample * class_sizes[given] / (k - 1))


def _pair_matrix(given: np.ndarray, suggested: np.ndarray, k: int) -> np.ndarray:
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (given, suggested), 1)
    return matrix


def _members_of(labels: np.ndarray, suggested: np.ndarray, suspect: np.ndarray, pairs: list[PairFinding]) -> np.ndarray:
    mask = np.zeros(labels.size, dtype=bool)
    for pair in pairs:
        mask |= suspect & (labels == pair.given) & (suggested == pair.suggested)
    return mask


def _most_suspicious(mask: np.ndarray, scores: np.ndarray) -> np.ndarray:
    indices = np.flatnonzero(mask)
    return indices[np.argsort(-scores[indices], kind="stable")]


def _poisson_sf(count: int, mean: float) -> float:
    """P(X >= count) for X ~ Poisson(mean)."""
    if count <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    from scipy.stats import poisson

    return float(poisson.sf(count - 1, mean))


def _poisson_sf_many(counts: np.ndarray, mean: float) -> np.ndarray:
    """:func:`_poisson_sf` over an array of counts."""
    if mean <= 0:
        return np.where(counts > 0, 0.0, 1.0)
    from scipy.stats import poisson

    return np.asarray(poisson.sf(counts - 1, mean), dtype=float)


def _estimate_with_interval(
    labels: np.ndarray,
    suggested: np.ndarray,
    suspect: np.ndarray,
    strong: np.ndarray,
    pairs: list[PairFinding],
    floor: float,
    k: int,
    settings: FlipSettings,
    seed: int,
) -> tuple[float, float, float]:
    targeted = [p for p in pairs if p.targeted]
    # Each sample falls in one category: a targeted pair, a strong or a weak background suspect, or
    # none. A bootstrap over samples is then a multinomial draw of the category counts (constant
    # memory, however many samples).
    in_pairs = [suspect & (labels == p.given) & (suggested == p.suggested) for p in targeted]
    in_targeted = np.logical_or.reduce(in_pairs) if in_pairs else np.zeros(labels.size, dtype=bool)
    categories = [*in_pairs, strong & ~in_targeted, suspect & ~strong & ~in_targeted]
    counts = np.array([int(c.sum()) for c in categories])
    class_share = np.array([np.mean(labels == p.given) for p in targeted])

    def estimate(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pair_counts, strong_bg = counts[:, :-2], counts[:, -2]
        suspect_bg = strong_bg + counts[:, -1]
        expected = suspect_bg[:, None] * class_share[None, :] / max(k - 1, 1)
        from_pairs = np.clip(pair_counts - expected, 0, None).sum(axis=1)
        excess = np.clip(strong_bg - floor, 0, None)
        elevated = _poisson_sf_many(strong_bg, floor) < settings.alpha
        return from_pairs + np.where(elevated, excess, 0.0), np.where(elevated, 0.0, excess)

    point, unattributed = estimate(counts[None, :])
    shares = np.append(counts, labels.size - counts.sum()) / labels.size
    draws = np.random.default_rng(seed).multinomial(labels.size, shares, size=BOOTSTRAP_REPLICATES)[:, :-1]
    replicates, _ = estimate(draws)
    low, high = np.percentile(replicates, [2.5, 97.5])
    point_value = float(point[0])
    return point_value, float(min(low, point_value)), float(max(high, point_value + unattributed[0]))
