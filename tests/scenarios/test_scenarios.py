"""Poisoned digits scenarios: the flips are what they claim, seeded, and round-trip through npz."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe import scenarios
from riskframe.data.datasets import load_dataset
from riskframe.spec.pipeline import Artifact


@pytest.fixture(scope="module")
def digit_labels() -> np.ndarray:
    return scenarios.digits()[1]


def test_digits_are_the_bundled_images():
    images, labels = scenarios.digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float64
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


@pytest.mark.parametrize(("share", "count"), [(0.05, 9), (0.10, 18), (0.25, 45), (0.0, 0), (1.0, 179)])
def test_targeted_flip_relabels_that_share_of_the_source_class(digit_labels, share, count):
    poisoned, flipped = scenarios.flip_targeted(digit_labels, source=7, target=1, share=share, seed=0)
    assert flipped.size == count
    assert np.all(digit_labels[flipped] == 7) and np.all(poisoned[flipped] == 1)
    unchanged = np.setdiff1d(np.arange(digit_labels.size), flipped)
    assert np.array_equal(poisoned[unchanged], digit_labels[unchanged])
    assert np.array_equal(flipped, np.sort(flipped))


def test_flips_are_seeded(digit_labels):
    first = scenarios.flip_targeted(digit_labels, 7, 1, 0.1, seed=4)[1]
    assert np.array_equal(first, scenarios.flip_targeted(digit_labels, 7, 1, 0.1, seed=4)[1])
    assert not np.array_equal(first, scenarios.flip_targeted(digit_labels, 7, 1, 0.1, seed=5)[1])
    assert np.array_equal(
        scenarios.flip_random(digit_labels, 0.03, seed=2)[0], scenarios.flip_random(digit_labels, 0.03, seed=2)[0]
    )


def test_flips_leave_the_input_untouched(digit_labels):
    before = digit_labels.copy()
    scenarios.flip_targeted(digit_labels, 7, 1, 0.5)
    scenarios.flip_random(digit_labels, 0.5)
    assert np.array_equal(digit_labels, before)


@settings(max_examples=60, deadline=None)
@given(n_classes=st.integers(2, 12), size=st.integers(1, 300), share=st.floats(0, 1), seed=st.integers(0, 2**32 - 1))
def test_random_flips_change_exactly_the_flipped_labels_to_another_class(n_classes, size, share, seed):
    labels = np.random.default_rng(seed).integers(0, n_classes, size=size)
    poisoned, flipped = scenarios.flip_random(labels, share, n_classes=n_classes, seed=seed)
    assert flipped.size == round(share * size)
    changed = np.flatnonzero(poisoned != labels)
    assert np.array_equal(changed, flipped)
    assert poisoned.min() >= 0 and poisoned.max() < n_classes


def test_random_flips_reach_every_other_class(digit_labels):
    poisoned, flipped = scenarios.flip_random(digit_labels, 1.0, n_classes=10, seed=0)
    sevens = flipped[digit_labels[flipped] == 7]
    assert set(poisoned[sevens].tolist()) == set(range(10)) - {7}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda y: scenarios.flip_targeted(y, 7, 7, 0.1), "source and target must differ; both are 7"),
        (lambda y: scenarios.flip_targeted(y, 11, 1, 0.1), "no sample has label 11"),
        (lambda y: scenarios.flip_targeted(y, 7, 1, 1.5), r"share must be in \[0, 1\]; got 1.5"),
        (lambda y: scenarios.flip_random(y, -0.1), r"share must be in \[0, 1\]; got -0.1"),
        (lambda y: scenarios.flip_random(np.zeros(5, dtype=int), 0.5), "random flips need at least two classes"),
    ],
)
def test_bad_arguments_are_refused(digit_labels, call, message):
    with pytest.raises(ValueError, match=message):
        call(digit_labels)


def test_scenarios_describe_themselves():
    targeted = scenarios.digits_targeted(7, 1, 0.10, seed=0)
    assert targeted.name == "7->1 10% of the 7s"
    assert targeted.poisoned_share == pytest.approx(18 / 1797)
    assert np.array_equal(np.flatnonzero(targeted.labels != targeted.clean_labels), targeted.flipped)
    randomised = scenarios.digits_random(0.03, seed=0)
    assert (randomised.name, randomised.flipped.size) == ("random 3% of all", 54)
    clean = scenarios.digits_clean()
    assert clean.flipped.size == 0 and clean.poisoned_share == 0.0


def test_a_saved_scenario_loads_as_an_image_dataset(tmp_path):
    scenario = scenarios.digits_targeted(7, 1, 0.05, seed=1)
    path = scenario.save_npz(tmp_path / "data" / "train.npz")
    dataset = load_dataset(Artifact(name="train", type="dataset", path="data/train.npz"), tmp_path)
    assert dataset.images is not None and dataset.images.shape == (1797, 8, 8)
    assert np.array_equal(dataset.classes[dataset.labels], scenario.labels)
    assert path == tmp_path / "data" / "train.npz"
