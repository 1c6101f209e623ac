"""The natural-noise model, its tests, the flip decision and the detection limits: properties and
pinned cases on synthetic probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from riskframe.detectors.labels._detection_limits import detection_limits, expected_statistic
from riskframe.detectors.labels._flips import FlipSettings, analyse_flips
from riskframe.detectors.labels._natural import (
    Component,
    _LabelLikelihood,
    fit_natural,
    group_counts,
    in_mixed_groups,
    label_probs,
    ratio_test,
    responsibilities,
)


def probabilities(k: int) -> st.SearchStrategy[np.ndarray]:
    """(N, K) rows of positive probabilities summing to one."""
    raw = arrays(np.float64, st.tuples(st.integers(2, 40), st.just(k)), elements=st.floats(0.01, 1.0))
    return raw.map(lambda a: a / a.sum(axis=1, keepdims=True))


def components(k: int) -> st.SearchStrategy[dict[Component, float]]:
    pairs = st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)).filter(lambda p: p[0] != p[1])
    keys = st.one_of(st.just(Component(None)), pairs.map(Component))
    return st.dictionaries(keys, st.floats(0.0, 0.5), max_size=3)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6).flatmap(lambda k: st.tuples(probabilities(k), components(k))))
def test_flipped_label_distributions_stay_distributions(case):
    q, weights = case
    probs = label_probs(q, weights)
    assert np.all(probs >= -1e-12) and np.allclose(probs.sum(axis=1), 1.0)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6).flatmap(lambda k: st.tuples(probabilities(k), components(k), st.integers(0, 10**6))))
def test_responsibilities_are_probabilities_and_nothing_without_flips(case):
    q, weights, seed = case
    labels = np.random.default_rng(seed).integers(0, q.shape[1], q.shape[0])
    found = responsibilities(q, labels, weights)
    assert np.all((found >= 0.0) & (found <= 1.0))
    assert np.allclose(responsibilities(q, labels, {}), 0.0)


@settings(max_examples=40, deadline=None)
@given(arrays(np.int64, st.integers(1, 60), elements=st.integers(0, 5)), st.integers(0, 10**6))
def test_group_counts_see_only_groups_with_mixed_labels(groups, seed):
    labels = np.random.default_rng(seed).integers(0, 3, groups.size)
    counts = group_counts(groups, labels, 3)
    mixed = in_mixed_groups(counts, labels.size)
    for row in range(labels.size):
        same_group = groups == groups[row]
        assert mixed[row] == (np.unique(labels[same_group]).size > 1)
        if mixed[row]:
            expected = np.bincount(labels[same_group], minlength=3) - np.eye(3)[labels[row]]
            assert np.array_equal(counts[row], expected)


def confident(labels: np.ndarray, k: int, p: float = 0.97) -> np.ndarray:
    probs = np.full((labels.size, k), (1 - p) / (k - 1))
    probs[np.arange(labels.size), labels] = p
    return probs


def test_a_concentrated_pair_is_targeted_and_scattered_mistakes_are_not():
    labels = np.repeat(np.arange(10), 100)
    truth = labels.copy()
    flipped = np.flatnonzero(labels == 7)[:12]
    labels = labels.copy()
    labels[flipped] = 1  # true 7s labelled 1: the models see 7s
    scattered = [5, 205, 405]  # three single mistakes, each into a different class
    for i, other in zip(scattered, (6, 3, 9), strict=True):
        labels[i] = other
    findings = analyse_flips(labels, confident(truth, 10), FlipSettings())
    assert findings.confirmed and [c.component.pair for c in findings.targeted] == [(7, 1)]
    assert findings.pattern == "targeted"
    assert sorted(findings.flagged.tolist()) == flipped.tolist()
    (pair,) = findings.components
    assert pair.low < 12 / 100 < pair.high and abs(findings.estimate - 12) <= 1.5


def test_limits_count_only_rows_where_a_flip_would_stay_evidence():
    """A flipped row of a group (identical rows, one entity) mixes the group's labels and becomes
    ambiguity: where every row has a twin, no flip can be seen, and the limits say so."""
    labels = np.repeat(np.arange(3), 200)
    q = confident(labels, 3, p=0.9)
    alone = analyse_flips(labels, q, FlipSettings()).limits
    twins = analyse_flips(labels, q, FlipSettings(), groups=np.arange(labels.size) // 2).limits
    half = np.where(np.arange(labels.size) % 4 < 2, np.arange(labels.size) // 2, labels.size + np.arange(labels.size))
    some = analyse_flips(labels, q, FlipSettings(), groups=half).limits
    assert np.isfinite(alone.spread) and np.isfinite(alone.pairs[0, 1])
    assert np.isinf(twins.spread) and np.isinf(twins.pairs).all()
    assert alone.pairs[0, 1] < some.pairs[0, 1] and alone.spread < some.spread


def test_overlap_the_model_already_expects_is_no_finding():
    rng = np.random.default_rng(0)
    q = rng.dirichlet([2.0, 2.0], size=2_000)  # classes that overlap everywhere
    labels = (rng.random(2_000) < q[:, 1]).astype(int)  # labels drawn as the model says
    findings = analyse_flips(labels, q, FlipSettings())
    assert not findings.confirmed and findings.estimate == 0.0
    assert abs(findings.observed_disagreement - findings.natural_disagreement) < 0.03


def test_statistics_are_non_negative_and_p_values_probabilities():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 300)
    natural = fit_natural(rng.dirichlet([1.0] * 3, size=300), labels)
    for component in (Component(None), Component((0, 1)), Component((2, 0))):
        test = ratio_test(natural, component, 0.005, {}, 7)
        assert test.statistic >= 0.0 and 0.0 <= test.p_value <= 1.0 and 0.0 <= test.weight <= 0.5


def test_limits_grow_with_stricter_tests_and_more_overlap():
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(3), 200)
    sharp = fit_natural(confident(labels, 3, 0.99), labels)
    soft = fit_natural(confident(labels, 3, 0.8), np.where(rng.random(600) < 0.8, labels, (labels + 1) % 3))
    allowances = (0.005, np.full(3, 0.005))
    strict, loose = (detection_limits(sharp, alpha, 7, allowances) for alpha in (1e-6, 1e-2))
    assert strict.pairs[0, 1] >= loose.pairs[0, 1] and strict.spread >= loose.spread
    assert detection_limits(soft, 1e-3, 7, allowances).pairs[0, 1] > detection_limits(sharp, 1e-3, 7,
                                                                                        allowances).pairs[0, 1]
    assert np.all(np.isinf(np.diag(strict.pairs)))


@pytest.mark.parametrize("pair", [None, (0, 1)])
def test_the_expected_statistic_is_zero_at_the_allowance_and_grows_beyond(pair):
    labels = np.repeat(np.arange(2), 100)
    natural = fit_natural(confident(labels, 2, 0.95), labels)
    values = [expected_statistic(natural, pair, share, 0.01) for share in (0.01, 0.05, 0.2)]
    assert values[0] == 0.0 and 0.0 < values[1] < values[2]


def test_the_review_list_leads_with_the_flagged_and_a_sample_sets_the_same_cut_offs():
    rng = np.random.default_rng(1)
    q = rng.dirichlet([1.0, 1.0, 1.0], size=20_000)  # overlapping classes
    labels = np.array([rng.choice(3, p=row) for row in q])
    flipped = rng.choice(20_000, size=400, replace=False)
    labels[flipped] = (labels[flipped] + 1) % 3
    every = analyse_flips(labels, q, FlipSettings())
    sampled = analyse_flips(labels, q, FlipSettings(tested_rows=5_000))
    for findings in (every, sampled):
        assert findings.review[: findings.flagged.size].tolist() == findings.flagged.tolist()
        assert np.unique(findings.review).size == findings.review.size
    overlap = np.intersect1d(every.review, sampled.review).size / np.union1d(every.review, sampled.review).size
    assert overlap >= 0.8, overlap  # measured: 0.85 (the flagged rows and the per-class counts differ a little)


def test_the_review_list_follows_the_flip_fit_only_where_it_expects_to_be_more_right_than_wrong():
    rng = np.random.default_rng(2)
    classes = rng.integers(0, 3, size=3_000)
    alpha = np.full((3_000, 3), 0.5)
    alpha[np.arange(3_000), classes] = 12.0
    # The models are mostly sure, and mostly right. (Equally sure of every row, spread flips and a
    # higher temperature explain the labels equally well: the free fit could not tell them apart.)
    sure = np.array([rng.dirichlet(a) for a in alpha])
    labels = classes.copy()
    flipped = rng.choice(3_000, size=120, replace=False)
    labels[flipped] = (labels[flipped] + 1) % 3
    separable = analyse_flips(labels, sure, FlipSettings())
    assert separable.review_by.method == "flip-fit" and separable.review_by.expected_f1 > 0.9
    assert np.isin(flipped, separable.review).mean() > 0.95 and separable.review.size < 130

    q = rng.dirichlet([1.0, 1.0, 1.0], size=3_000)  # the models can hardly tell the classes apart
    labels = np.array([rng.choice(3, p=row) for row in q])
    labels[flipped] = (labels[flipped] + 1) % 3
    overlapping = analyse_flips(labels, q, FlipSettings())
    assert overlapping.review_by.method == "cleanlab" and overlapping.review_by.expected_f1 < 0.5


def test_a_pairs_flagged_labels_are_its_likeliest_candidates_not_every_label_its_class_is_likelier_for():
    rng = np.random.default_rng(0)
    n = 4_000
    classes = rng.integers(0, 2, size=n)
    p_true = np.where(rng.random(n) < 0.3, 0.55, 0.97)  # a third of the rows lie where the classes overlap
    q = np.empty((n, 2))
    q[np.arange(n), classes], q[np.arange(n), 1 - classes] = p_true, 1 - p_true
    labels = np.where(rng.random(n) < p_true, classes, 1 - classes)  # the data's own noise
    zeros = np.flatnonzero(labels == 0)
    flipped = rng.choice(zeros, size=int(0.12 * zeros.size), replace=False)
    labels[flipped] = 1
    findings = analyse_flips(labels, q, FlipSettings())
    assert [c.component.pair for c in findings.targeted] == [(0, 1)] and findings.confirmed

    candidates = np.flatnonzero((labels == 1) & (q[:, 0] > q[:, 1]))
    cut = np.setdiff1d(candidates, findings.flagged)
    assert np.isin(findings.flagged, candidates).all() and cut.size > 0
    assert findings.flip_probability[findings.flagged].min() > findings.flip_probability[cut].max()

    def f1(found: np.ndarray) -> float:
        return 2 * np.intersect1d(found, flipped).size / (found.size + flipped.size)

    assert f1(findings.flagged) > f1(candidates) + 0.1, (f1(findings.flagged), f1(candidates))  # measured: 0.74, 0.56


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.integers(1, 40), elements=st.floats(0.0, 1.0)), st.integers(0, 3))
def test_the_flip_fit_list_is_the_best_of_its_prefixes(posterior, n_flagged):
    from riskframe.detectors.labels._flips import REVIEW_MIN_EXPECTED_F1, _review

    flagged = np.arange(min(n_flagged, posterior.size - 1))
    labels = np.arange(posterior.size) % 2
    review, how = _review(labels, np.full((posterior.size, 2), 0.5), flagged, np.zeros(posterior.size), None,
                          posterior)
    # The flagged, then every prefix of the others by posterior, unpruned: the best expected F1 among them.
    others = np.setdiff1d(np.arange(posterior.size), flagged)
    ranked = others[np.argsort(-posterior[others], kind="stable")]
    found = posterior[flagged].sum() + np.concatenate([[0.0], np.cumsum(posterior[ranked])])
    listed = flagged.size + np.arange(ranked.size + 1)
    best = max(2 * f / (m + posterior.sum()) for f, m in zip(found, listed, strict=True) if m)
    if best >= REVIEW_MIN_EXPECTED_F1:
        assert how.method == "flip-fit" and how.expected_f1 == pytest.approx(best)
        assert review[: flagged.size].tolist() == flagged.tolist()
    else:
        assert how.method == "cleanlab"


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6).flatmap(lambda k: st.tuples(probabilities(k), components(k), st.integers(0, 10**6),
                                                     st.booleans())))
def test_the_fitted_likelihood_and_its_gradient_are_those_of_the_label_model(case):
    """The likelihood the tests maximise is that of label_probs on the calibrated probabilities,
    groups of identical rows and row weights included; its gradient, finite differences'."""
    q, weights, seed, grouped = case
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, q.shape[1], q.shape[0])
    groups = rng.integers(0, max(1, q.shape[0] // 2), q.shape[0]) if grouped else None
    natural = fit_natural(q, labels, group_counts(groups, labels, q.shape[1]))
    natural = natural.subset(np.ones(labels.size, dtype=bool), rng.uniform(0.2, 1.0, labels.size))
    free, fixed = list(weights)[: len(weights) // 2 + 1], dict(list(weights.items())[len(weights) // 2 + 1:])
    free = [c for c in free if c not in fixed]
    likelihood = _LabelLikelihood(natural, free, fixed)
    v = np.concatenate([[rng.uniform(-2.0, 1.5)], rng.uniform(-10.0, -0.5, len(free))])
    temperature, all_weights = likelihood.unpack(v)
    probs = label_probs(natural.probs(temperature), all_weights)[np.arange(labels.size), labels]
    value, gradient = likelihood(v)
    assert value == pytest.approx(-(natural.weights * np.log(np.clip(probs, 1e-300, None))).sum(), rel=1e-9)
    step = 1e-6
    numerical = [(likelihood(v + step * np.eye(v.size)[i])[0] - likelihood(v - step * np.eye(v.size)[i])[0])
                 / (2 * step) for i in range(v.size)]
    assert gradient == pytest.approx(numerical, rel=1e-4, abs=1e-4 * (1.0 + abs(value)))
