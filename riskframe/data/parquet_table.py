"""A Parquet dataset (one file, or the shards of one) read into arrays a batch at a time, within
the memory budget.

Columns are found by name in the schema and judged by their type before a row is read: numbers
(integers, floats, booleans, decimals) are features as they are (float64, or float32 when every
feature column is float32: half the memory); text and dictionary (pandas
categorical) columns are categories, coded by value (:mod:`riskframe.data.tabular`), so a csv and a
Parquet file of the same table give the same dataset, and so do its shards in any number. The
footers' row counts size the arrays, and the budget is checked against them before any row group
is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from riskframe.data.budget import Budget
from riskframe.data.parquet import ParquetTable, arrow_errors, pyarrow_module
from riskframe.data.table import Table
from riskframe.data.tabular import Roles, TextCodes, feature_categories, label_classes, roles
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact

_ROW_BYTES = 8 + 8 + 16  # per row: its row number, its label code, and the class code


def read_parquet(paths: Sequence[Path], artifact: Artifact, budget: Budget) -> tuple[Table, np.ndarray]:
    """The table of Parquet files read one after the other, as the artifact's columns declare it,
    and the index of the file each row comes from (row numbers count from 0 in each file).

    Raises
    ------
    ArtifactError
        Not Parquet or damaged, a missing column, a column of a type that is neither number nor
        text (or not the same type in every file), a missing (null) value, too many distinct
        labels or categories, or more rows than the budget holds.
    """
    pa = pyarrow_module()
    chosen, kinds, counts = _survey(paths, artifact, pa)
    total = sum(counts)
    optional = (chosen.groups, chosen.id_column)
    dtype = np.dtype(np.float32 if kinds and all(k == "float32" for k in kinds.values()) else np.float64)
    per_row = _ROW_BYTES + dtype.itemsize * len(chosen.features) + 8 * sum(c is not None for c in optional)
    if total * per_row > budget.left:
        what = f"{paths[0].name}{f' and {len(paths) - 1} more files' if len(paths) > 1 else ''}"
        raise budget.exceeded(total * per_row, f"{what}: {total} rows of {len(chosen.features)} features")
    filler = _Filler(chosen, kinds, total, dtype)
    for path, count in zip(paths, counts, strict=True):
        filler.read(path, count, pa)
    shards = np.repeat(np.arange(len(paths), dtype=np.int32), counts)

    def where(row: int) -> str:
        return f"row {filler.rows[row]}{f' of {paths[shards[row]].name}' if len(paths) > 1 else ''}"

    return filler.table(paths[0].name, where), shards


def _survey(paths: Sequence[Path], artifact: Artifact, pa: Any) -> tuple[Roles, dict[str, str], list[int]]:
    """Each file's footer: the columns (the same roles and kinds in every file) and row counts."""
    chosen: Roles | None = None
    kinds: dict[str, str] = {}
    counts = []
    for path in paths:
        with ParquetTable(path) as table:
            mine = roles(table.names, artifact, path.name)
            found = {c: _kind(pa, c, table.types[c], path.name) for c in mine.features}
            if chosen is not None and (mine != chosen or found != kinds):
                raise ArtifactError(f"{path.name}: its columns are not those of {paths[0].name} (names or types); "
                                    "the files of a dataset must share one schema")
            chosen, kinds = mine, found
            counts.append(table.rows)
    assert chosen is not None  # at least one file
    return chosen, kinds, counts


def _kind(pa: Any, column: str, kind: Any, name: str) -> str:
    types = pa.types
    if types.is_dictionary(kind):
        kind = kind.value_type
    if types.is_float32(kind):
        return "float32"
    if types.is_integer(kind) or types.is_floating(kind) or types.is_boolean(kind) or types.is_decimal(kind):
        return "number"
    if types.is_string(kind) or types.is_large_string(kind):
        return "text"
    raise ArtifactError(f"{name}: column {column!r} holds {kind} values; features must be numbers or text "
                        "(leave it out with ignore_columns:)", "features")


class _Filler:
    """The arrays of ``total`` rows, filled a batch at a time, and the text codes files share."""

    def __init__(self, chosen: Roles, kinds: dict[str, str], total: int, dtype: np.dtype[Any]) -> None:
        self.chosen = chosen
        self.labels = TextCodes("labels")
        self.groups = TextCodes("groups", limit=None)
        self.text = {i: TextCodes("features") for i, c in enumerate(chosen.features) if kinds[c] == "text"}
        self.features = np.empty((total, len(chosen.features)), dtype)
        self.codes = np.empty(total, np.int64)
        self.rows = np.empty(total, np.int64)
        self.members = np.empty(total, np.int64) if chosen.groups is not None else None
        self.ids: list[np.ndarray] = []
        self.at = 0

    def read(self, path: Path, count: int, pa: Any) -> None:
        start = self.at
        with ParquetTable(path) as table:
            if table.rows != count:
                raise ArtifactError(f"{path.name} changed while it was read")
            for batch in table.batches(self.chosen.read):
                if self.at + batch.num_rows > start + count:
                    raise ArtifactError(f"{path.name} is damaged: its row groups hold more rows than its footer "
                                        f"declares ({count})")
                with arrow_errors(path, "path"):  # invalid UTF-8 or values pyarrow decoded but cannot convert
                    self._add(batch, self.at - start, path.name, pa)
        if self.at - start != count:
            raise ArtifactError(f"{path.name} is damaged: its footer declares {count} rows but its row groups hold "
                                f"{self.at - start}")

    def _add(self, batch: Any, first: int, name: str, pa: Any) -> None:
        span = slice(self.at, self.at + batch.num_rows)
        for position, column in enumerate(self.chosen.features):
            values = batch.column(column)
            _no_nulls(values, column, first, name, "features")
            codes = self.text.get(position)
            self.features[span, position] = (_coded(values, codes, pa) if codes is not None
                                             else values.to_numpy(zero_copy_only=False).astype(self.features.dtype))
        labels = batch.column(self.chosen.labels)
        _no_nulls(labels, self.chosen.labels, first, name, "labels")
        self.codes[span] = _coded(labels, self.labels, pa)
        self.rows[span] = np.arange(first, first + batch.num_rows)
        if self.members is not None and self.chosen.groups is not None:
            groups = batch.column(self.chosen.groups)
            _no_nulls(groups, self.chosen.groups, first, name, "groups")
            self.members[span] = _coded(groups, self.groups, pa)
        if self.chosen.id_column is not None:
            ids = batch.column(self.chosen.id_column).to_numpy(zero_copy_only=False)
            self.ids.append(ids if ids.dtype.kind in "iu" else ids.astype(str))
        self.at += batch.num_rows

    def table(self, name: str, where: Callable[[int], str]) -> Table:
        categories = feature_categories(self.chosen.features, self.features, self.text)
        labels, classes = label_classes(self.codes, self.labels, name, where)
        ids = None
        if self.chosen.id_column is not None:
            ids = np.concatenate(self.ids) if self.ids else np.array([], dtype=str)
        return Table(self.features, labels, classes, self.rows, self.chosen.features, categories, self.members, ids)


def _no_nulls(values: Any, column: str, first: int, name: str, field: str) -> None:
    if values.null_count:
        row = first + int(np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False))[0])
        raise ArtifactError(f"{name}: row {row}, column {column!r}: the value is missing (null); riskframe screens "
                            "complete rows, so fill it in or drop the row", field)


def _coded(values: Any, codes: TextCodes, pa: Any) -> np.ndarray:
    """Each value's code: the batch's distinct values are coded once each (a dictionary encoding),
    then spread to the rows with numpy."""
    if pa.types.is_dictionary(values.type):  # a dictionary may hold values no row uses: never a class
        values = values.dictionary_decode()
    encoded = values.dictionary_encode()
    distinct = np.array([codes.code(_text(v)) for v in encoded.dictionary.to_pylist()], dtype=np.int64)
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    return distinct[indices] if distinct.size else np.empty(0, np.int64)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
