"""A csv dataset streamed into arrays, row by row, within the memory budget.

Each row is converted as it is read (no table of strings is ever held), lines are read with a bound
on their length (a file without line breaks is not read into one string), and the arrays are
refused as soon as the rows read so far outgrow what is left of the budget. Messages locate a bad
value by line and column number and never quote the file's values.

A feature column whose first value is a number holds numbers; one whose first value is text is a
category (coded by :mod:`riskframe.data.tabular`, the same way in every file). Every row keeps
the line it starts on, so that a flagged sample can be found in the file.
"""

from __future__ import annotations

import csv
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import numpy as np

from riskframe.data.budget import Budget
from riskframe.data.table import Table
from riskframe.data.tabular import Roles, TextCodes, feature_categories, label_classes, roles
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact

MAX_LINE_CHARS = 16 << 20
# Values that mean "nothing here" in csv exports (pandas, R, spreadsheets): never a number nor a category.
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
_ROW_BYTES = 8 + 8 + 16  # per row: its line, its label code, and the label value's int64 class code
_ID_CHUNK = 1 << 16


def read_csv(path: Path, artifact: Artifact, budget: Budget) -> Table:
    """The table of a csv file with a header line, as the artifact's columns declare it.

    Raises
    ------
    ArtifactError
        Not UTF-8, not csv, a missing column, a row of the wrong width, a missing value, a number
        column holding text, too many distinct labels or categories, or more rows than the budget holds.
    """
    name = path.name
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark glued to the first name
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return _parse(csv.reader(_bounded_lines(handle, name)), name, artifact, budget)
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{name} is not UTF-8 text, as a csv dataset must be "
                            f"({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise ArtifactError(f"{name} is not valid csv ({exc})") from None


def csv_header(path: Path) -> list[str]:
    """The column names on the first non-empty line (for ``validate``); empty for an empty file.

    Raises
    ------
    ArtifactError
        Not UTF-8 or not csv.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return next((row for row in csv.reader(_bounded_lines(handle, path.name)) if row), [])
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{path.name} is not UTF-8 text, as a csv dataset must be "
                            f"({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise ArtifactError(f"{path.name} is not valid csv ({exc})") from None


class _Rows:
    """The arrays a csv grows into, one row at a time."""

    def __init__(self, header: list[str], chosen: Roles) -> None:
        self.width = len(header)
        self.features = [header.index(c) for c in chosen.features]
        self.label = header.index(chosen.labels)
        self.group = header.index(chosen.groups) if chosen.groups is not None else None
        self.id = header.index(chosen.id_column) if chosen.id_column is not None else None
        self.values, self.codes, self.lines, self.members = array("d"), array("q"), array("q"), array("q")
        self.labels = TextCodes("labels")
        self.groups: dict[str, int] = {}
        self.text: dict[int, TextCodes] = {}  # feature position -> codes, for text columns
        self.ids: list[np.ndarray] = []
        self.pending_ids: list[str] = []
        self.id_chars = 0

    def bytes_for(self, rows: int) -> int:
        """Memory for ``rows`` rows (and the look-up tables so far): what the budget is checked against."""
        per_row = _ROW_BYTES + 8 * len(self.features) + (8 if self.group is not None else 0) + 4 * self.id_chars
        return rows * per_row + 100 * len(self.groups)

    def add(self, row: list[str], line: int, name: str) -> None:
        for position, index in enumerate(self.features):
            self.values.append(self._feature(row[index], position, line, index, name))
        text = row[self.label].strip()
        code = self.labels.codes.get(text)
        if code is None:  # a value not seen before: the only kind that can be a missing marker
            if text.lower() in MISSING:
                raise ArtifactError(f"{name}: line {line}, column {self.label + 1}: the label is missing", "labels")
            code = self.labels.code(text)
        self.codes.append(code)
        self.lines.append(line)
        if self.group is not None:
            self.members.append(self.groups.setdefault(row[self.group], len(self.groups)))
        if self.id is not None:
            self._add_id(row[self.id])

    def _feature(self, text: str, position: int, line: int, index: int, name: str) -> float:
        codes = self.text.get(position)
        if codes is not None:
            value = text.strip()
            code = codes.codes.get(value)
            if code is None:
                _check_present(value, name, line, index)
                code = codes.code(value)
            return float(code)
        try:
            number = float(text)
        except ValueError:
            _check_present(text, name, line, index)
            if len(self.codes) == 0:  # the first row: a text value makes the column a category
                codes = self.text[position] = TextCodes("features")
                return float(codes.code(text.strip()))
            raise ArtifactError(f"{name}: line {line}, column {index + 1}: the column holds numbers from its first "
                                "row, and this value is not one (a column of categories must hold text from its first "
                                "row)", "features") from None
        if number != number:  # NaN: written as nan or NaN, a missing value
            _check_present("nan", name, line, index)
        return number

    def _add_id(self, text: str) -> None:
        self.pending_ids.append(text)
        self.id_chars = max(self.id_chars, len(text))
        if len(self.pending_ids) >= _ID_CHUNK:
            self._flush_ids()

    def _flush_ids(self) -> None:
        if self.pending_ids:
            self.ids.append(np.array(self.pending_ids, dtype=str))
            self.pending_ids = []

    def table(self, columns: tuple[str, ...], name: str) -> Table:
        n = len(self.codes)
        features = np.frombuffer(self.values, dtype=np.float64).reshape(n, len(self.features))  # writable, no copy
        categories = feature_categories(columns, features, self.text)
        lines = np.frombuffer(self.lines, np.int64)
        codes, classes = label_classes(np.frombuffer(self.codes, np.int64), self.labels, name,
                                       lambda row: f"line {lines[row]}")
        self._flush_ids()
        ids = (np.concatenate(self.ids) if self.ids else np.array([], dtype=str)) if self.id is not None else None
        groups = np.frombuffer(self.members, np.int64) if self.group is not None else None
        return Table(features, codes, classes, lines, columns, categories, groups, ids)


def _check_present(text: str, name: str, line: int, index: int) -> None:
    if text.strip().lower() in MISSING:
        raise ArtifactError(f"{name}: line {line}, column {index + 1}: the value is missing; riskframe screens "
                            "complete rows, so fill it in or drop the row (or leave the column out with "
                            "ignore_columns:)", "features")


def _parse(reader: Iterator[list[str]], name: str, artifact: Artifact, budget: Budget) -> Table:
    header = next((row for row in reader if row), None)
    if header is None:
        raise ArtifactError(f"{name} is empty")
    chosen = roles(header, artifact, name)
    rows = _Rows(header, chosen)
    ended = reader.line_num  # type: ignore[attr-defined]
    for row in reader:
        start, ended = ended + 1, reader.line_num  # type: ignore[attr-defined]
        if not row:
            continue
        if len(row) != rows.width:
            raise ArtifactError(f"{name}: line {start} has {len(row)} values but the header has {rows.width} columns")
        needed = rows.bytes_for(len(rows.codes) + 1)
        if needed > budget.left:
            raise budget.exceeded(needed, f"{name}: {len(rows.codes) + 1} rows of {len(rows.features)} features",
                                  when=f"at line {start}, before reading the rest")
        rows.add(row, start, name)
    return rows.table(chosen.features, name)


def _bounded_lines(handle: TextIO, name: str) -> Iterator[str]:
    number = 0
    while line := handle.readline(MAX_LINE_CHARS + 1):
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise ArtifactError(f"{name}: line {number} is longer than {MAX_LINE_CHARS} characters; not a csv "
                                "dataset riskframe reads")
        yield line
