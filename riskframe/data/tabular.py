"""A table's columns as a dataset: which column is what, and text values coded the same way everywhere.

csv files and Parquet tables both name their columns. The artifact says which one holds the labels
(``labels:``), the entity of each row (``groups:``), the row's identifier (``id_column:``), which
columns to leave out (``ignore_columns:``) and, optionally, which are the features (``features:``;
by default every other column). An identifier is never a feature: it tells rows apart, so a model
would learn it by heart.

Text is coded by value, not by position: the classes of ``species`` and the categories of a
feature ``island`` are numbered in sorted order of their values once the whole table is read, so
the same values give the same codes whatever the row order, the file format or the shard. Labels
that are all integers ("3", "3.0") stay integer classes; otherwise they are the text ('barolo').

>>> codes = TextCodes("labels")
>>> [codes.code(t) for t in ["barolo", "barbera", "barolo"]]
[0, 1, 0]
>>> values, remap = codes.finish()
>>> values.tolist(), remap.tolist()
(['barbera', 'barolo'], [1, 0])
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact

# Labels are classes, and a category is one of a handful of kinds: more distinct values than this
# is an identifier or free text (refused, with the keys that fix it), and bounds what a hostile
# file can make riskframe hold in its look-up tables.
MAX_DISTINCT = 10_000
_SUGGESTED_CHARS = 64


@dataclass(frozen=True)
class Roles:
    """The columns a dataset reads, by name: ``features`` in order, and the label, group and id
    columns (``None``: not declared)."""

    features: tuple[str, ...]
    labels: str
    groups: str | None = None
    id_column: str | None = None

    @property
    def read(self) -> tuple[str, ...]:
        """Every column read, each once: the features, then labels, groups and ids."""
        named = [c for c in (self.labels, self.groups, self.id_column) if c is not None]
        return tuple(dict.fromkeys([*self.features, *named]))


def roles(header: Sequence[str], artifact: Artifact, name: str) -> Roles:
    """Which of ``header``'s columns play which part, checked against the artifact's keys.

    Raises
    ------
    ArtifactError
        A named column is missing (with the nearest name when there is one), a column is named as
        a feature and as the label or id, or no feature column is left; blamed on the key.
    """
    if not artifact.labels:
        raise ArtifactError("a table dataset needs `labels:`, the name of the label column", "labels")
    present = set(header)
    for key in ("labels", "groups", "id_column"):
        _check_named(getattr(artifact, key), present, header, name, key)
    for column in artifact.ignore_columns:
        _check_named(column, present, header, name, "ignore_columns")
    named = [artifact.features] if isinstance(artifact.features, str) else list(artifact.features or [])
    for column in named:
        _check_named(column, present, header, name, "features")
    special = {artifact.labels: "the label column", artifact.id_column: "the id column"}
    for column in named:
        if column in special:
            raise ArtifactError(f"{column!r} is {special[column]}, so it cannot also be a feature", "features")
        if column in artifact.ignore_columns:
            raise ArtifactError(f"{column!r} is listed under ignore_columns, so it cannot also be a feature",
                                "features")
    left_out = {artifact.labels, artifact.groups, artifact.id_column, *artifact.ignore_columns}
    features = tuple(named) if named else tuple(c for c in header if c not in left_out)
    if not features:
        raise ArtifactError(f"{name}: no feature column is left once the label, group, id and ignored columns "
                            "are set aside", "features")
    return Roles(features, artifact.labels, artifact.groups, artifact.id_column)


def missing_column(column: str, header: Sequence[str], name: str, key: str) -> ArtifactError:
    """The error for a column ``name`` lacks; it suggests a header name close to the one written
    (a close match only, so a file's other column names are never shown)."""
    near = difflib.get_close_matches(column, [h for h in header if _showable(h)], n=1, cutoff=0.75)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    return ArtifactError(f"{name} has no column {column!r} (looked up in its header, of {len(header)} "
                         f"columns){hint}", key)


def _check_named(column: str | None, present: set[str], header: Sequence[str], name: str, key: str) -> None:
    if column is not None and column not in present:
        raise missing_column(column, header, name, key)


def _showable(text: str) -> bool:
    return 0 < len(text) <= _SUGGESTED_CHARS and text.isprintable()


@dataclass
class TextCodes:
    """Codes for text values, given in order of first appearance while a table streams by, and
    renumbered in sorted order of the values at the end (:meth:`finish`). ``what`` names the
    column in errors; more than ``limit`` distinct values are refused (``None``: no limit, for
    entities, which are many)."""

    what: str
    limit: int | None = MAX_DISTINCT
    codes: dict[str, int] = field(default_factory=dict)

    def code(self, text: str) -> int:
        code = self.codes.get(text)
        if code is None:
            if self.limit is not None and len(self.codes) >= self.limit:
                raise ArtifactError(self.too_many(), self.what)
            code = self.codes[text] = len(self.codes)
        return code

    def too_many(self) -> str:
        return (f"{self.what} take more than {MAX_DISTINCT:,} distinct values, which is not a set of classes or "
                "categories (an identifier or free text?): name it under id_column: or ignore_columns:")

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """The values in sorted order, and the array that maps a first-appearance code to its
        sorted position."""
        values = np.array(list(self.codes), dtype=str) if self.codes else np.array([], dtype=str)
        order = np.argsort(values, kind="stable")
        remap = np.empty(len(values), dtype=np.int64)
        remap[order] = np.arange(len(values))
        return values[order], remap


def label_classes(codes: np.ndarray, labels: TextCodes, name: str = "",
                  where: Callable[[int], str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Class codes 0..K-1 and the class values, in sorted order: integers when every label text is
    one ("3", "3.0", " 7 "), the texts when any label is not a number ('barolo').

    Raises
    ------
    ArtifactError
        Every label is a number but one is not an integer (a measurement, not a class); ``where``
        turns the row of its first appearance into words (``line 12``).
    """
    values, remap = labels.finish()
    numbers = _as_numbers(values)
    if numbers is None:
        return remap[codes], values
    fractional = np.flatnonzero((numbers != np.round(numbers)) | (np.abs(numbers) >= 2.0**63))
    if fractional.size:
        row = int(np.flatnonzero(remap[codes] == fractional[0])[0])
        place = where(row) if where is not None else f"row {row}"
        raise ArtifactError(f"{name}: labels are numbers, so they must be integer class ids, and the one on {place} "
                            "is not", "labels")
    classes, inverse = np.unique(numbers.astype(np.int64), return_inverse=True)
    return inverse.reshape(-1)[remap[codes]].astype(np.int64), classes


def _as_numbers(values: np.ndarray) -> np.ndarray | None:
    out = np.empty(values.size, dtype=np.float64)
    for i, text in enumerate(values.tolist()):
        try:
            out[i] = float(text)
        except ValueError:
            return None
    return out if np.isfinite(out).all() else None


def feature_categories(columns: Sequence[str], features: np.ndarray,
                       text: dict[int, TextCodes]) -> dict[str, tuple[str, ...]]:
    """Renumber the text feature columns (``text``: column position -> its codes) in sorted
    order of their values, in place in ``features``; the categories of each, by column name."""
    categories: dict[str, tuple[str, ...]] = {}
    for position, codes in text.items():
        values, remap = codes.finish()
        column = features[:, position]
        column[:] = remap[column.astype(np.int64)]
        categories[columns[position]] = tuple(values.tolist())
    return categories
