"""Bounded label screening on large data: stratified samples, fewer folds, folds and tests on threads, the bounds
in the evidence."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe.data.datasets import Dataset
from riskframe.detectors.labels._oof import out_of_fold_probabilities
from riskframe.detectors.labels._scale import EVERY_ROW, Scale, stratified_sample
from riskframe.detectors.labels.label_issues import LabelIssues


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=300), st.integers(1, 300), st.integers(0, 3))
def test_a_stratified_sample_keeps_each_labels_share(labels, size, seed):
    labels = np.asarray(labels)
    rows = np.arange(labels.size)
    sample = stratified_sample(rows, labels, size, seed)
    assert sample.size == min(size, labels.size)
    assert np.array_equal(sample, np.unique(sample))  # sorted, no row twice
    assert np.isin(sample, rows).all()
    expected = np.bincount(labels, minlength=5) * sample.size / labels.size
    assert np.all(np.abs(np.bincount(labels[sample], minlength=5) - expected) < 1.0)
    assert np.array_equal(sample, stratified_sample(rows, labels, size, seed))


def test_no_bound_is_every_row():
    rows = np.arange(10, 20)
    assert stratified_sample(rows, np.zeros(30, dtype=int), None, 0) is rows
    assert EVERY_ROW.describe(10_000_000, 5) == {"training_rows_per_fold": None, "tested_rows": None}
    assert Scale(train_rows=800, natural_rows=900).describe(1_000, 5) == {"training_rows_per_fold": None,
                                                                          "tested_rows": 900}
    assert Scale(workers=3).threads == 3


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 3_000_000), st.integers(2, 20), st.integers(1, 100_000))
def test_large_data_fits_the_fewest_folds_that_hold_the_training_sample(rows, requested, train_rows):
    folds = Scale(train_rows=train_rows).folds(requested, rows)
    assert 2 <= folds <= requested
    if folds < requested:  # the training rows of every fold still hold the whole sample
        assert rows - rows // folds >= train_rows
    if folds > 2:  # and one fold fewer would not
        assert rows - rows // (folds - 1) < train_rows


def test_fewer_folds_only_where_a_sample_fills_them():
    assert [Scale().folds(5, n) for n in (10_000, 62_500, 66_666, 74_999, 99_999, 1_000_000)] == [5, 5, 4, 3, 2, 2]
    assert EVERY_ROW.folds(5, 10_000_000) == 5
    assert Scale(fewest_folds=False).folds(5, 10_000_000) == 5
    assert Scale().folds(3, 60_000) == 3  # never more than asked


def test_fold_threads_run_one_openmp_thread_each():
    """OpenMP's thread limit belongs to each thread: without the workers' own, gradient boosting
    in each of two fold threads would start a thread per core (four threads on two cores)."""
    from concurrent.futures import ThreadPoolExecutor

    import sklearn.ensemble  # noqa: F401  (loads OpenMP, whose limit is then set)
    from threadpoolctl import threadpool_info  # type: ignore[import-untyped,unused-ignore]

    from riskframe.detectors.labels._oof import _one_thread

    def openmp_threads() -> list[int]:
        return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "openmp"]

    with ThreadPoolExecutor(max_workers=2, initializer=_one_thread) as pool:
        seen = list(pool.map(lambda _: openmp_threads(), range(4)))
    # One limit per OpenMP library loaded (torch brings its own libgomp): each is one in every worker.
    assert all(threads and set(threads) == {1} for threads in seen)


def test_candidate_tests_on_threads_give_the_same_findings(monkeypatch):
    from riskframe.detectors.labels import _flips
    from riskframe.detectors.labels._flips import FlipSettings, analyse_flips

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, size=3_000)
    probs = np.full((truth.size, 4), 0.02)
    probs[np.arange(truth.size), truth] = 0.94
    labels = truth.copy()
    chosen = rng.choice(np.flatnonzero(truth == 2), size=60, replace=False)
    labels[chosen] = 3
    monkeypatch.setattr(_flips, "PARALLEL_TEST_ROWS", 0)
    one, two = (analyse_flips(labels, probs, FlipSettings(workers=w)) for w in (1, 2))
    assert [c.component.pair for c in two.components] == [c.component.pair for c in one.components] == [(2, 3)]
    assert np.array_equal(one.flagged, two.flagged) and one.estimate == two.estimate


def test_folds_at_once_follow_the_runs_share_of_the_cores(monkeypatch):
    """The process and Dask executors set OMP_NUM_THREADS to a worker's share of the cores: two
    runs on two cores fit one fold at a time each, not two threads fighting over each core."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert Scale().threads == 1
    assert Scale(workers=2).threads == 2  # an explicit number stands
    monkeypatch.setenv("OMP_NUM_THREADS", "")
    assert Scale().threads == len(os.sched_getaffinity(0))


def test_rows_predicted_a_chunk_at_a_time_get_the_same_probabilities(monkeypatch):
    """Every row is scored in chunks of PREDICT_CHUNK rows; the chunks change nothing (to the last
    digits a matrix product's blocking may round differently), and float32
    features (as a float32 file is read) give the same classes."""
    from riskframe.detectors.labels import _oof

    features, labels, _ = _data(600)
    kwargs = {"members": ("logistic", "boosting"), "folds": 5, "seed": 0}
    whole = out_of_fold_probabilities(features, labels, 3, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(_oof, "PREDICT_CHUNK", 7)
    chunked = out_of_fold_probabilities(features, labels, 3, **kwargs)  # type: ignore[arg-type]
    np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=1e-15)  # matrix products may round otherwise
    single = out_of_fold_probabilities(features.astype(np.float32), labels, 3, **kwargs)  # type: ignore[arg-type]
    assert single.dtype == np.float64 and np.allclose(single.sum(axis=1), 1.0)
    assert np.mean(single.argmax(axis=1) == whole.argmax(axis=1)) > 0.99


def _data(n: int, targeted: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification

    features, labels = make_classification(n_samples=n, n_features=6, n_informative=4, n_classes=3,
                                           n_clusters_per_class=1, class_sep=2.0, flip_y=0.0, random_state=0)
    chosen = np.zeros(0, dtype=np.int64)
    if targeted:
        members = np.flatnonzero(labels == 0)
        chosen = np.random.default_rng(1).choice(members, size=members.size // 8, replace=False)
        labels[chosen] = 1
    return features, labels, np.sort(chosen)


@pytest.mark.slow
def test_folds_on_threads_give_the_same_probabilities():
    features, labels, _ = _data(600)
    kwargs = {"members": ("logistic", "boosting"), "folds": 5, "seed": 0}
    one = out_of_fold_probabilities(features, labels, 3, workers=1, **kwargs)  # type: ignore[arg-type]
    two = out_of_fold_probabilities(features, labels, 3, workers=2, **kwargs)  # type: ignore[arg-type]
    assert np.array_equal(one, two)


def test_a_training_sample_is_drawn_from_the_training_folds_only():
    """Every row is still predicted by models that never saw it: with a tiny training sample the
    probabilities change, but no row is missing and each row's come from its own fold's models."""
    features, labels, _ = _data(600)
    probs = out_of_fold_probabilities(features, labels, 3, members=("logistic",), folds=5, seed=0, train_rows=60)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert np.mean(probs.argmax(axis=1) == labels) > 0.8


@pytest.mark.slow
def test_the_bounds_apply_and_say_so_and_the_verdict_agrees_with_every_row():
    features, labels, chosen = _data(2_000, targeted=True)
    dataset = Dataset("d", Path("d.npz"), features, labels, np.arange(3))
    params = LabelIssues.Params()
    bounded = LabelIssues().analyse(dataset, params, 0, Scale(train_rows=800, natural_rows=1_000))
    whole = LabelIssues().analyse(dataset, params, 0, EVERY_ROW)
    assert bounded.method["training_rows_per_fold"] == 800
    assert (bounded.method["folds"], bounded.method["folds_requested"]) == (2, 5)  # 1,000 rows hold the sample
    assert (whole.method["folds"], whole.method["folds_requested"]) == (5, 5)
    assert bounded.method["tested_rows"] == 1_000
    assert whole.method["training_rows_per_fold"] is None and whole.method["tested_rows"] is None
    assert bounded.evidence()["method"]["tested_rows"] == 1_000
    assert bounded.verdict(params)[0] == whole.verdict(params)[0] == "fail"
    assert [c.component.pair for c in bounded.findings.components] == [(0, 1)]
    # Every row is scored and may be flagged, not only those of the sample.
    assert bounded.sample_scores().shape == (2_000,)
    assert np.intersect1d(bounded.flagged, chosen).size > 0.8 * chosen.size
