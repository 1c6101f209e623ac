"""When a label or backdoor screen cannot vouch for data: agreement with chance, label copies,
duplicate rows, representations that predict nothing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from riskframe import scenarios
from riskframe.detectors.labels.vouch import (
    Agreement,
    agreement,
    duplicate_groups,
    entity_numbers,
    fold_groups,
    joined_groups,
    label_copies,
    representation_doubt,
    row_numbers,
)


def _probs(predicted: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[predicted]


def test_chance_agreement_is_a_doubt_and_real_agreement_is_not():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 2_000)
    assert agreement(labels, _probs(rng.integers(0, 10, 2_000), 10)).doubt(0.001).startswith(
        "The models learnt nothing")
    right = np.where(rng.random(2_000) < 0.95, labels, (labels + 1) % 10)
    assert agreement(labels, _probs(right, 10)).doubt(0.001) == ""


def test_guessing_the_majority_class_is_no_learning():
    labels = np.array([0] * 900 + [1] * 100)
    agreed = agreement(labels, _probs(np.zeros(1_000, dtype=int), 2))
    assert (agreed.accuracy, agreed.majority) == (0.9, 0.9)
    assert agreed.doubt(0.001).startswith("The models learnt nothing")


def test_a_model_that_finds_a_small_class_learnt_something_though_less_accurate_than_the_majority():
    """One class to twenty: finding 15 of the 20 small-class rows, with 20 false alarms, is 94.0%
    accurate against 95.2% for always guessing the large class, and plainly not chance."""
    labels = np.array([0] * 400 + [1] * 20)
    predicted = np.zeros(420, dtype=int)
    predicted[400:415] = 1
    predicted[:20] = 1
    agreed = agreement(labels, _probs(predicted, 2))
    assert (round(agreed.accuracy, 3), round(agreed.majority, 3)) == (0.940, 0.952)
    assert agreed.doubt(0.001) == ""


def test_probabilities_that_rank_a_class_never_predicted_learnt_something():
    """Models of a choice among unequal options may never predict the small one, yet give its rows
    more probability of it than the others'; their argmax alone would say they learnt nothing."""
    rng = np.random.default_rng(0)
    labels = np.array([0] * 900 + [1] * 100)
    small = np.where(labels == 1, rng.uniform(0.2, 0.45, 1_000), rng.uniform(0.05, 0.3, 1_000))
    agreed = agreement(labels, np.column_stack([1 - small, small]))
    assert agreed.accuracy == agreed.majority == 0.9
    assert agreed.doubt(0.001) == ""


def test_two_classes_are_one_test_not_two():
    """Each row's two probabilities sum to one: the second class's tests are the first's, and
    counting them twice would halve the test's power."""
    from scipy.stats import ks_2samp, mannwhitneyu

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    first = np.clip(0.5 + 0.08 * (labels == 0) + rng.normal(0, 0.2, 300), 0, 1)
    agreed = agreement(labels, np.column_stack([first, 1 - first]))
    mine, others = first[labels == 0], first[labels == 1]
    p_values = (mannwhitneyu(mine, others, alternative="greater").pvalue,
                ks_2samp(mine, others, alternative="less").pvalue)
    assert 0.001 < min(p_values) < 0.25
    assert agreed.p_value == pytest.approx(2 * min(p_values))


def test_a_class_flooded_with_flips_still_shows_the_models_learnt():
    """Flips poured into a small class: its 35 true rows the models are fairly sure of, 57 flips they
    find less likely to be in it than the other class's 414 rows (as on Boston's Charles River
    dummy). As a whole the class's rows lean no way (Mann-Whitney); the part the models are sure
    of is plain in the distribution (Kolmogorov-Smirnov)."""
    from scipy.stats import mannwhitneyu

    small = np.concatenate([np.linspace(0.05, 0.30, 414), np.linspace(0.25, 0.40, 35), np.linspace(0.04, 0.16, 57)])
    labels = np.array([0] * 414 + [1] * 92)
    assert mannwhitneyu(small[labels == 1], small[labels == 0], alternative="greater").pvalue > 0.5
    agreed = agreement(labels, np.column_stack([1 - small, small]))
    assert agreed.p_value < 0.001 and agreed.doubt(0.01) == ""


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(4, 80), st.integers(2, 5))
def test_agreement_is_a_p_value_that_naming_the_classes_differently_leaves_alone(seed, n, k):
    """Whatever the labels and probabilities: a p-value in [0, 1], the same when the classes are
    renumbered (the probabilities' columns with them)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    probs = rng.dirichlet(np.ones(k), n)
    probs[np.arange(n), labels] += rng.uniform(0, 1) * rng.random(n)  # some agreement, or little
    probs /= probs.sum(axis=1, keepdims=True)
    order = rng.permutation(k)
    renamed = np.empty(k, dtype=np.int64)
    renamed[order] = np.arange(k)
    p_value = agreement(labels, probs).p_value
    assert 0.0 <= p_value <= 1.0
    assert agreement(renamed[labels], probs[:, order]).p_value == pytest.approx(p_value, rel=1e-9, abs=1e-12)


def test_disagreement_alone_is_no_doubt():
    """Overlapping classes disagree with any model; the label screen measures that overlap."""
    assert Agreement(0.55, 0.1, 1e-30).doubt(0.001) == ""


def test_label_copies_are_columns_that_determine_the_label():
    labels = np.array([0, 1, 2, 1, 0, 2])
    features = np.column_stack([
        np.linspace(0, 1, 6),  # continuous, unique per row: not a copy
        labels * 10.0 + 3,  # a recoding of the label
        [0, 0, 1, 1, 0, 1],  # two values, but value 0 goes with labels 0 and 1
        np.ones(6),  # constant
    ])
    assert label_copies(features, labels) == [1]


def test_row_numbers_are_columns_that_count_the_rows_from_any_start():
    n = 5_000  # past the rows a column is first looked at
    count = np.arange(n, dtype=float)
    features = np.column_stack([
        count + 1,  # an R row name: 1, 2, 3, ...
        count * 2,  # a step of two: not a count of rows
        np.roll(count, 1),  # counts, but not from the first row
        np.where(count < 4_500, count, 0.0),  # counts for the first 4,500 rows only
        count + 1_000,  # an id counted from 1,000
    ])
    assert row_numbers(features) == [0, 4]
    assert row_numbers(features.astype(np.float32)) == [0, 4]
    assert row_numbers(features[:1]) == []  # one row numbers nothing


@given(arrays(np.float64, st.tuples(st.integers(2, 40), st.integers(0, 3)), elements=st.floats(-5, 5)),
       st.integers(-1_000, 1_000), st.data())
def test_a_row_count_is_found_wherever_it_stands_and_not_once_the_rows_are_shuffled(features, start, data):
    n = features.shape[0]
    position = data.draw(st.integers(0, features.shape[1]))
    counted = np.insert(features, position, start + np.arange(n), axis=1)
    assert position in row_numbers(counted)
    order = data.draw(st.permutations(range(n)))
    if list(order) != list(range(n)):
        assert position not in row_numbers(counted[list(order)])


def test_entity_numbers_are_sorted_ids_of_entities_with_several_rows():
    patients = np.repeat(np.arange(1.0, 31.0), 2)  # two rows per patient, numbered from 1
    n = patients.size
    features = np.column_stack([
        patients,
        patients - 1,  # numbered from 0
        patients + 17,  # numbered from 18, like ages in a table sorted by age
        np.repeat(np.arange(1.0, 16.0), 4),  # 15 entities: too few to tell from a sorted feature
        np.arange(1.0, n + 1),  # a row number, each row its own: row_numbers' business
        patients[::-1],  # decreasing
        patients + 0.5,  # not whole numbers
        np.repeat(np.arange(1.0, 61.0, 2.0), 2),  # every other number missing
        np.repeat(np.arange(1.0, 5.0), n // 4),  # 15 rows a number
    ])
    assert entity_numbers(features) == [0, 1]
    assert entity_numbers(features.astype(np.float32)) == [0, 1]
    assert entity_numbers(features[:1]) == []


def test_an_entity_number_is_read_down_the_whole_column():
    """The first rows of a column are only a first look: a column that stops counting past them
    is no entity number."""
    households = np.repeat(np.arange(1.0, 2_501.0), 2)  # 5,000 rows, past the first look
    broken = households.copy()
    broken[4_500:] = 0.0
    assert entity_numbers(np.column_stack([households, broken])) == [0]


@given(st.lists(st.integers(1, 6), min_size=20, max_size=40), st.integers(0, 1), st.integers(0, 2), st.data())
def test_an_entity_number_is_found_wherever_it_stands_and_not_once_the_rows_are_reversed(runs, start, others,
                                                                                         data):
    runs[0] = max(runs[0], 2)  # some entity has two rows or more
    ids = np.repeat(start + np.arange(len(runs), dtype=float), runs)
    rng = np.random.default_rng(len(runs))
    features = rng.normal(size=(ids.size, others))
    position = data.draw(st.integers(0, others))
    numbered = np.insert(features, position, ids, axis=1)
    assert position in entity_numbers(numbered)
    assert position not in entity_numbers(numbered[::-1])


@settings(deadline=None)  # the first example pays numpy's first sort: a second on a loaded machine
@given(st.sampled_from([np.float64, np.float32]).flatmap(
    lambda dtype: arrays(dtype, st.tuples(st.integers(1, 30), st.integers(1, 4)),
                         elements=st.sampled_from([0.0, 1.0, 2.5]))))
def test_duplicate_groups_match_identical_rows(features):
    """float64 rows and float32 rows (features stored as float32 stay float32) alike."""
    groups = duplicate_groups(features)
    rows = [tuple(r) for r in features]
    if len(set(rows)) == len(rows):
        assert groups is None
    else:
        assert groups is not None
        for i in range(len(rows)):
            for j in range(len(rows)):
                assert (groups[i] == groups[j]) == (rows[i] == rows[j])


def test_a_group_too_large_for_a_fold_is_split_into_its_entities():
    """Two households that bought at the same prices are one joined group of 4 rows; with room for
    3 rows in a fold it goes back to the two households. The small group stays whole."""
    entities = np.array([0, 0, 1, 1, 2, 3])
    duplicates = np.array([0, 1, 1, 2, 3, 3])
    joined = joined_groups(duplicates, entities)
    assert joined is not None and np.unique(joined[:4]).size == 1 and joined[4] == joined[5]
    together = fold_groups(joined, entities, max_rows=3)
    assert together is not None
    assert together[0] == together[1] != together[2] == together[3]
    assert together[4] == together[5]


def test_without_entities_a_group_too_large_for_a_fold_is_split_into_rows():
    duplicates = np.array([0, 0, 0, 0, 1, 1])
    together = fold_groups(duplicates, None, max_rows=3)
    assert together is not None and np.unique(together[:4]).size == 4 and together[4] == together[5]
    assert fold_groups(duplicates, None, max_rows=4) is duplicates


def test_one_declared_entity_larger_than_a_fold_stays_whole():
    entities = np.array([0, 0, 0, 0, 1])
    assert fold_groups(entities, entities, max_rows=2) is entities


@given(st.lists(st.integers(0, 6), min_size=1, max_size=40).flatmap(
    lambda e: st.tuples(st.just(np.array(e)), arrays(np.int64, len(e), elements=st.integers(0, 6)),
                        st.integers(1, 12))))
def test_fold_groups_refine_the_joined_groups_and_never_split_an_entity(case):
    entities, duplicates, max_rows = case
    joined = joined_groups(duplicates, entities)
    together = fold_groups(joined, entities, max_rows)
    assert joined is not None and together is not None
    for group in np.unique(together):  # a fold group lies inside one joined group
        assert np.unique(joined[together == group]).size == 1
    for entity in np.unique(entities):  # an entity lies inside one fold group
        assert np.unique(together[entities == entity]).size == 1
    groups, sizes = np.unique(together, return_counts=True)
    for group, size in zip(groups, sizes, strict=True):  # larger than a fold only if one entity
        assert size <= max_rows or np.unique(entities[together == group]).size == 1


@pytest.mark.parametrize("kind", ["constant", "random", "rows shuffled"])
def test_representations_that_predict_nothing_are_a_doubt(kind):
    images, labels = scenarios.digits()
    features = images.reshape(labels.size, -1)
    rng = np.random.default_rng(0)
    broken = {"constant": np.ones_like(features), "random": rng.normal(size=(labels.size, 32)),
              "rows shuffled": features[rng.permutation(labels.size)]}[kind]
    assert representation_doubt(features, labels, seed=0) == ""
    assert representation_doubt(broken, labels, seed=0).startswith("The representations say nothing about the labels")
