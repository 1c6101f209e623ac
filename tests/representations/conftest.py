"""Real small models and datasets on disk for the representation loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from riskframe import scenarios
from riskframe.data.datasets import Dataset
from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.spec.pipeline import Artifact, Stage


@pytest.fixture(scope="session")
def small_digits() -> tuple[np.ndarray, np.ndarray]:
    images, labels = scenarios.digits()
    return images[:200], labels[:200]


def _dataset(images: np.ndarray, labels: np.ndarray, path: Path = Path("train.npz")) -> Dataset:
    """A :class:`Dataset` as the loader would build it (codes = labels 0..9)."""
    return Dataset("train", path, images.reshape(len(images), -1), labels, np.unique(labels), images)


def _context(
    folder: Path,
    images: np.ndarray,
    labels: np.ndarray,
    model_file: str | None,
    layer: str | None = None,
    fmt: str | None = None,
    reps: np.ndarray | None = None,
    model_of: str | None = None,
) -> RunContext:
    """``train.npz`` (and a model, trained on ``model_of``, and representations) bound to a stage in ``folder``."""
    scenarios.save_npz(folder / "train.npz", images, labels)
    dataset = Artifact(name="train", type="dataset", path="train.npz", format="npz", features="X", labels="y")
    artifacts, bindings = [dataset], {"dataset": (dataset,)}
    if model_file is not None:
        model = Artifact(name="model", type="model", path=model_file, format=fmt, layer=layer, of=model_of)
        artifacts.append(model)
        bindings["model"] = (model,)
    if reps is not None:
        np.save(folder / "reps.npy", reps)
        reps_artifact = Artifact(name="train-reps", type="representations", path="reps.npy", of="train")
        artifacts.append(reps_artifact)
        bindings["representations"] = (reps_artifact,)
    stage = Stage(name="train", kind="model-engineering", artifacts=artifacts)
    return RunContext(stage=stage, bindings=bindings, store=ArtifactStore(folder))


@pytest.fixture
def digits_dataset():
    """Factory: ``(images, labels) -> Dataset``."""
    return _dataset


@pytest.fixture
def model_context():
    """Factory: ``(folder, images, labels, model_file, layer=None, fmt=None, reps=None, model_of=None)
    -> RunContext``."""
    return _context
