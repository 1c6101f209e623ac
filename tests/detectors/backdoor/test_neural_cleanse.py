"""Neural Cleanse in PyTorch: the anomaly index, the flagging rule, and the search itself on real
CNNs trained on the backdoored-digits example (2x2 patch, 5% of the training set relabelled 0)
and on its clean twin. The example's workspaces are built once per session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe.detectors.backdoor.neural_cleanse import (
    MAX_INDEX,
    CleanseSettings,
    anomaly_indices,
    apply_trigger,
    flagged_classes,
    import_torch,
    neural_cleanse,
)
from riskframe.detectors.backdoor.screening import attack_success, screen_model, search_split
from riskframe.errors import MissingDependencyError
from riskframe.io.digests import sha256_file

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "backdoored-digits" / "make_example.py"
# The detectors' settings (trigger-reverse-engineering's defaults): searches with the same model,
# images and settings are computed once per session, whichever test asks first.


def example_workspace(factory: pytest.TempPathFactory, clean: bool) -> Path:
    """``make_example.py --out DIR`` run once per session into a shared folder. A fresh process
    (seeded, single-threaded, fixed hash seed) gives every test module that asks the same bytes, so
    trigger searches on the same model and data are computed once per session."""
    folder = factory.getbasetemp() / ("backdoored-digits-clean" if clean else "backdoored-digits")
    if not (folder / "pipeline.yaml").exists():
        command = [sys.executable, str(EXAMPLE), "--out", str(folder), *(["--clean"] if clean else [])]
        subprocess.run(command, check=True, capture_output=True, timeout=300)
    return folder


def load(folder: Path):
    """The example's model, held-out images and labels, the true patch, and the content key under
    which the detectors cache their search of this model on these images."""
    torch = pytest.importorskip("torch")
    model_path, test_path = folder / "models" / "model.pt", folder / "data" / "test.npz"
    model = torch.jit.load(str(model_path), map_location="cpu").eval()
    with np.load(test_path, allow_pickle=False) as data:
        key = (sha256_file(model_path), sha256_file(test_path))
        return model, data["X"], data["y"], data["trigger_mask"].astype(bool), key


@pytest.fixture(scope="module")
def backdoored(tmp_path_factory):
    return load(example_workspace(tmp_path_factory, clean=False))


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return load(example_workspace(tmp_path_factory, clean=True))


# The anomaly index ---------------------------------------------------------------------------

def test_anomaly_index_is_the_scaled_median_absolute_deviation_below_the_median():
    # median 10, absolute deviations 0, 0, 2, 2 -> MAD 1 -> 1.4826 robust standard deviations
    assert anomaly_indices(np.array([10.0, 10.0, 12.0, 8.0])).round(3).tolist() == [0.0, 0.0, -1.349, 1.349]


def test_a_collapsed_mad_gives_bounded_indices():
    indices = anomaly_indices(np.array([5.0, 5.0, 5.0, 1.0, 9.0]))
    assert indices.tolist() == [0.0, 0.0, 0.0, MAX_INDEX, -MAX_INDEX]
    assert anomaly_indices(np.full(4, 3.0)).tolist() == [0.0] * 4


# Mask norms in quarter pixels: ties happen (as they do between honest classes) without norms that
# differ only in their last bits, where no index could be unit-free.
norms_strategy = st.lists(st.integers(2, 256).map(lambda q: q / 4), min_size=3, max_size=20).map(np.array)


@settings(max_examples=200, deadline=None)
@given(norms_strategy, st.sampled_from([0.25, 0.5, 2.0, 3.0, 10.0]), st.integers(0, 20).map(float))
def test_anomaly_index_properties(norms, scale, shift):
    indices = anomaly_indices(norms)
    assert np.isfinite(indices).all() and (np.abs(indices) <= MAX_INDEX).all()
    # Unit-free and translation-free: pixels or percent, the same classes stand out.
    np.testing.assert_allclose(anomaly_indices(norms * scale), indices, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(anomaly_indices(norms + shift), indices, rtol=1e-6, atol=1e-6)
    # A smaller mask is never less anomalous.
    order = np.argsort(norms, kind="stable")
    assert (np.diff(indices[order]) <= 1e-9).all()


@settings(max_examples=200, deadline=None)
@given(norms_strategy, st.floats(0.5, 5.0), st.floats(0.1, 1.0))
def test_flagged_classes_need_a_high_index_and_a_small_mask(norms, threshold, ratio):
    indices = anomaly_indices(norms)
    flagged = flagged_classes(norms, indices, threshold, ratio)
    median = np.median(norms)
    assert all(indices[c] > threshold and norms[c] <= ratio * median for c in flagged)
    assert [indices[c] for c in flagged] == sorted((indices[c] for c in flagged), reverse=True)
    missed = [c for c in range(len(norms)) if indices[c] > threshold and norms[c] <= ratio * median]
    assert sorted(missed) == sorted(flagged)


def test_a_class_only_somewhat_smaller_than_tightly_agreeing_ones_is_not_flagged():
    # The clean CNN of our calibration: honest classes agree within a few percent, the digit 3
    # needs 20% less mask. Its index is high; its mask is not small.
    norms = np.array([11.3, 12.3, 8.9, 7.2, 9.1, 9.2, 9.3, 9.5, 9.2, 8.9])
    indices = anomaly_indices(norms)
    assert indices[3] > 2
    assert flagged_classes(norms, indices, 2.0, 0.5) == []
    norms[0] = 3.2  # a planted 2x2 trigger reverses to a mask a third of the median's
    indices = anomaly_indices(norms)
    assert flagged_classes(norms, indices, 2.0, 0.5) == [0]


def test_apply_trigger_broadcasts_the_mask_over_channels():
    mask = np.zeros((4, 4))
    mask[3, 3] = 1.0
    grey = apply_trigger(np.ones((2, 4, 4)), mask, np.full((4, 4), 7.0))
    assert grey[:, 3, 3].tolist() == [7.0, 7.0] and grey[:, 0, 0].tolist() == [1.0, 1.0]
    colour = apply_trigger(np.ones((1, 4, 4, 3)), mask, np.full((4, 4, 3), 5.0))
    assert colour[0, 3, 3].tolist() == [5.0] * 3 and colour[0, 0, 0].tolist() == [1.0] * 3


def test_search_split_is_class_balanced_and_disjoint_from_the_holdout():
    labels = np.repeat(np.arange(10), 30)
    search, holdout = search_split(labels, samples=50, seed=3)
    assert np.bincount(labels[search]).tolist() == [5] * 10
    assert np.intersect1d(search, holdout).size == 0 and search.size + holdout.size == labels.size
    assert np.array_equal(search, search_split(labels, samples=50, seed=3)[0])
    tiny, same = search_split(np.repeat(np.arange(2), 20), samples=30)
    assert np.array_equal(tiny, same) and tiny.size == 40  # too few to hold 20 out: measure on all


def test_without_torch_the_message_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"Install riskframe's 'torch' extra; in a checkout: pip install -e '\.\[torch\]'"):
        import_torch("trigger-reverse-engineering")


# The search on real models -------------------------------------------------------------------

def top_pixels(mask: np.ndarray, k: int) -> np.ndarray:
    chosen = np.zeros(mask.size, dtype=bool)
    chosen[np.argsort(-mask.reshape(-1), kind="stable")[:k]] = True
    return chosen.reshape(mask.shape)


def test_the_backdoor_target_is_found_and_its_trigger_sits_on_the_patch(backdoored):
    model, images, labels, patch, key = backdoored
    screen = screen_model(model, images, labels, 10, samples=128, settings=CleanseSettings(steps=200), key=key)
    result = screen.cleanse
    assert result.target == 0 and result.flagged == [0]
    assert result.indices[0] > 2.0
    trigger = result.triggers[0]
    assert trigger.reached and trigger.norm < 0.5 * np.median(result.norms)
    reversed_pixels = top_pixels(trigger.mask, int(patch.sum()))
    iou = (reversed_pixels & patch).sum() / (reversed_pixels | patch).sum()
    assert iou >= 0.6, f"reversed trigger overlaps the 2x2 patch with IoU {iou:.2f}"
    # Measured on held-out images the search never saw.
    assert screen.held_out and screen.attack_success(model) > 0.9


def test_a_clean_model_has_no_target(clean):
    model, images, labels, _, key = clean
    result = screen_model(model, images, labels, 10, samples=128, settings=CleanseSettings(steps=200), key=key).cleanse
    assert result.target is None and result.flagged == []
    assert all(t.reached for t in result.triggers)


def test_the_search_is_deterministic_for_a_seed(clean):
    model, images, labels, _, _ = clean
    first = neural_cleanse(model, images[:40], labels[:40], 10, CleanseSettings(steps=15, seed=4))
    second = neural_cleanse(model, images[:40], labels[:40], 10, CleanseSettings(steps=15, seed=4))
    assert first.norms.tolist() == second.norms.tolist()
    assert np.array_equal(first.triggers[3].pattern, second.triggers[3].pattern)


def test_attack_success_counts_only_images_of_other_classes(backdoored):
    model, images, labels, patch, _ = backdoored
    from riskframe.detectors.backdoor.neural_cleanse import ReversedTrigger

    true = ReversedTrigger(0, patch.astype(float), np.where(patch, 16.0, 0.0), 4.0, 1.0, True)
    assert attack_success(model, images, labels, true) > 0.95
    assert attack_success(model, images[labels == 0], labels[labels == 0], true) == 0.0


def test_a_screen_shared_between_processes_reads_back_exactly(clean, tmp_path):
    from riskframe.detectors.backdoor import screening

    model, images, labels, _, key = clean
    settings = CleanseSettings(steps=15, seed=7)  # a setting no other test uses: not in memory yet
    first = screen_model(model, images, labels, 10, samples=40, settings=settings, key=key, shared=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    screening._SCREENS.clear()  # what another worker process would see: the file, not this memory

    second = screen_model(model, images, labels, 10, samples=40, settings=settings, key=key, shared=tmp_path)

    assert second is not first
    assert (second.cleanse.flagged, second.cleanse.threshold) == (first.cleanse.flagged, first.cleanse.threshold)
    assert np.array_equal(second.cleanse.indices, first.cleanse.indices)
    for mine, theirs in zip(first.cleanse.triggers, second.cleanse.triggers, strict=True):
        assert (mine.label, mine.norm, mine.success, mine.reached) == (theirs.label, theirs.norm, theirs.success,
                                                                       theirs.reached)
        assert np.array_equal(mine.mask, theirs.mask) and np.array_equal(mine.pattern, theirs.pattern)
    assert np.array_equal(second.search, first.search) and np.array_equal(second.holdout, first.holdout)
