"""A dataset's profile: the inferred schema and the statistics that later data is checked against.

What TFDV's ``infer_schema`` and ``generate_statistics`` give, as one JSON file to commit beside
the pipeline (``riskframe profile DATASET --out profile.json``):

- per column: its type (``integer``, ``float``, ``text``); its kind: ``categorical`` for text of at
  most 1,000 distinct values and for integer columns of at most ``max_categories``, ``free-text``
  for other text (identifiers), else ``numeric``; missing and distinct counts; for numeric columns
  the range, mean, standard deviation, percentiles and the counts in the reference deciles (what
  drift is tested on); for categorical ones the domain with each value's count;
- the label distribution, and per class the same statistics (class-conditional drift is tested
  against them).

The same table gives the same bytes (no timestamp), so a profile changes in review only when the
data does. Statistics are pure functions of numpy columns.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from riskframe.data.tables import Column, Table
from riskframe.errors import ArtifactError

PROFILE_VERSION = 1
MAX_CATEGORIES = 20
MAX_TEXT_VALUES = 1000  # a text column with more distinct values is free text or an identifier: no domain
MAX_PROFILE_BYTES = 256 << 20
PERCENTILES = (0.0, 1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0, 100.0)
DECILES = np.arange(1, 10) / 10
ColumnType = Literal["integer", "float", "text"]
ColumnKind = Literal["numeric", "categorical", "free-text"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Bins(_Model):
    """Counts between the reference's deciles: ``edges`` are the cut points (duplicates merged), a
    value ``v`` falls in bin ``searchsorted(edges, v, side='right')``."""

    edges: list[float]
    counts: list[int]


class Numbers(_Model):
    """Summary of a numeric column's present values."""

    min: float
    max: float
    mean: float
    std: float
    percentiles: list[float] = Field(description=f"at {', '.join(f'{p:g}' for p in PERCENTILES)} percent")
    bins: Bins


class Domain(_Model):
    """A categorical column's values (strings for text, numbers otherwise) and their counts."""

    values: list[str] | list[float]
    counts: list[int]


class LabelCounts(_Model):
    """The label values (integer class ids) and how many rows hold each."""

    values: list[int]
    counts: list[int]


class ColumnStats(_Model):
    """Statistics of one column (over the whole table, or one class's rows)."""

    count: int = Field(description="present (non-missing) values")
    missing: int
    numbers: Numbers | None = None
    domain: Domain | None = None


class ColumnProfile(ColumnStats):
    name: str
    type: ColumnType
    kind: ColumnKind
    unique: int = Field(description="distinct present values")


class ClassProfile(_Model):
    label: int
    rows: int
    columns: list[ColumnStats] = Field(description="in the order of the profile's columns")


class DatasetInfo(_Model):
    """The profiled file (its name only: the profile does not depend on where it was made)."""

    file: str
    rows: int


class Profile(_Model):
    """The profile document (``riskframe profile``)."""

    riskframe_profile: Literal[1] = 1  # PROFILE_VERSION
    dataset: DatasetInfo
    max_categories: int
    columns: list[ColumnProfile]
    labels: LabelCounts | None = Field(default=None, description="label values and their counts, when labelled")
    classes: list[ClassProfile] = Field(default_factory=list)

    def column(self, name: str) -> ColumnProfile | None:
        return next((c for c in self.columns if c.name == name), None)


def profile_table(table: Table, max_categories: int = MAX_CATEGORIES) -> Profile:
    """Infer the schema and statistics of ``table``.

    Examples
    --------
    >>> profile = profile_table(load_table(artifact, roots))  # doctest: +SKIP
    >>> profile.columns[0].type, profile.columns[0].kind  # doctest: +SKIP
    ('float', 'numeric')
    """
    columns = [profile_column(c, max_categories) for c in table.columns]
    labels = classes = None
    if table.labels is not None:
        values, counts = np.unique(table.labels, return_counts=True)
        labels = LabelCounts(values=values.tolist(), counts=counts.tolist())
        classes = [_class_profile(table, columns, int(v)) for v in values]
    return Profile(dataset=DatasetInfo(file=table.path.name, rows=table.n_rows),
                   max_categories=max_categories, columns=columns, labels=labels, classes=classes or [])


def profile_column(column: Column, max_categories: int = MAX_CATEGORIES) -> ColumnProfile:
    """The type, kind and statistics of one column."""
    present = column.values[~column.missing]
    type_ = column_type(column)
    unique = np.unique(present)
    if type_ == "text":
        kind: ColumnKind = "categorical" if unique.size <= MAX_TEXT_VALUES else "free-text"
    else:
        kind = "categorical" if type_ == "integer" and unique.size <= max_categories else "numeric"
    domain: list[str] | list[float] | None = None
    if kind == "categorical" and column.categories is not None:
        domain = sorted(column.categories[int(c)] for c in unique)
    elif kind == "categorical":
        domain = [float(v) for v in unique]
    stats = column_stats(column, kind, domain)
    return ColumnProfile(name=column.name, type=type_, kind=kind, unique=int(unique.size), **stats.model_dump())


def column_type(column: Column) -> ColumnType:
    """``text``, ``integer`` (every present value a whole number) or ``float``."""
    if column.is_text:
        return "text"
    present = column.values[~column.missing]
    return "integer" if np.array_equal(present, np.round(present)) else "float"


def column_stats(column: Column, kind: ColumnKind, domain: list[str] | list[float] | None = None) -> ColumnStats:
    """Counts and summaries of a column's present values: a categorical column's counted over
    ``domain`` (values outside it are not counted), a numeric one's over its own deciles; a
    free-text column gets counts only."""
    missing = column.missing
    present = column.values[~missing]
    base = {"count": int(present.size), "missing": int(missing.sum())}
    if kind == "categorical" and domain is not None:
        counts = domain_counts(column, domain)
        return ColumnStats(**base, domain=Domain(values=domain, counts=counts.tolist()))
    if kind != "numeric" or column.is_text or present.size == 0:
        return ColumnStats(**base)
    ordered = np.sort(present)  # once: the quantiles and the bin counts are read off the sorted values
    cut = np.unique(_quantiles(ordered, DECILES)).tolist()
    below = np.searchsorted(ordered, cut, side="left")  # values under each edge: the rule of bin_counts
    counts = np.diff(np.concatenate([[0], below, [ordered.size]]))
    return ColumnStats(**base, numbers=Numbers(
        min=float(ordered[0]), max=float(ordered[-1]), mean=float(ordered.mean()), std=float(ordered.std()),
        percentiles=_quantiles(ordered, np.asarray(PERCENTILES) / 100).tolist(),
        bins=Bins(edges=cut, counts=counts.tolist())))


def _quantiles(ordered: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Quantiles of sorted values, interpolated linearly (numpy's default method)."""
    position = levels * (ordered.size - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, ordered.size - 1)
    values: np.ndarray = ordered[low] + (position - low) * (ordered[high] - ordered[low])
    return values


def domain_counts(column: Column, domain: list[str] | list[float]) -> np.ndarray:
    """How many present values of ``column`` equal each value of ``domain`` (text compared as text,
    numbers as numbers; a text domain never matches a number column, nor the other way round)."""
    if column.categories is not None:
        codes = column.values[column.values >= 0]
        per_code = np.bincount(codes, minlength=len(column.categories))
        position = {value: i for i, value in enumerate(column.categories)}
        return np.array([per_code[position[v]] if isinstance(v, str) and v in position else 0 for v in domain],
                        dtype=np.int64)
    if any(isinstance(v, str) for v in domain):
        return np.zeros(len(domain), dtype=np.int64)
    present = column.values[~column.missing]
    values, counts = np.unique(present, return_counts=True)
    found = dict(zip(values.tolist(), counts.tolist(), strict=True))
    return np.array([found.get(float(v), 0) for v in domain], dtype=np.int64)


def bin_counts(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """How many of ``values`` fall in each bin between ``edges`` (the profile's rule)."""
    return np.bincount(np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="right"),
                       minlength=len(edges) + 1)


def _class_profile(table: Table, columns: list[ColumnProfile], label: int) -> ClassProfile:
    assert table.labels is not None
    rows = table.labels == label
    stats = []
    for column, profile in zip(table.columns, columns, strict=True):
        member = Column(column.name, column.values[rows], column.categories)
        stats.append(column_stats(member, profile.kind, profile.domain.values if profile.domain else None))
    return ClassProfile(label=label, rows=int(rows.sum()), columns=stats)


# Reading and writing ------------------------------------------------------------------------------

def dumps_profile(profile: Profile) -> bytes:
    """The profile as indented JSON, keys in a fixed order (a column's name, type and kind first)."""
    data = profile.model_dump(mode="json")
    first = ("name", "type", "kind", "unique")
    data["columns"] = [{**{k: c[k] for k in first}, **{k: v for k, v in c.items() if k not in first}}
                       for c in data["columns"]]
    return (json.dumps(data, indent=1, allow_nan=False) + "\n").encode()


def read_profile(path: Path, field: str = "profile") -> Profile:
    """Read a profile written by :func:`dumps_profile`.

    Raises
    ------
    ArtifactError
        Not a regular file, larger than 256 MiB, not JSON, or not a riskframe profile (the first
        problem named by its place in the document).
    """
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ArtifactError(f"{path.name} is not a regular file; a profile is a JSON file", field)
        if info.st_size > MAX_PROFILE_BYTES:
            raise ArtifactError(f"{path.name} is larger than the {MAX_PROFILE_BYTES >> 20} MiB riskframe reads for "
                                "a profile", field)
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise ArtifactError(f"{path.name} cannot be read ({exc.strerror or type(exc).__name__})", field) from None
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ArtifactError(f"{path.name} is not a JSON profile written by `riskframe profile`", field) from None
    if not isinstance(data, dict) or data.get("riskframe_profile") != PROFILE_VERSION:
        raise ArtifactError(f"{path.name} is not a riskframe profile (version {PROFILE_VERSION}); write one with "
                            "`riskframe profile DATASET --out FILE`", field)
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ArtifactError(f"{path.name}: {where}: {first['msg']} ({exc.error_count()} problem(s) in the "
                            "profile)", field) from None
    _check_consistent(profile, path.name, field)
    return profile


def _check_consistent(profile: Profile, name: str, field: str) -> None:
    """Shapes pydantic cannot see: counts that match their bins and domains, classes that match columns."""
    for cls in profile.classes:
        if len(cls.columns) != len(profile.columns):
            raise ArtifactError(f"{name}: class {cls.label} has {len(cls.columns)} columns, the profile "
                                f"{len(profile.columns)}", field)
    for position, column in enumerate(profile.columns):
        for stats in [column, *(cls.columns[position] for cls in profile.classes)]:
            if stats.numbers and len(stats.numbers.bins.counts) != len(stats.numbers.bins.edges) + 1:
                raise ArtifactError(f"{name}: column {column.name!r}: bins need one count more than edges", field)
            if stats.domain and len(stats.domain.counts) != len(stats.domain.values):
                raise ArtifactError(f"{name}: column {column.name!r}: domain values and counts differ in length", field)
