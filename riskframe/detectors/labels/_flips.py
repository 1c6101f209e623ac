"""Deciding whether labels were flipped on purpose, which, and how many, beyond the data's own noise.

:mod:`riskframe.detectors.labels._natural` models the labels' natural noise on each dataset and tests
two departures from it: flips spread over all classes and a targeted class pair. This module runs
the tests in order and keeps what they support:

1. Candidates: spread flips, and the pairs with the largest score statistic at the natural model
   (the pair a 7 -> 1 attack creates stands out long before it is significant).
2. Forward selection: the most significant candidate is accepted when its Bonferroni-adjusted
   p-value is below ``alpha``; the others are then retested with it in the model (a targeted pair
   also raises the spread statistic, and must not be counted twice). At most ``max_components``.
3. The accepted components are fitted together; each gets a profile-likelihood interval, and every
   sample its posterior probability of having been flipped. The flagged samples: the labels the
   accepted components act on, as many as maximise the expected F1 under the fit.
4. The review list: the flagged samples, then the labels most likely flipped. On data whose
   classes overlap, flips a test cannot tell from the data's own noise are still among the least
   plausible labels; a person can look at them. A free fit of spread flips (no test) gives every
   label a probability of having been flipped; the list is as long as maximises its expected F1
   under that fit, when that F1 is at least one half. Below it the fit cannot say which labels are
   wrong, and the list is the labels cleanlab's low-normalized-margin filter finds implausible
   under the natural model. The list is never evidence: the verdict reads only the tests.

The estimate of the poisoned count is the accepted components' weight times the samples they act
on (a pair: the expected size of its true class; spread: every sample), with the sum of their
intervals. Nothing accepted means no evidence of poisoning, not "no poisoning": the detection
limits say what the test could have seen.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from riskframe.detectors.labels._detection_limits import Limits, detection_limits
from riskframe.detectors.labels._natural import (
    Component,
    Evidence,
    Fit,
    Natural,
    fit_components,
    fit_natural,
    group_counts,
    in_mixed_groups,
    pair_candidates,
    profile_interval,
    ratio_test,
    responsibilities,
)
from riskframe.detectors.labels._scale import stratified_sample


@dataclass(frozen=True)
class FlipSettings:
    """Thresholds of the decision; see :class:`riskframe.detectors.labels.label_issues.LabelIssues.Params`."""

    alpha: float = 0.001
    # An unconfirmed candidate's samples are shown for review when its adjusted p-value is below
    # this: 1 means "stands out more than chance alone would make the largest of the statistics"
    # (its Bonferroni bound is under 1), which keeps clean digits at zero flags.
    review_alpha: float = 1.0
    allowance: float = 0.005
    natural_flips: int = 1
    candidates: int = 5
    max_components: int = 3
    # Rows the natural model is calibrated and tested on (a seeded stratified sample beyond that;
    # every row is still scored): see riskframe.detectors.labels._scale. None: every row.
    tested_rows: int | None = None
    seed: int = 0
    # Threads a round's candidates are tested on, from PARALLEL_TEST_ROWS tested rows (numpy's work
    # on that many rows releases the interpreter lock; on fewer, threads only take turns with it).
    workers: int = 1


PARALLEL_TEST_ROWS = 20_000
# The review list follows the free flip fit when the fit expects its list to be more right than
# wrong (expected F1 at least this). On the 92 injected cases of benchmarks/real_data.py that rule
# raised the list's mean F1 from 0.534 (cleanlab's list always) to 0.541; the fit's list whatever
# it expects scored less than cleanlab's: where the fit sees no flips, its list is a handful of rows.
REVIEW_MIN_EXPECTED_F1 = 0.5


@dataclass(frozen=True)
class Review:
    """How the review list beyond the flagged labels was chosen."""

    method: str  # "flip-fit" or "cleanlab"
    expected_f1: float  # of the flip fit's best list, under the fit


@dataclass(frozen=True)
class ComponentFinding:
    """An accepted departure from the natural model."""

    component: Component
    weight: float  # pair: share of the true class relabelled; spread: share of the dataset
    low: float
    high: float
    statistic: float
    p_value: float
    at_risk: float  # samples the weight applies to

    @property
    def flips(self) -> float:
        return self.weight * self.at_risk


@dataclass(frozen=True)
class FlipFindings:
    """Everything the decision produced; indices are positions in the analysed arrays."""

    scores: np.ndarray  # implausibility of each given label under the natural model, 1 = worst
    suggested: np.ndarray  # most likely other class
    flip_probability: np.ndarray  # posterior probability each label was flipped
    flagged: np.ndarray  # the components' likeliest flips (see _candidates), most likely first
    review: np.ndarray  # flagged first, then the other labels most likely flipped
    review_by: Review  # how the labels after the flagged ones were chosen
    components: list[ComponentFinding]  # accepted; or, when none is, the strongest candidate
    confirmed: bool  # the components are significant evidence (False: unconfirmed suspects)
    temperature: float
    ambiguous: int  # rows in groups of identical rows with mixed labels: never evidence
    observed_disagreement: float  # share of labels that are not the natural model's most likely class
    natural_disagreement: float  # share the natural model itself expects
    limits: Limits
    class_sizes: np.ndarray
    allowances: tuple[float, np.ndarray]
    natural: Natural  # the natural model of the rows that are evidence
    estimate: float
    low: float
    high: float
    notes: list[str] = field(default_factory=list)

    @property
    def targeted(self) -> list[ComponentFinding]:
        return [c for c in self.components if c.component.pair is not None]

    @property
    def spread(self) -> ComponentFinding | None:
        return next((c for c in self.components if c.component.pair is None), None)

    def discarded(self, keep_review: bool) -> FlipFindings:
        """These findings with nothing flagged or found: for data the models learnt nothing from,
        where no pattern in the labels is evidence. ``keep_review`` keeps the list of labels to
        review: raw cleanlab lists labels there too, and on seven small held-out datasets whose
        models learnt nothing the kept list found injected flips as well as cleanlab's (F1 0.24
        against 0.23)."""
        from dataclasses import replace

        empty = np.zeros(0, dtype=np.int64)
        return replace(self, components=[], confirmed=False, flagged=empty,
                       review=self.review if keep_review else empty, estimate=0.0, low=0.0,
                       high=0.0, flip_probability=np.zeros_like(self.flip_probability))

    @property
    def pattern(self) -> str:
        """``targeted``, ``spread``, ``targeted+spread`` or ``none``."""
        parts = (["targeted"] if self.targeted else []) + (["spread"] if self.spread else [])
        return "+".join(parts) or "none"


def analyse_flips(labels: np.ndarray, probs: np.ndarray, settings: FlipSettings,
                  groups: np.ndarray | None = None) -> FlipFindings:
    """Fit the natural model to out-of-fold ``probs`` (N, K), test, flag and estimate.

    Parameters
    ----------
    labels : numpy.ndarray
        (N,) class codes 0..K-1.
    probs : numpy.ndarray
        (N, K) out-of-fold probabilities.
    settings : FlipSettings
        Significance level and natural-noise allowance.
    groups : numpy.ndarray, optional
        (N,) ids of identical rows (see :func:`riskframe.detectors.labels._natural.group_counts`).
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped,unused-ignore]

    with threadpool_limits(limits=1):  # tiny fits: multi-threaded BLAS only spin-waits (4x slower)
        return _analyse(labels, probs, settings, groups)


def _analyse(labels: np.ndarray, probs: np.ndarray, settings: FlipSettings,
             groups: np.ndarray | None) -> FlipFindings:
    k = probs.shape[1]
    sample = _tested_sample(labels, settings)
    everything = fit_natural(probs, labels, group_counts(groups, labels, k), sample)
    evidential = ~in_mixed_groups(everything.counts, labels.size)
    natural = everything.subset(evidential, _one_vote_per_group(groups, labels.size))
    # The rows the tests see: every row that is evidence, or those of the sample.
    tested = natural if sample is None else natural.subset(np.isin(np.flatnonzero(evidential), sample),
                                                           natural.weights)
    tests = components_tested(k)
    # With fewer than two classes among the rows that are evidence (every row ambiguous, say),
    # nothing can be tested and nothing seen.
    judged = np.unique(tested.labels).size >= 2
    allowances = _allowances(tested, settings) if judged else (0.5, np.full(k, 0.5))
    accepted, strongest = _select(tested, settings, tests, allowances) if judged else ({}, None)
    # The detection limits need only the tested rows: on a large sample they are computed on a
    # thread of their own while the steps below run on one (started after the tests, which use
    # every worker).
    limits = _started(settings.workers > 1 and tested.labels.size >= PARALLEL_TEST_ROWS,
                      _limits, tested, settings, tests, allowances, judged)
    shown = accepted
    if (not accepted and strongest is not None and strongest.p_value < settings.review_alpha
            and strongest.weight > _allowance(strongest.component, allowances)):
        # Nothing is evidence, but something leans that way: its samples are the ones to look at.
        shown = {strongest.component: (strongest.statistic, strongest.p_value)}
    fit = fit_components(tested, list(shown))
    q = natural.probs(fit.temperature)
    sizes = q.sum(axis=0)
    components = [_finding(tested, fit, c, shown[c], sizes, natural.labels.size) for c in shown]
    flip_probability = np.zeros(labels.size)
    if shown:
        flip_probability[evidential] = responsibilities(q, natural.labels, fit.weights)
    natural_probs = everything.probs()
    scores, suggested = _implausibility(natural_probs, labels)
    q_all = q if evidential.all() else everything.probs(fit.temperature)
    confirmed = bool(accepted)
    estimate = sum(c.flips for c in components) if confirmed else 0.0
    candidates = _candidates(labels, q_all, evidential, components, flip_probability, scores)
    flagged = candidates[:int(np.argmax(_expected_f1(0.0, 0, candidates, flip_probability)))]
    review, review_by = _review(labels, natural_probs, flagged, scores, sample,
                                _flip_posterior(everything, labels, sample) if judged else None)
    return FlipFindings(
        scores=scores,
        suggested=_suggested(q_all, labels, components, suggested),
        flip_probability=flip_probability,
        flagged=flagged,
        review=review,
        review_by=review_by,
        components=components,
        confirmed=confirmed,
        temperature=everything.temperature,
        ambiguous=int((~evidential).sum()),
        observed_disagreement=float(np.mean(natural_probs.argmax(axis=1) != labels)),
        natural_disagreement=float(np.mean(1.0 - natural_probs.max(axis=1))),
        limits=limits(),
        allowances=allowances,
        natural=tested,
        class_sizes=np.bincount(labels, minlength=k).astype(float),
        estimate=float(estimate),
        low=float(sum(c.low * c.at_risk for c in components)) if confirmed else 0.0,
        high=float(sum(c.high * c.at_risk for c in components)) if confirmed else 0.0,
    )


def _started(beside: bool, task: Callable[..., Limits], *args: Any) -> Callable[[], Limits]:
    """What waits for ``task(*args)``: started now on a thread of its own when ``beside``, else run
    when waited for."""
    if not beside:
        return partial(task, *args)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="label-limits")
    soon = pool.submit(task, *args)
    pool.shutdown(wait=False)  # the thread ends with its task
    return soon.result


def _limits(tested: Natural, settings: FlipSettings, tests: int, allowances: tuple[float, np.ndarray],
            judged: bool) -> Limits:
    """The detection limits, counted on the rows where a flip stays evidence: rows alone in their
    group. A flipped row of a group of identical rows, or of one declared entity, mixes the
    group's labels, and a mixed group is ambiguity, never tested (a brand-choice panel whose
    households buy 4 times each hides nearly every flip that way)."""
    alone = tested.weights == 1.0
    k = tested.n_classes
    if not judged or np.unique(tested.labels[alone]).size < 2:
        return Limits(float("inf"), np.full((k, k), np.inf))
    visible = tested if alone.all() else tested.subset(alone, tested.weights)
    return detection_limits(visible, settings.alpha, tests, allowances)


def components_tested(k: int) -> int:
    """The components the tests run over among ``k`` classes, for Bonferroni: spread flips and
    every ordered class pair."""
    return 1 + k * (k - 1)


def _tested_sample(labels: np.ndarray, settings: FlipSettings) -> np.ndarray | None:
    """Indices of the rows the natural model is fitted and tested on; None: every row."""
    if settings.tested_rows is None or labels.size <= settings.tested_rows:
        return None
    return stratified_sample(np.arange(labels.size), labels, settings.tested_rows, settings.seed)


def _select(natural: Natural, settings: FlipSettings, tests: int,
            allowances: tuple[float, np.ndarray]) -> tuple[dict[Component, tuple[float, float]], Evidence | None]:
    """Forward selection; the accepted components with (statistic, p-value), and the best rejected.

    A round's candidates are independent tests: on a large sample they run on ``settings.workers``
    threads, with the same results."""
    candidates = [Component(None), *pair_candidates(natural, settings.candidates)]
    accepted: dict[Component, tuple[float, float]] = {}
    strongest = None
    threads = settings.workers if natural.labels.size >= PARALLEL_TEST_ROWS else 1
    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="label-tests") as pool:
        while candidates and len(accepted) < settings.max_components:
            fitted = {c: 0.0 for c in accepted}
            n = len(candidates)
            results = list(pool.map(ratio_test, [natural] * n, candidates,
                                    [_allowance(c, allowances) for c in candidates], [fitted] * n, [tests] * n))
            best = min(results, key=lambda t: (t.p_value, -t.statistic))
            if best.p_value >= settings.alpha:
                strongest = best
                break
            accepted[best.component] = (best.statistic, best.p_value)
            candidates.remove(best.component)
    return accepted, strongest


def _one_vote_per_group(groups: np.ndarray | None, size: int) -> np.ndarray:
    """Each row's weight as evidence: 1 / the size of its group of identical rows (copies of one
    row are one observation, however many there are)."""
    if groups is None:
        return np.ones(size)
    _, codes, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    return 1.0 / sizes[codes.ravel()]


def _allowances(natural: Natural, settings: FlipSettings) -> tuple[float, np.ndarray]:
    """What natural annotation noise may account for: ``allowance`` of the samples at risk, and
    never fewer than ``natural_flips`` samples. (spread, per true class)."""
    sizes = np.maximum(natural.probs().sum(axis=0), 1.0)
    spread = max(settings.allowance, settings.natural_flips / natural.labels.size)
    return min(spread, 0.5), np.minimum(np.maximum(settings.allowance, settings.natural_flips / sizes), 0.5)


def _allowance(component: Component, allowances: tuple[float, np.ndarray]) -> float:
    return allowances[0] if component.pair is None else float(allowances[1][component.pair[0]])


def _finding(tested: Natural, fit: Fit, component: Component, test: tuple[float, float],
             sizes: np.ndarray, n_rows: int) -> ComponentFinding:
    """``component``'s weight and interval on the ``tested`` rows, acting on ``n_rows`` rows (spread) or
    on the expected ``sizes`` of the true classes over every row (a pair)."""
    low, high = profile_interval(tested, component, fit)
    at_risk = float(n_rows) if component.pair is None else float(sizes[component.pair[0]])
    return ComponentFinding(component, fit.weights[component], low, high, test[0], test[1], at_risk)


def _implausibility(q: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """cleanlab's normalized-margin label quality of the natural probabilities, turned so that
    1 = surely wrong, and the most likely other class."""
    from cleanlab.rank import get_normalized_margin_for_each_label

    # get_label_quality_scores(method="normalized_margin") without its checks of the inputs (ours;
    # on a million rows they took longer than the scores): the same numbers.
    quality = get_normalized_margin_for_each_label(labels, q)
    return 1.0 - quality, most_likely_other(q, labels)  # cleanlab: 1 = clean label; riskframe: 1 = worst


def most_likely_other(q: np.ndarray, labels: np.ndarray, chunk: int = 1_000_000) -> np.ndarray:
    """The most likely class other than each row's label, a slice of rows at a time (a copy of a
    10-million-row ``q`` would cost 400 MB).

    >>> most_likely_other(np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1]]), np.array([0, 1])).tolist()
    [1, 0]
    """
    out = np.empty(labels.size, dtype=np.int64)
    for start in range(0, labels.size, chunk):
        others = q[start:start + chunk].copy()
        others[np.arange(others.shape[0]), labels[start:start + chunk]] = -np.inf
        out[start:start + chunk] = others.argmax(axis=1)
    return out


def _suggested(q: np.ndarray, labels: np.ndarray, components: list[ComponentFinding],
               fallback: np.ndarray) -> np.ndarray:
    """The class a flipped label most likely came from: for a label ``b`` of an accepted pair
    a -> b, ``a`` when the pair explains it better than spread flips would; else the natural
    model's most likely other class."""
    suggested = fallback.copy()
    best_mass = np.zeros(labels.size)
    spread = next((c.weight for c in components if c.component.pair is None), 0.0)
    k = q.shape[1]
    for finding in components:
        if finding.component.pair is None:
            continue
        a, b = finding.component.pair
        mass = np.where(labels == b, finding.weight * q[:, a], 0.0)
        wins = (mass > best_mass) & (mass >= spread * (1.0 - q[np.arange(labels.size), labels]) / (k - 1))
        suggested[wins], best_mass[wins] = a, mass[wins]
    return np.asarray(suggested)


def _candidates(labels: np.ndarray, q: np.ndarray, evidential: np.ndarray, components: list[ComponentFinding],
                flip_probability: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The labels the components may have flipped, most likely flipped first: of a pair a -> b,
    every label b the natural model finds less likely than a (its most likely other class); of
    spread flips, the labels more likely flipped than not. Never a row of a group of identical rows
    with mixed labels.

    The flagged samples are the first of them, as many as maximise the expected F1 under the fit's
    ``flip_probability`` (:func:`_expected_f1`): a pair's candidates reach far into its classes'
    overlap where the models are unsure (a computer-price panel with 250 flips: every candidate
    flagged, F1 0.53; the 205 the fit finds likely enough, F1 0.84). Spread flips' candidates are
    never cut: a posterior above one half is above half of any F1. Only the flagged are kept out
    of training when a pair is measured again (label_issues._purified): with every candidate kept
    out, mostly true labels of b where the classes overlap, the models' boundary moved and the
    panel's F1 fell to 0.77."""
    rows = np.arange(labels.size)
    suggested = most_likely_other(q, labels)
    mask = np.zeros(labels.size, dtype=bool)
    for finding in components:
        if finding.component.pair is not None:
            a, b = finding.component.pair
            mask |= (labels == b) & (suggested == a) & (q[:, a] > q[rows, labels])
        else:
            mask |= flip_probability > 0.5
    return _most_likely(mask & evidential, flip_probability, scores)


def _expected_f1(found_before: float, listed_before: int, ranked: np.ndarray, posterior: np.ndarray) -> np.ndarray:
    """The expected F1, under ``posterior``, of ``listed_before`` labels expected to hold
    ``found_before`` flips followed by the first m of ``ranked``, for m = 0 .. len(ranked): twice
    the flips it is expected to hold over its length plus the expected number of flips (the
    posteriors' sum). An empty list scores 0.

    >>> _expected_f1(0.0, 0, np.array([0, 1]), np.array([0.9, 0.1])).round(2).tolist()
    [0.0, 0.9, 0.67]
    """
    found = found_before + np.concatenate([[0.0], np.cumsum(posterior[ranked])])
    listed = listed_before + np.arange(ranked.size + 1)
    return np.asarray(np.where(listed > 0, 2.0 * found / np.maximum(listed + posterior.sum(), 1e-12), 0.0))


def _flip_posterior(everything: Natural, labels: np.ndarray, sample: np.ndarray | None,
                    chunk: int = 1_000_000) -> np.ndarray:
    """Every label's probability of having been flipped under a free fit of spread flips: no test,
    no allowance; for the review list only, so every row counts, one vote each (the tests' evidence
    leaves out rows their twins contradict and counts a group once: fitted on those, the fit missed
    the flips of a brand-choice panel). Fitted on the tested ``sample`` of a large dataset; then a
    slice of rows at a time (each slice's probabilities are copied three times).

    Spread flips only: with the likeliest pair beside them the fit scored higher on the datasets
    the rule was developed on (review F1 0.552 against 0.541), but where that pair was not the
    flipped one its list missed nearly every flip (a melanoma dataset it was not developed on: 0.49
    with cleanlab's list, 0.00), and on seven such datasets it scored below cleanlab's list (0.296
    against 0.332); spread flips alone scored 0.334 there."""
    if sample is None:
        fitted_on = everything
    else:
        in_sample = np.zeros(labels.size, dtype=bool)
        in_sample[sample] = True
        fitted_on = everything.subset(in_sample)
    fit = fit_components(fitted_on, [Component(None)])
    posterior = np.empty(labels.size)
    for start in range(0, labels.size, chunk):
        rows = slice(start, start + chunk)
        posterior[rows] = responsibilities(everything.probs_of(rows, fit.temperature), labels[rows], fit.weights)
    return posterior


def _review(labels: np.ndarray, natural_probs: np.ndarray, flagged: np.ndarray, scores: np.ndarray,
            sample: np.ndarray | None, posterior: np.ndarray | None) -> tuple[np.ndarray, Review]:
    """``flagged``, then the labels most likely flipped: as many as maximise the list's expected F1
    under the free flip fit's ``posterior``, when that is at least :data:`REVIEW_MIN_EXPECTED_F1`;
    else :func:`_implausible`'s.

    A label lengthens the best list (:func:`_expected_f1`) only if its posterior is above half the
    list's F1, so only posteriors above a quarter can be in a list whose F1 is one half or more:
    the rest are never sorted. Where the fit expects less than one half, it cannot tell which
    labels are wrong (the flips look like the data's own overlap) and the longer cleanlab list
    finds more of them. Every analysed row counts, a row identical to rows with other labels too:
    never evidence of poisoning, but a label its own twins contradict is worth a look.

    >>> labels, flagged = np.array([0, 1, 1, 0]), np.array([], dtype=np.int64)
    >>> _review(labels, None, flagged, None, None, np.array([0.9, 0.8, 0.1, 0.2]))  # doctest: +ELLIPSIS
    (array([0, 1]), Review(method='flip-fit', expected_f1=0.8...))
    """
    expected = 0.0
    if posterior is not None:
        candidate = posterior > REVIEW_MIN_EXPECTED_F1 / 2
        candidate[flagged] = False
        ranked = np.flatnonzero(candidate)
        ranked = ranked[np.argsort(-posterior[ranked], kind="stable")]
        f1 = _expected_f1(float(posterior[flagged].sum()), flagged.size, ranked, posterior)
        best = int(np.argmax(f1))
        expected = float(f1[best])
        if expected >= REVIEW_MIN_EXPECTED_F1:
            return np.concatenate([flagged, ranked[:best]]).astype(np.int64), Review("flip-fit", expected)
    return _implausible(labels, natural_probs, flagged, scores, sample), Review("cleanlab", expected)


def _implausible(labels: np.ndarray, natural_probs: np.ndarray, flagged: np.ndarray, scores: np.ndarray,
                 sample: np.ndarray | None) -> np.ndarray:
    """``flagged``, then the labels cleanlab's low-normalized-margin filter finds implausible under the
    natural model, least plausible first.

    On the public datasets of benchmarks/real_data.py this filter, on the natural model's
    probabilities, found injected flips more precisely than cleanlab's default (prune by noise
    rate) on the same or on raw logistic-regression probabilities.

    The filter keeps, of each given class, the labels of lowest normalized margin (``scores``), as
    many as its estimate of that class's issues. Above the tested ``sample`` (a large dataset) it
    runs on the sample, whose copies of the probabilities stay small, and each class's cut-off in
    ``scores`` applies to every row.
    """
    from cleanlab.filter import find_label_issues

    tested_labels, tested_probs = (labels, natural_probs) if sample is None else (labels[sample], natural_probs[sample])
    if np.unique(tested_labels).size < 2:
        return flagged
    implausible = np.flatnonzero(find_label_issues(tested_labels, tested_probs, filter_by="low_normalized_margin",
                                                   n_jobs=1))
    if sample is not None:  # each class's cut-off in the sample, applied to every row
        cut = np.full(natural_probs.shape[1], np.inf)
        np.minimum.at(cut, labels[sample[implausible]], scores[sample[implausible]])
        implausible = np.flatnonzero(scores >= cut[labels])
    others = np.setdiff1d(implausible, flagged)
    return np.concatenate([flagged, others[np.argsort(-scores[others], kind="stable")]]).astype(np.int64)


def _most_likely(mask: np.ndarray, probability: np.ndarray, scores: np.ndarray) -> np.ndarray:
    indices = np.flatnonzero(mask)
    return indices[np.lexsort((-scores[indices], -probability[indices]))]

