"""What a detector sees when it runs: its stage, its bound artifacts, and their loaded content.

Loaded content is cached per assessment in an :class:`ArtifactStore`, shared by every run (a
dataset used by three controls is read and validated once). The store knows where the pipeline's
files may be (:class:`~riskframe.data.roots.DataRoots`) and how much memory its datasets may take
(:class:`~riskframe.data.budget.Budget`). Runs in worker processes get a store filled in advance
with the parent's validated arrays, memory-mapped, and its validated text corpora
(:mod:`riskframe.engine.staging`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from riskframe.data.budget import Budget
from riskframe.data.datasets import Dataset, load_dataset, load_representations
from riskframe.data.roots import DataRoots, may_be_folder
from riskframe.data.tables import Table, load_table
from riskframe.data.text import TextCorpus, open_text_corpus
from riskframe.errors import ArtifactError
from riskframe.io.digests import sha256_path
from riskframe.spec.pipeline import Artifact, Stage

if TYPE_CHECKING:
    from riskframe.llm.endpoint import Endpoint

_DIGEST, _DATASET, _TABLE, _REPRESENTATIONS, _TEXT = "sha256", "dataset", "table", "reps", "text"


class ArtifactStore:
    """Thread-safe cache of loaded artifacts, keyed by artifact name.

    ``roots`` is where artifact paths may lead (a folder: that folder only); ``budget`` the memory
    the loaded datasets and representations may take together (default: the configured budget).
    ``datasets``, ``tables``, ``representations``, ``texts`` and ``digests`` fill it in advance (by
    artifact name): what another process loaded and validated already.
    name): what another process loaded and validated already.
    """

    def __init__(self, roots: DataRoots | Path, budget: Budget | None = None, *,
                 datasets: Mapping[str, Dataset] | None = None,
                 representations: Mapping[str, np.ndarray] | None = None,
                 texts: Mapping[str, TextCorpus] | None = None,
                 digests: Mapping[str, str] | None = None,
                 tables: Mapping[str, Table] | None = None) -> None:
        self.roots = roots if isinstance(roots, DataRoots) else DataRoots(roots)
        self.base_dir = self.roots.base_dir
        self.budget = budget if budget is not None else Budget.from_environment()
        self._cache: dict[tuple[str, str], object] = {}
        for kind, known in ((_DATASET, datasets), (_TABLE, tables), (_REPRESENTATIONS, representations),
                            (_TEXT, texts),
                            (_DIGEST, digests)):
            self._cache.update({(kind, name): value for name, value in (known or {}).items()})
        self._lock = threading.Lock()  # guards the two dicts, never held while loading
        self._loading: dict[tuple[str, str], threading.Lock] = {}

    def loaded_datasets(self) -> dict[str, Dataset]:
        return self._loaded(_DATASET)  # type: ignore[return-value]

    def loaded_tables(self) -> dict[str, Table]:
        return self._loaded(_TABLE)  # type: ignore[return-value]

    def loaded_representations(self) -> dict[str, np.ndarray]:
        return self._loaded(_REPRESENTATIONS)  # type: ignore[return-value]

    def loaded_texts(self) -> dict[str, TextCorpus]:
        return self._loaded(_TEXT)  # type: ignore[return-value]

    def known_digests(self) -> dict[str, str]:
        return self._loaded(_DIGEST)  # type: ignore[return-value]

    def replace(self, other: ArtifactStore) -> None:
        """Take ``other``'s datasets, tables and representations in place of this store's (the same
        content, memory-mapped: the loaded copies can be freed)."""
        with self._lock:
            self._cache.update({k: v for k, v in other._cache.items() if k[0] != _DIGEST})

    def path(self, artifact: Artifact) -> Path:
        """The artifact's real path, inside the roots.

        Raises
        ------
        ArtifactError
            The path leads outside the roots (the engine checks every artifact before any run).
        """
        return self.roots.resolve(artifact.path)

    def check(self, artifact: Artifact) -> Path:
        """The artifact's real path once it is known to be inside the roots and to exist as a regular
        file (or a folder, for models and files), with its manifest likewise; nothing is opened.

        Raises
        ------
        ArtifactError
            Outside the roots, missing, or not a regular file or folder (a FIFO, a device...).
        """
        path = self.roots.existing(artifact.path, folder_ok=may_be_folder(artifact) or artifact.windows,
                                   single=f"an artifact of format {artifact.resolved_format}")
        if artifact.manifest is not None:
            self.roots.existing(artifact.manifest, "manifest", single="a manifest")
        if artifact.profile is not None:
            self.roots.existing(artifact.profile, "profile", single="a profile")
        return path

    def locate(self, relative: str, field: str) -> Path:
        """Another path of an artifact's declaration (its ``manifest``), inside the roots."""
        return self.roots.resolve(relative, field)

    def digest(self, artifact: Artifact) -> str:
        """sha256 of the artifact's file (or folder, see :func:`riskframe.io.digests.sha256_tree`),
        computed once per assessment however many runs and records need it."""
        return self._cached((_DIGEST, artifact.name), lambda: sha256_path(self.path(artifact)))  # type: ignore[return-value]

    def dataset(self, artifact: Artifact) -> Dataset:
        load = partial(load_dataset, artifact, self.roots, self.budget)
        return self._cached((_DATASET, artifact.name), load)  # type: ignore[return-value]

    def table(self, artifact: Artifact) -> Table:
        """The dataset as named columns with missing values and text kept (data validation's view)."""
        load = partial(load_table, artifact, self.roots, self.budget)
        return self._cached((_TABLE, artifact.name), load)  # type: ignore[return-value]

    def representations(self, artifact: Artifact) -> np.ndarray:
        load = partial(load_representations, artifact, self.roots, self.budget)
        return self._cached((_REPRESENTATIONS, artifact.name), load)  # type: ignore[return-value]

    def _loaded(self, kind: str) -> dict[str, object]:
        with self._lock:
            return {name: value for (k, name), value in self._cache.items() if k == kind}

    # Text corpora and LLM endpoints (riskframe.data.text, riskframe.llm) -------------------------
    def text(self, artifact: Artifact) -> TextCorpus:
        """A text dataset, validated once (one streaming pass); its records are read on demand."""
        return self._cached((_TEXT, artifact.name), partial(open_text_corpus, artifact, self.roots))  # type: ignore[return-value]

    def endpoint(self, artifact: Artifact) -> Endpoint:
        """An ``endpoint`` artifact's endpoint file, loaded and checked once."""
        from riskframe.llm.endpoint import load_endpoint

        return self._cached(("endpoint", artifact.name), partial(load_endpoint, artifact, self.roots))  # type: ignore[return-value]
    # ---------------------------------------------------------------------------------------------

    def _cached(self, key: tuple[str, str], load: Callable[[], object]) -> object:
        # One lock per artifact: a run hashing a 10 GB model must not hold up every other run's
        # dataset, yet a dataset three runs ask for at once is still read only once.
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            with self._lock:
                if key in self._cache:  # loaded by the thread we waited for
                    return self._cache[key]
            value = load()
            with self._lock:
                self._cache[key] = value
            return value


@dataclass(frozen=True)
class RunContext:
    """The inputs of one detector run.

    ``bindings`` maps each role to its artifacts: one artifact for ``dataset``,
    ``representations`` and ``model``; every artifact of the stage for ``files``. ``shared`` is a
    folder where a run in a worker process leaves results other runs reuse
    (:func:`riskframe.detectors.shared.computed_once`); ``None`` in riskframe's own process, where a
    module's memory serves.

    >>> ctx.dataset().features.shape  # doctest: +SKIP
    (1437, 64)
    """

    stage: Stage
    bindings: Mapping[str, tuple[Artifact, ...]]
    store: ArtifactStore
    seed: int = 0
    extras: Mapping[str, object] = field(default_factory=dict)
    shared: Path | None = None

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

    def text(self, role: str = "dataset") -> TextCorpus:
        """The bound text dataset (see :mod:`riskframe.data.text`)."""
        return self.store.text(self.artifact(role))

    def endpoint(self) -> Endpoint:
        """The bound language-model endpoint (see :mod:`riskframe.llm.endpoint`)."""
        return self.store.endpoint(self.artifact("endpoint"))

    def table(self, role: str = "dataset") -> Table:
        return self.store.table(self.artifact(role))

    def representations(self) -> np.ndarray:
        """The bound representations, checked to be row-aligned with the bound dataset."""
        reps = self.store.representations(self.artifact("representations"))
        if self.has("dataset"):
            n = self.dataset().n_samples
            if reps.shape[0] != n:
                raise ArtifactError(f"representations have {reps.shape[0]} rows but dataset "
                                    f"{self.artifact('dataset').name!r} has {n} samples; "
                                    "they must be row-aligned", "of")
        return reps
