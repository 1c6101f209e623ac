"""The artifact store: one load per artifact per assessment, safe to share between run threads.

(Tests of ``riskframe/detectors/context.py``'s store; they live beside the loading tests because
they load real dataset files.)
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from riskframe.detectors.context import ArtifactStore
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact


def test_a_dataset_many_runs_ask_for_at_once_is_read_once(tmp_path, digits_small):
    images, labels = digits_small
    np.savez(tmp_path / "train.npz", X=images, y=labels)
    store = ArtifactStore(tmp_path)
    train = Artifact(name="train", type="dataset", path="train.npz")

    with ThreadPoolExecutor(max_workers=8) as pool:
        loaded = list(pool.map(lambda _: store.dataset(train), range(16)))

    assert all(ds is loaded[0] for ds in loaded)
    assert loaded[0].n_samples == 60


def test_a_slow_load_does_not_hold_up_loads_of_other_artifacts(tmp_path):
    store = ArtifactStore(tmp_path)
    slow_started, fast_done = threading.Event(), threading.Event()

    def slow() -> str:
        slow_started.set()
        # With one lock for the whole store this wait would time out: the fast load could not start.
        assert fast_done.wait(timeout=10), "the other artifact's load was blocked"
        return "slow"

    def fast() -> str:
        fast_done.set()
        return "fast"

    with ThreadPoolExecutor(max_workers=2) as pool:
        slow_result = pool.submit(store._cached, ("sha256", "model"), slow)
        assert slow_started.wait(timeout=10)
        fast_result = pool.submit(store._cached, ("dataset", "train"), fast)
        assert (slow_result.result(timeout=20), fast_result.result(timeout=20)) == ("slow", "fast")


def test_a_failed_load_is_not_cached(tmp_path):
    store = ArtifactStore(tmp_path)
    train = Artifact(name="train", type="dataset", path="train.npz")
    with pytest.raises(ArtifactError, match=r"^file not found: "):
        store.dataset(train)
    np.savez(tmp_path / "train.npz", X=np.ones((2, 2)), y=[0, 1])

    assert store.dataset(train).n_samples == 2


def test_digests_are_cached_per_artifact(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"weights v1")
    store = ArtifactStore(tmp_path)
    model = Artifact(name="model", type="files", path="model.bin")

    first = store.digest(model)
    (tmp_path / "model.bin").write_bytes(b"weights v2")

    assert store.digest(model) == first  # one assessment sees one version of each artifact
    assert ArtifactStore(tmp_path).digest(model) != first
