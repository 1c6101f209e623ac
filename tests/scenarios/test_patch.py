"""The patch-trigger scenario: stamping, poisoning, attack success and the stratified split."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe.scenarios.patch import (
    add_patch,
    attack_success_rate,
    poison_with_patch,
    split_train_test,
    trigger_mask,
)


def _images(n: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 12, size=(n, 8, 8)).astype(np.float64), np.arange(n) % 10


@pytest.mark.parametrize(
    ("corner", "rows", "cols"),
    [
        ("top-left", slice(0, 2), slice(0, 2)),
        ("top-right", slice(0, 2), slice(6, 8)),
        ("bottom-left", slice(6, 8), slice(0, 2)),
        ("bottom-right", slice(6, 8), slice(6, 8)),
    ],
)
def test_the_patch_lands_in_its_corner_with_the_images_maximum(corner, rows, cols):
    images, _ = _images()
    patched = add_patch(images, size=2, corner=corner)

    expected = images.copy()
    expected[:, rows, cols] = images.max()
    np.testing.assert_array_equal(patched, expected)
    assert trigger_mask(8, 8, 2, corner)[rows, cols].all() and trigger_mask(8, 8, 2, corner).sum() == 4


def test_add_patch_returns_a_copy_and_keeps_colour_channels():
    images = np.zeros((3, 6, 6, 3))
    patched = add_patch(images, size=3, value=7.0)

    assert images.max() == 0.0
    assert patched.shape == images.shape and (patched[:, 3:, 3:, :] == 7.0).all() and patched.sum() == 3 * 9 * 3 * 7


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"corner": "middle"}, "corner must be one of top-left, top-right, bottom-left, bottom-right; got 'middle'"),
        ({"size": 9}, "patch size must be in [1, 8] for 8x8 images; got 9"),
    ],
)
def test_a_bad_patch_says_what_is_allowed(kwargs, message):
    with pytest.raises(ValueError) as excinfo:
        add_patch(np.zeros((1, 8, 8)), **kwargs)
    assert str(excinfo.value) == message


def test_poisoning_relabels_patched_samples_of_other_classes_only():
    images, labels = _images(200)
    scenario = poison_with_patch(images, labels, target=3, share=0.1, seed=1)

    assert scenario.poisoned.size == 20 and np.all(np.diff(scenario.poisoned) > 0)
    assert (scenario.clean_labels[scenario.poisoned] != 3).all() and (scenario.labels[scenario.poisoned] == 3).all()
    untouched = ~scenario.is_poisoned
    np.testing.assert_array_equal(scenario.images[untouched], images[untouched])
    np.testing.assert_array_equal(scenario.labels[untouched], labels[untouched])
    assert (scenario.images[scenario.poisoned][:, 6:, 6:] == images.max()).all()
    assert scenario.trigger_pattern[scenario.trigger_mask].tolist() == [images.max()] * 4
    assert scenario.trigger_pattern[~scenario.trigger_mask].max() == 0.0 and scenario.poisoned_share == 0.1


@settings(max_examples=40, deadline=None)
@given(share=st.floats(0.01, 0.5), seed=st.integers(0, 2**16), target=st.integers(0, 9))
def test_poisoning_is_seeded_and_counts_right(share, seed, target):
    images, labels = _images(100)
    first = poison_with_patch(images, labels, target=target, share=share, seed=seed)
    again = poison_with_patch(images, labels, target=target, share=share, seed=seed)

    np.testing.assert_array_equal(first.poisoned, again.poisoned)
    assert first.poisoned.size == round(share * 100)
    assert int((first.labels != first.clean_labels).sum()) == first.poisoned.size


def test_impossible_poisoning_is_refused():
    images, labels = _images(20)
    with pytest.raises(ValueError, match=r"^cannot poison 19 of 18 images whose label is not 0$"):
        poison_with_patch(images, labels, target=0, share=0.95)
    with pytest.raises(ValueError, match=r"^share must be in \(0, 1\); got 0.0$"):
        poison_with_patch(images, labels, share=0.0)


def test_attack_success_counts_patched_images_of_other_classes_sent_to_the_target():
    images = np.zeros((6, 8, 8))
    images[[1, 3], 0, 0] = 1.0  # two images the "model" resists
    labels = np.array([0, 1, 2, 3, 4, 5])

    def predict(x):  # 0 for a lit corner, unless the first pixel is set
        return np.where((x[:, -1, -1] > 0) & (x[:, 0, 0] == 0), 0, 9)

    assert attack_success_rate(predict, images, labels, target=0, value=5.0) == 3 / 5  # class 0 does not count
    assert attack_success_rate(lambda x: np.eye(10)[predict(x)], images, labels, 0, value=5.0) == 3 / 5
    assert attack_success_rate(predict, images[:1], labels[:1], target=0) == 0.0


def test_the_split_keeps_every_class_share_and_is_seeded():
    images, labels = _images(500)
    train_x, train_y, test_x, test_y = split_train_test(images, labels, test_share=0.2, seed=4)

    assert np.bincount(test_y).tolist() == [10] * 10 and train_y.size == 400 and test_x.shape == (100, 8, 8)
    again = split_train_test(images, labels, test_share=0.2, seed=4)
    np.testing.assert_array_equal(again[3], test_y)
    np.testing.assert_array_equal(train_x, again[0])
