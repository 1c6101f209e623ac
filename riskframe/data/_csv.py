"""A csv dataset streamed into arrays, row by row, within the memory budget.

Each row is converted as it is read (no table of strings is ever held), lines are read with a bound
on their length (a file without line breaks is not read into one string), and the arrays are
refused as soon as the rows read so far outgrow what is left of the budget. Messages locate a bad
value by line and column number and never quote the file's text, not even its header.
"""

from __future__ import annotations

import csv
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

from riskframe.data.budget import Budget
from riskframe.errors import ArtifactError

MAX_LINE_CHARS = 16 << 20
_LABEL_BYTES = 16  # an int64 label and its int64 class code


def read_csv(path: Path, labels: str, features: str | Sequence[str] | None, budget: Budget,
             groups: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Features (N, D) float64, integer labels and (with ``groups``) integer group codes from a
    csv file with a header line; the group column's values are any text, coded in order of
    first appearance.

    Raises
    ------
    ArtifactError
        Not UTF-8, not csv, a missing column, a row of the wrong width, a value that is not a
        number (or, for labels, not an integer), or more rows than the budget holds.
    """
    name = path.name
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark glued to the first name
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return _parse(csv.reader(_bounded_lines(handle, name)), name, labels, features, budget, groups)
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{name} is not UTF-8 text, as a csv dataset must be "
                            f"({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise ArtifactError(f"{name} is not valid csv ({exc})") from None


def _parse(reader: Iterator[list[str]], name: str, labels: str, features: str | Sequence[str] | None,
           budget: Budget, groups: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    header = next((row for row in reader if row), None)
    if header is None:
        raise ArtifactError(f"{name} is empty")
    if labels not in header:
        raise ArtifactError(f"{name} has no column {labels!r} (looked up in its header line, of "
                            f"{len(header)} columns)", "labels")
    if groups is not None and groups not in header:
        raise ArtifactError(f"{name} has no column {groups!r} (looked up in its header line, of "
                            f"{len(header)} columns)", "groups")
    wanted = [features] if isinstance(features, str) else list(features or [])
    wanted = wanted or [c for c in header if c not in (labels, groups)]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise ArtifactError(f"{name} has no column(s) {', '.join(map(repr, missing))} (looked up in its header "
                            f"line, of {len(header)} columns)", "features")
    columns, label_column = [header.index(c) for c in wanted], header.index(labels)
    values, codes, members = array("d"), array("q"), array("q")
    group_column = header.index(groups) if groups is not None else None
    group_codes: dict[str, int] = {}
    row_bytes = 8 * len(columns) + _LABEL_BYTES + (8 if groups is not None else 0)
    for row in reader:
        if not row:
            continue
        line = reader.line_num  # type: ignore[attr-defined]
        if len(row) != len(header):
            raise ArtifactError(f"{name}: line {line} has {len(row)} values but the header has {len(header)} columns")
        if (len(codes) + 1) * row_bytes > budget.left:
            raise budget.exceeded((len(codes) + 1) * row_bytes, f"{name}: {len(codes) + 1} rows of "
                                  f"{len(columns)} features", when=f"at line {line}, before reading the rest")
        for index in columns:
            try:
                values.append(float(row[index]))
            except ValueError:
                raise ArtifactError(f"{name}: line {line}, column {index + 1}: feature values must be numbers, and "
                                    "this one is not", "features") from None
        codes.append(_label(row[label_column], name, line))
        if group_column is not None:
            members.append(group_codes.setdefault(row[group_column], len(group_codes)))
    grouped = np.frombuffer(members, np.int64) if group_column is not None else None
    return (np.frombuffer(values, dtype=np.float64).reshape(len(codes), len(columns)),
            np.frombuffer(codes, np.int64), grouped)


def _label(text: str, name: str, line: int) -> int:
    """An integer label from csv text ("3", "3.0", " 7 ")."""
    try:
        number = float(text)
        if not number.is_integer() or abs(number) >= 2**63:
            raise ValueError(text)
        return int(number)
    except (ValueError, OverflowError):
        raise ArtifactError(f"{name}: labels must be integer class ids, and the one on line {line} is not",
                            "labels") from None


def _bounded_lines(handle: TextIO, name: str) -> Iterator[str]:
    number = 0
    while line := handle.readline(MAX_LINE_CHARS + 1):
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise ArtifactError(f"{name}: line {number} is longer than {MAX_LINE_CHARS} characters; not a csv "
                                "dataset riskframe reads")
        yield line
