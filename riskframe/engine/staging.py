"""Hand an assessment's validated arrays to worker processes: written once, mapped by every run.

The parent loads and validates each dataset and representations artifact once
(:func:`riskframe.engine.prepare.prepare_artifacts`), as arrays or as a table of named columns
(:mod:`riskframe.data.tables`) as its detectors read it, then :func:`stage` writes the arrays it got
as ``.npy`` files in a private folder, with the artifacts' digests. A worker opens them with
:meth:`StagedData.open`: read-only memory maps, whose pages the operating system shares between
all workers; nothing is pickled per run, and no worker reads the user's files again through a
different door (a dataset no run was prepared with is loaded by the same loader as in the parent).
A text corpus is not copied (it may be larger than memory, and detectors stream it): its validated
handle travels instead (shards, record and label counts), so a worker reads the records through
:mod:`riskframe.data.text` without validating the whole corpus again.

>>> staged = stage(store, Path(tempfile.mkdtemp()))  # doctest: +SKIP
>>> staged.open().dataset(artifact).features  # doctest: +SKIP
array(...)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from riskframe.data.datasets import Dataset
from riskframe.data.roots import DataRoots
from riskframe.data.tables import Column, Table
from riskframe.data.text import TextCorpus
from riskframe.detectors.context import ArtifactStore


@dataclass(frozen=True)
class StagedDataset:
    """One dataset as staged: its array fields by file name, its other fields as they are."""

    arrays: Mapping[str, str]
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class StagedTable:
    """One table as staged: its number columns one row each of one array, its text columns' codes
    one row each of another (a few files however many columns), their names and categories as
    they are."""

    name: str
    path: Path
    n_rows: int
    columns: tuple[tuple[str, tuple[str, ...] | None], ...]
    numbers: str | None
    codes: str | None
    labels: str | None


@dataclass(frozen=True)
class StagedData:
    """Where an assessment's arrays were staged, and the digests the parent computed: small and
    picklable, it travels with every job."""

    roots: DataRoots
    folder: Path
    datasets: Mapping[str, StagedDataset]
    representations: Mapping[str, str]
    digests: Mapping[str, str]
    tables: Mapping[str, StagedTable] = dataclasses.field(default_factory=dict)
    texts: Mapping[str, TextCorpus] = dataclasses.field(default_factory=dict)

    def open(self) -> ArtifactStore:
        """A store holding the staged arrays, memory-mapped read-only, and the validated corpora."""
        datasets = {name: self._dataset(staged) for name, staged in self.datasets.items()}
        tables = {name: self._table(staged) for name, staged in self.tables.items()}
        representations = {name: self._map(file) for name, file in self.representations.items()}
        return ArtifactStore(self.roots, datasets=datasets, tables=tables, representations=representations,
                             texts=self.texts,
                             digests=self.digests)

    def _dataset(self, staged: StagedDataset) -> Dataset:
        arrays: dict[str, Any] = {field: self._map(file) for field, file in staged.arrays.items()}
        return Dataset(**staged.fields, **arrays)

    def _table(self, staged: StagedTable) -> Table:
        rows = {kind: iter(self._map(file)) if file else iter(()) for kind, file in
                (("numbers", staged.numbers), ("codes", staged.codes))}
        columns = tuple(Column(name, next(rows["numbers" if categories is None else "codes"]), categories)
                        for name, categories in staged.columns)
        labels = self._map(staged.labels) if staged.labels else None
        return Table(staged.name, staged.path, columns, labels, staged.n_rows)

    def _map(self, file: str) -> np.ndarray:
        # A plain read-only ndarray over the mapping: np.memmap's subclass leaks into results
        # computed from it (a memmap-typed mean), which nothing downstream expects.
        return np.asarray(np.load(self.folder / file, mmap_mode="r", allow_pickle=False))


def stage(store: ArtifactStore, folder: Path) -> StagedData:
    """Write the datasets and representations ``store`` has loaded into ``folder`` (which must be
    private to this user: workers trust what they find there)."""
    datasets = {name: _stage_dataset(dataset, folder, f"dataset-{i}")
                for i, (name, dataset) in enumerate(sorted(store.loaded_datasets().items()))}
    tables = {name: _stage_table(table, folder, f"table-{i}")
              for i, (name, table) in enumerate(sorted(store.loaded_tables().items()))}
    representations = {name: _save(array, folder, f"representations-{i}.npy")
                       for i, (name, array) in enumerate(sorted(store.loaded_representations().items()))}
    return StagedData(store.roots, folder, datasets, representations, store.known_digests(), tables,
                      store.loaded_texts())


def _stage_dataset(dataset: Dataset, folder: Path, stem: str) -> StagedDataset:
    arrays: dict[str, str] = {}
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(dataset):
        value = getattr(dataset, field.name)
        if isinstance(value, np.ndarray):
            arrays[field.name] = _save(value, folder, f"{stem}-{field.name}.npy")
        else:
            fields[field.name] = value
    return StagedDataset(arrays, fields)


def _stage_table(table: Table, folder: Path, stem: str) -> StagedTable:
    numbers = [c.values for c in table.columns if not c.is_text]
    codes = [c.values for c in table.columns if c.is_text]
    return StagedTable(
        table.name, table.path, table.n_rows, tuple((c.name, c.categories) for c in table.columns),
        _save_rows(numbers, np.float64, table.n_rows, folder, f"{stem}-numbers.npy"),
        _save_rows(codes, np.int64, table.n_rows, folder, f"{stem}-codes.npy"),
        _save(table.labels, folder, f"{stem}-labels.npy") if table.labels is not None else None)


def _save_rows(rows: list[np.ndarray], dtype: type, n: int, folder: Path, name: str) -> str | None:
    """The columns as the rows of one array, written row by row (never a second copy in memory)."""
    if not rows:
        return None
    out = np.lib.format.open_memmap(folder / name, mode="w+", dtype=dtype, shape=(len(rows), n))
    for i, values in enumerate(rows):
        out[i] = values
    out.flush()
    del out
    return name


def _save(array: np.ndarray, folder: Path, name: str) -> str:
    np.save(folder / name, array, allow_pickle=False)
    return name
