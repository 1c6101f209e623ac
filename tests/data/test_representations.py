"""Representation artifacts, and their alignment with the dataset a run examines."""

from __future__ import annotations

import re

import numpy as np
import pytest

from riskframe.data.datasets import load_representations
from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact, Stage


def _reps(tmp_path, path: str, **declaration) -> np.ndarray:
    artifact = Artifact(name="reps", type="representations", path=path, of="train", **declaration)
    return load_representations(artifact, tmp_path)


def _refused(tmp_path, field: str, message: str, path: str, **declaration) -> None:
    with pytest.raises(ArtifactError, match=f"^{re.escape(message)}$") as excinfo:
        _reps(tmp_path, path, **declaration)
    assert excinfo.value.field == field


def test_npy_representations_are_read_only_float64(tmp_path):
    np.save(tmp_path / "reps.npy", np.arange(12, dtype=np.float32).reshape(4, 3))

    reps = _reps(tmp_path, "reps.npy")

    assert reps.dtype == np.float64 and reps.shape == (4, 3)
    with pytest.raises(ValueError, match="read-only"):
        reps[0, 0] = 1.0


def test_npz_representations_by_name_or_the_first_array(tmp_path):
    np.savez(tmp_path / "reps.npz", penultimate=np.ones((4, 3)), logits=np.zeros((4, 10)))

    assert _reps(tmp_path, "reps.npz").shape == (4, 3)
    assert _reps(tmp_path, "reps.npz", features="logits").shape == (4, 10)


def test_npz_without_the_named_array(tmp_path):
    np.savez(tmp_path / "reps.npz", penultimate=np.ones((4, 3)))
    _refused(tmp_path, "features", "reps.npz has no array named 'fc2'; it holds: penultimate",
             "reps.npz", features="fc2")


def test_npz_with_no_arrays(tmp_path):
    np.savez(tmp_path / "reps.npz")
    _refused(tmp_path, "path", "reps.npz holds no arrays", "reps.npz")


def test_representations_with_nan(tmp_path):
    reps = np.ones((4, 3))
    reps[1, 2] = np.nan
    np.save(tmp_path / "reps.npy", reps)
    _refused(tmp_path, "path", "reps.npy: representations contain NaN or infinite values", "reps.npy")


def test_representations_must_be_two_dimensional(tmp_path):
    np.save(tmp_path / "reps.npy", np.ones((4, 3, 2)))
    _refused(tmp_path, "path", "reps.npy: representations must be a numeric (N, D) array; got float64 (4, 3, 2)",
             "reps.npy")


def test_representations_in_a_format_numpy_cannot_hold(tmp_path):
    (tmp_path / "reps.csv").write_text("1,2\n")
    _refused(tmp_path, "format", "cannot read representations of format 'csv'; declare format: npy or npz",
             "reps.csv")


def test_pickled_representations_are_refused_unloaded(tmp_path, canary, canary_payload):
    (tmp_path / "reps.npy").write_bytes(canary_payload)
    _refused(tmp_path, "path", "reps.npy is a pickle stream, not npy; riskframe never unpickles dataset "
             "files. Save the arrays with numpy.savez instead", "reps.npy")
    assert not canary.exists()


def test_missing_representations(tmp_path):
    _refused(tmp_path, "path", f"file not found: {(tmp_path / 'reps.npy').resolve()}", "reps.npy")


# Through the run context ------------------------------------------------------------------------


def _context(tmp_path, n_samples: int, n_rows: int) -> RunContext:
    np.savez(tmp_path / "train.npz", X=np.arange(n_samples * 2.0).reshape(n_samples, 2), y=np.arange(n_samples) % 2)
    np.save(tmp_path / "reps.npy", np.ones((n_rows, 3)))
    train = Artifact(name="train", type="dataset", path="train.npz")
    reps = Artifact(name="train-reps", type="representations", path="reps.npy", of="train")
    stage = Stage(name="train", kind="model-engineering", artifacts=[train, reps])
    return RunContext(stage=stage, bindings={"dataset": (train,), "representations": (reps,)},
                      store=ArtifactStore(tmp_path))


def test_context_returns_representations_aligned_with_the_dataset(tmp_path):
    ctx = _context(tmp_path, n_samples=4, n_rows=4)

    assert ctx.representations().shape == (4, 3)
    assert ctx.dataset().n_samples == 4


def test_context_refuses_representations_not_row_aligned_with_the_dataset(tmp_path):
    ctx = _context(tmp_path, n_samples=4, n_rows=5)

    message = "representations have 5 rows but dataset 'train' has 4 samples; they must be row-aligned"
    with pytest.raises(ArtifactError, match=f"^{re.escape(message)}$") as excinfo:
        ctx.representations()
    assert excinfo.value.field == "of"


def test_context_names_a_role_it_does_not_bind(tmp_path):
    ctx = _context(tmp_path, n_samples=4, n_rows=4)

    assert ctx.has("dataset") and not ctx.has("model")
    assert ctx.artifacts("model") == ()
    with pytest.raises(KeyError, match="no model artifact is bound to this run"):
        ctx.artifact("model")
