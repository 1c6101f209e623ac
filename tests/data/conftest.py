"""Real files for the data-loading tests: every artifact is written into tmp_path first."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import pytest

from riskframe.data.datasets import Dataset, load_dataset
from riskframe.spec.pipeline import Artifact


class Canary:
    """Unpickling this object creates ``path``: proof that a file was (or was not) unpickled."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Callable[[Path], None], tuple[Path]]:
        return (Path.touch, (self.path,))


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    """Where an unpickled :class:`Canary` would leave its mark (absent at the start)."""
    return tmp_path / "canary-was-unpickled"


@pytest.fixture
def canary_hook(canary: Path) -> Canary:
    """An object whose unpickling creates ``canary``."""
    return Canary(canary)


@pytest.fixture
def canary_payload(canary: Path) -> bytes:
    """A real pickle stream that creates ``canary`` when loaded."""
    return pickle.dumps({"weights": [1, 2, 3], "hook": Canary(canary)})


@pytest.fixture
def load(tmp_path: Path) -> Callable[..., Dataset]:
    """``load(path=..., **declaration)`` loads a dataset artifact declared relative to tmp_path."""

    def _load(**declaration: object) -> Dataset:
        artifact = Artifact(**{"name": "train", "type": "dataset", **declaration})  # type: ignore[arg-type]
        return load_dataset(artifact, tmp_path)

    return _load
