"""What a detector sees when it runs: its stage, its bound artifacts, and their loaded content.

Loaded content is cached per assessment in an :class:`ArtifactStore`, shared by every run (a
dataset used by three controls is read and validated once).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from riskframe.data.datasets import Dataset, load_dataset, load_representations
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact, Stage


class ArtifactStore:
    """Thread-safe cache of loaded artifacts, keyed by artifact name."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self._cache: dict[tuple[str, str], object] = {}
        self._lock = threading.Lock()

    def path(self, artifact: Artifact) -> Path:
        return (self.base_dir / artifact.path).resolve()

    def dataset(self, artifact: Artifact) -> Dataset:
        return self._cached(("dataset", artifact.name), lambda: load_dataset(artifact, self.base_dir))  # type: ignore[return-value]

    def representations(self, artifact: Artifact) -> np.ndarray:
        return self._cached(("reps", artifact.name), lambda: load_representations(artifact, self.base_dir))  # type: ignore[return-value]

    def _cached(self, key: tuple[str, str], load: object) -> object:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = load()  # type: ignore[operator]
            return self._cache[key]


@dataclass(frozen=True)
class RunContext:
    """The inputs of one detector run.

    ``bindings`` maps each role to its artifacts: one artifact for ``dataset``,
    ``representations`` and ``model``; every artifact of the stage for ``files``.

    >>> ctx.dataset().features.shape  # doctest: +SKIP
    (1437, 64)
    """

    stage: Stage
    bindings: Mapping[str, tuple[Artifact, ...]]
    store: ArtifactStore
    seed: int = 0
    extras: Mapping[str, object] = field(default_factory=dict)

    def has(self, role: str) -> bool:
        return bool(self.bindings.get(role))

    def artifact(self, role: str) -> Artifact:
        bound = self.bindings.get(role)
        if not bound:
            raise KeyError(f"no {role} artifact is bound to this run")
        return bound[0]

    def artifacts(self, role: str) -> tuple[Artifact, ...]:
        return tuple(self.bindings.get(role, ()))

    def path(self, role: str) -> Path:
        return self.store.path(self.artifact(role))

    def dataset(self, role: str = "dataset") -> Dataset:
        return self.store.dataset(self.artifact(role))

    def representations(self) -> np.ndarray:
        """The bound representations, checked to be row-aligned with the bound dataset."""
        reps = self.store.representations(self.artifact("representations"))
        if self.has("dataset"):
            n = self.dataset().n_samples
            if reps.shape[0] != n:
                raise ArtifactError(f"representations have {reps.shape[0]} rows but dataset "
                                    f"{self.artifact('dataset').name!r} has {n} samples")
        return reps
