"""A dataset read as a table of named, typed columns, missing values kept: what data validation sees.

:func:`~riskframe.data.datasets.load_dataset` refuses what detectors of poisoning cannot use (NaN,
text features). Schema validation and drift need to *see* those instead: a column that starts
holding text, a column with gaps. :func:`load_table` reads the same artifacts (npz, npy, csv) under
the same rules (roots, magic, memory budget, no pickles, messages never quote the file) but keeps:

- every feature column by name (a csv header's names; ``X[0]``, ``X[1]``... for arrays, images
  flattened in row-major order);
- missing values: empty csv fields and ``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ``?``, and
  NaN or infinite array values;
- text: a csv column with any non-numeric value is a text column, its values coded against the
  distinct strings;
- labels when the artifact has them (integer class ids, as for detectors), else none: production
  data often arrives unlabelled.

Statistics over a table are pure functions of its columns (numpy arrays), so that a later chunked
reader can feed them block by block.
"""

from __future__ import annotations

import csv
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from riskframe.data._csv import _bounded_lines
from riskframe.data.budget import Budget
from riskframe.data.datasets import _integer_labels
from riskframe.data.numpy_files import ArrayHeader, Npz, check_magic, npy_header, read_npy
from riskframe.data.roots import DataRoots
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
_NUMERIC_KINDS = "biuf"


@dataclass(frozen=True, eq=False)
class Column:
    """One feature column.

    ``values`` is float64 with NaN for missing values (a number column), or int64 codes into
    ``categories`` with -1 for missing values (a text column). Read-only.
    """

    name: str
    values: np.ndarray
    categories: tuple[str, ...] | None = None

    @property
    def is_text(self) -> bool:
        return self.categories is not None

    @cached_property
    def missing(self) -> np.ndarray:
        """Boolean mask of the missing values (computed once)."""
        mask: np.ndarray = self.values < 0 if self.is_text else np.isnan(self.values)
        mask.flags.writeable = False
        return mask


@dataclass(frozen=True, eq=False)
class Table:
    """A dataset as named columns; ``labels`` holds each row's integer label, or is None."""

    name: str
    path: Path
    columns: tuple[Column, ...]
    labels: np.ndarray | None
    n_rows: int

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def load_table(artifact: Artifact, roots: DataRoots | Path, budget: Budget | None = None) -> Table:
    """Read a ``type: dataset`` artifact as a :class:`Table`.

    Raises
    ------
    ArtifactError
        Outside the roots, missing, a pickle, damaged, over the memory budget, without the named
        arrays or columns, with labels that are not integer class ids, or no rows.

    Examples
    --------
    >>> table = load_table(Artifact(name="w", type="dataset", path="w.csv", labels="y"), Path("data"))  # doctest: +SKIP
    >>> [c.name for c in table.columns], table.n_rows  # doctest: +SKIP
    (['age', 'country'], 1200)
    """
    roots = roots if isinstance(roots, DataRoots) else DataRoots(roots)
    budget = budget if budget is not None else Budget.from_environment()
    fmt = artifact.resolved_format
    if fmt not in ("npz", "npy", "csv"):
        raise ArtifactError(f"cannot read a dataset of format {fmt!r}; declare format: npz, npy or csv", "format")
    path = roots.existing(artifact.path, single=f"an artifact of format {fmt}")
    check_magic(path, fmt)
    if fmt == "csv":
        return _from_csv(path, artifact, budget)
    if fmt == "npz":
        return _from_npz(path, artifact, budget)
    return _from_npy(path, artifact, roots, budget)


# Arrays -----------------------------------------------------------------------------------------

def _from_npz(path: Path, artifact: Artifact, budget: Budget) -> Table:
    if isinstance(artifact.features, list):
        raise ArtifactError("an npz dataset names one features array, e.g. `features: X`", "features")
    key = artifact.features or "X"
    with Npz(path) as npz:
        if key not in npz.files:
            raise ArtifactError(f"{path.name} has no array named {key!r}", "features")
        label_key = artifact.labels or ("y" if "y" in npz.files else None)
        if label_key is not None and label_key not in npz.files:
            raise ArtifactError(f"{path.name} has no array named {label_key!r}", "labels")
        header = npz.header(key, "features")
        labels_bytes = npz.header(label_key, "labels").nbytes if label_key else 0
        with budget.reserve(_column_bytes(header) + labels_bytes, f"{path.name}: features ({header.describe()})"):
            features = npz.array(key, "features")
            labels = npz.array(label_key, "labels") if label_key else None
            return _array_table(artifact, path, key, features, labels)


def _from_npy(path: Path, artifact: Artifact, roots: DataRoots, budget: Budget) -> Table:
    labels_path = roots.existing(artifact.labels, "labels", single="a label file") if artifact.labels else None
    header = npy_header(path, "path")
    extra = 0
    if labels_path is not None:
        check_magic(labels_path, "npy", "labels")
        extra = npy_header(labels_path, "labels").nbytes
    with budget.reserve(_column_bytes(header) + extra, f"{path.name}: features ({header.describe()})"):
        labels = read_npy(labels_path, "labels") if labels_path is not None else None
        return _array_table(artifact, path, "X", read_npy(path, "path"), labels)


def _array_table(artifact: Artifact, path: Path, key: str, features: np.ndarray,
                 labels: np.ndarray | None) -> Table:
    name = path.name
    if features.dtype.kind not in _NUMERIC_KINDS:
        raise ArtifactError(f"{name}: features must be numeric; got dtype {features.dtype}", "features")
    if features.ndim not in (2, 3, 4) or features.shape[0] == 0 or features[0].size == 0:
        raise ArtifactError(f"{name}: features must be a non-empty (N, D) array, or images (N, H, W[, C]); "
                            f"got shape {features.shape}", "features")
    n = features.shape[0]
    # One copy, column-major, so that each column is a contiguous view; missing values rewritten in it.
    by_column = np.array(features.reshape(n, -1).T, dtype=np.float64, order="C")
    by_column[~np.isfinite(by_column)] = np.nan
    by_column.flags.writeable = False
    columns = tuple(Column(f"{key}[{j}]", by_column[j]) for j in range(by_column.shape[0]))
    return Table(artifact.name, path, columns, _checked_labels(labels, n, name), n)


def _column_bytes(header: ArrayHeader) -> int:
    """The array as read, plus its float64 column-major copy."""
    return header.nbytes + header.count * 8


def _checked_labels(labels: np.ndarray | None, n: int, name: str) -> np.ndarray | None:
    if labels is None:
        return None
    labels = labels.reshape(-1) if labels.ndim == 2 and 1 in labels.shape else labels
    if labels.ndim != 1 or labels.shape[0] != n:
        got = f"{labels.shape[0]}" if labels.ndim == 1 else f"shape {labels.shape}"
        raise ArtifactError(f"{name}: features have {n} rows but labels have {got}", "labels")
    return _read_only(_integer_labels(labels, name))


# Csv ------------------------------------------------------------------------------------------------

def _csv_label(text: str, name: str, line: int) -> int:
    """An integer label from csv text ("3", "3.0", " 7 ")."""
    try:
        number = float(text)
        if not number.is_integer() or abs(number) >= 2**63:
            raise ValueError(text)
        return int(number)
    except (ValueError, OverflowError):
        raise ArtifactError(f"{name}: labels must be integer class ids, and the one on line {line} is not",
                            "labels") from None


def _from_csv(path: Path, artifact: Artifact, budget: Budget) -> Table:
    name = path.name
    try:
        kinds, header, rows = _scan_csv(path, artifact)
        wanted, label_index = _csv_columns(header, artifact, name)
        text = [kinds[i] for i in wanted]
        with budget.reserve(rows * 8 * (len(wanted) + (label_index is not None)), f"{name}: {rows} rows of "
                            f"{len(wanted)} columns"):
            return _read_csv(path, artifact, header, wanted, text, label_index, rows)
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{name} is not UTF-8 text, as a csv dataset must be "
                            f"({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise ArtifactError(f"{name} is not valid csv ({exc})") from None


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    # utf-8-sig: spreadsheet exports often start with a byte-order mark glued to the first name
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(_bounded_lines(handle, path.name))
        for row in reader:
            if row:
                yield reader.line_num, row


def _scan_csv(path: Path, artifact: Artifact) -> tuple[list[bool], list[str], int]:
    """First pass: the header, which columns hold text (any non-numeric, non-missing value), rows."""
    rows = _rows(path)
    first = next(rows, None)
    if first is None:
        raise ArtifactError(f"{path.name} is empty")
    header = first[1]
    if len(set(header)) != len(header):
        raise ArtifactError(f"{path.name}: its header names a column twice; column names must be unique")
    text = [False] * len(header)
    count = 0
    for line, row in rows:
        if len(row) != len(header):
            raise ArtifactError(f"{path.name}: line {line} has {len(row)} values but the header has "
                                f"{len(header)} columns")
        count += 1
        for index, value in enumerate(row):
            if not text[index] and not _is_missing(value) and not is_number(value):
                text[index] = True
    if count == 0:
        raise ArtifactError(f"{path.name} has a header but no rows")
    return text, header, count


def _csv_columns(header: list[str], artifact: Artifact, name: str) -> tuple[list[int], int | None]:
    labels = artifact.labels
    if labels is not None and labels not in header:
        raise ArtifactError(f"{name} has no column {labels!r} (looked up in its header line, of "
                            f"{len(header)} columns)", "labels")
    wanted = [artifact.features] if isinstance(artifact.features, str) else list(artifact.features or [])
    wanted = wanted or [c for c in header if c != labels]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise ArtifactError(f"{name} has no column(s) {', '.join(map(repr, missing))} (looked up in its header "
                            f"line, of {len(header)} columns)", "features")
    return [header.index(c) for c in wanted], (header.index(labels) if labels is not None else None)


def _read_csv(path: Path, artifact: Artifact, header: list[str], wanted: list[int], text: list[bool],
              label_index: int | None, n_rows: int) -> Table:
    numbers = {i: array("d") for i, is_text in zip(wanted, text, strict=True) if not is_text}
    codes = {i: array("q") for i, is_text in zip(wanted, text, strict=True) if is_text}
    categories: dict[int, dict[str, int]] = {i: {} for i in codes}
    labels = array("q")
    rows = _rows(path)
    next(rows)  # the header, checked by the first pass
    for line, row in rows:
        for index, floats in numbers.items():
            floats.append(float("nan") if _is_missing(row[index]) else _finite(float(row[index])))
        for index, ints in codes.items():
            value = row[index]
            ints.append(-1 if _is_missing(value) else categories[index].setdefault(value, len(categories[index])))
        if label_index is not None:
            labels.append(_csv_label(row[label_index], path.name, line))
    columns = []
    for index in wanted:
        if index in numbers:
            columns.append(Column(header[index], _read_only(np.frombuffer(numbers[index], np.float64).copy())))
        else:
            columns.append(Column(header[index], _read_only(np.frombuffer(codes[index], np.int64).copy()),
                                  tuple(categories[index])))
    label_values = _read_only(np.frombuffer(labels, np.int64).copy()) if label_index is not None else None
    return Table(artifact.name, path, tuple(columns), label_values, n_rows)


def _is_missing(value: str) -> bool:
    return value.strip().lower() in MISSING_TOKENS


def is_number(value: str) -> bool:
    """Whether csv text reads as a number (as ``float`` reads it)."""
    try:
        float(value)
    except ValueError:
        return False
    return True


def _finite(value: float) -> float:
    return value if np.isfinite(value) else float("nan")  # "inf" in a csv: no usable number


def _read_only(values: np.ndarray) -> np.ndarray:
    values.flags.writeable = False
    return values
