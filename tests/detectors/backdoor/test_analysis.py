"""The shared backdoor analysis (``_backdoor``): whitening, the relabel check, orientation, verdicts."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe.detectors.backdoor._analysis import Split, _judge, _oriented, analyse, class_spaces, relabel_agreement
from riskframe.detectors.backdoor.spectral_signatures import spectral_split

PARAMS = SimpleNamespace(
    method="robust", min_class_samples=10, neighbours=5, min_separation=4.0, min_relabel_agreement=0.85
)


def _blobs(seed: int = 0, per_class: int = 60, classes: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Well-separated input-space classes: class c sits at 10 * e_c."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), per_class)
    features = rng.normal(0, 1, (labels.size, classes)) + 10 * np.eye(classes)[labels]
    return features, labels


def test_the_relabel_check_names_the_class_a_relabelled_sample_comes_from():
    features, labels = _blobs()
    labels = labels.copy()
    labels[[60, 61, 62]] = 0  # three samples of class 1 relabelled 0

    agreement, relabel = relabel_agreement(features, labels, [0, 1, 2, 3], neighbours=5)
    assert agreement[[60, 61, 62]].tolist() == [1.0, 1.0, 1.0] and relabel[[60, 61, 62]].tolist() == [1, 1, 1]
    genuine = np.flatnonzero(labels == 0)[:60]
    assert agreement[genuine].min() >= 0.2  # forced among other classes, genuine 0s agree on nothing in particular


def test_robust_spaces_are_whitened_by_the_other_classes():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(3), 400)
    reps = rng.normal(0, 1, (1200, 3)) * [4.0, 1.0, 0.5]  # the same natural spread in every class
    spaces = class_spaces(reps, labels, [0, 1, 2], "robust")

    np.testing.assert_allclose(spaces[0].std(axis=0), 1.0, atol=0.1)  # unit variance in every direction
    np.testing.assert_allclose(class_spaces(reps, labels, [0, 1, 2], "standard")[0].mean(axis=0), 0.0, atol=1e-9)


def test_a_planted_backdoor_is_found_and_nothing_else():
    features, labels = _blobs(per_class=80)
    rng = np.random.default_rng(2)
    reps = rng.normal(0, 1, (labels.size, 6)) + 5 * np.eye(6)[labels]
    poisoned = np.arange(80, 110)  # 30 samples of class 1, relabelled 0, with a trigger feature
    labels = labels.copy()
    labels[poisoned] = 0
    reps[poisoned] = rng.normal(0, 0.5, (30, 6)) + 12 * np.eye(6)[5]  # a trigger feature

    findings = analyse(reps, features, labels, spectral_split, PARAMS, seed=0)
    assert [c.code for c in findings.targets] == [0]
    assert sorted(findings.flagged.tolist()) == poisoned.tolist()
    assert findings.sample_scores[poisoned].min() > 0.5
    assert all(c.class_score < 0.5 for c in findings.classes if c.code != 0)


def test_a_half_poisoned_class_keeps_the_relabelled_half_as_suspect():
    suspect = np.zeros(10, dtype=bool)
    suspect[:5] = True  # the splitter called the first half suspect
    split = Split(suspect, np.where(suspect, 0.9, 0.1), 6.0)
    agreement = np.array([0.5] * 5 + [1.0] * 5)  # but the second half looks like other classes

    oriented = _oriented(split, agreement)
    assert oriented.suspect.tolist() == [False] * 5 + [True] * 5
    np.testing.assert_allclose(oriented.scores, [0.1] * 5 + [0.9] * 5)


@settings(max_examples=60, deadline=None)
@given(separation=st.floats(0.0, 50.0), agreement=st.floats(0.0, 1.0), more=st.floats(0.0, 0.5))
def test_class_scores_stay_in_range_and_grow_with_the_evidence(separation, agreement, more):
    suspect = np.array([True] * 4 + [False] * 6)

    def verdict(sep, agr):
        return _judge(0, np.arange(10), Split(suspect, np.full(10, 0.5), sep), np.where(suspect, agr, 0.3), PARAMS)

    base = verdict(separation, agreement)
    assert 0.0 <= base.class_score <= 1.0
    assert verdict(separation + more * 10, agreement).class_score >= base.class_score
    assert verdict(separation, min(1.0, agreement + more)).class_score >= base.class_score
    if base.suspicious:  # both criteria, never one alone
        assert separation >= 4.0 - 1e-9 and agreement >= 0.85 - 1e-9 and base.class_score >= 0.5 - 1e-9
    if separation >= 4.01 and agreement >= 0.86:
        assert base.suspicious


def test_fewer_than_three_large_classes_cannot_be_judged():
    features, labels = _blobs(classes=3)
    labels = labels.copy()
    labels[labels == 2] = np.repeat([2, 3, 4], 20)
    from riskframe.errors import NotApplicableError

    with pytest.raises(NotApplicableError, match=r"2 qualify$"):
        analyse(
            features,
            features,
            labels,
            spectral_split,
            SimpleNamespace(**{**vars(PARAMS), "min_class_samples": 30}),
            seed=0,
        )
