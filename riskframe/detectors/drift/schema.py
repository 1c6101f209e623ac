"""``data-schema``: does the data still fit the schema its reference profile recorded?

TFDV's ``validate_statistics``, located: every anomaly names its column, how many rows it touches
and examples (row numbers and values), against the profile the dataset declares (``profile:``):

- ``missing-column`` (fail) and ``unexpected-column`` (warn, or fail with ``fail_on_unexpected_columns``);
- ``type-change`` (fail): text in a number column, fractions in an integer column, numbers where
  text was;
- ``new-values`` (fail above ``max_new_value_share``): categories the reference never had;
- ``out-of-range`` (fail above ``max_out_of_range_share``): numbers beyond the reference's range
  (about 2 in ``reference rows + 1`` fall outside by chance, which the default allows); below
  their thresholds these two are ``info``: in the evidence, without changing the verdict;
- ``missing-values``: fail when a column's missing share grew by more than ``max_missing_increase``,
  warn on any missing value in a column that had none;
- ``new-labels`` and ``absent-labels`` (fail): labels the reference never had, or a class the
  reference had enough of to expect at least 10 rows and that is gone; ``unlabelled`` (warn): the
  reference had labels and this data has none.

Whether the distributions moved is ``drift``'s question; this one is about the data's contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from riskframe.data.tables import Column, Table, is_number
from riskframe.data.windows import Window
from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.detectors.drift.monitoring import WindowPoint, check_windows, is_windowed
from riskframe.detectors.drift.profile import ColumnProfile, Profile
from riskframe.detectors.drift.reference import reference_profile
from riskframe.results import DetectorResult

Severity = Literal["info", "warn", "fail"]
MIN_EXPECTED_CLASS_ROWS = 10  # a class expected this often and absent did not vanish by chance (e^-10)
_SHOWN_CHARS = 40


class DataSchemaParams(DetectorParams):
    """Parameters of ``data-schema``."""

    max_out_of_range_share: float = Field(
        default=0.01, ge=0.0, le=1.0,
        description="fail when more of a numeric column's values lie outside the reference's range")
    max_new_value_share: float = Field(
        default=0.001, ge=0.0, le=1.0,
        description="fail when more of a categorical column's values are categories the reference never had")
    max_missing_increase: float = Field(
        default=0.01, ge=0.0, le=1.0, description="fail when a column's share of missing values grows by more")
    fail_on_unexpected_columns: bool = Field(default=False, description="fail (not warn) on columns the profile lacks")
    max_examples: int = Field(default=5, ge=0, le=100, description="example rows and values per anomaly")


@dataclass(frozen=True)
class Anomaly:
    """One way the data breaks its schema, located to a column."""

    kind: str
    column: str | None
    severity: Severity
    message: str
    rows: int = 0
    share: float = 0.0
    examples: dict[str, Any] = field(default_factory=dict)

    def as_evidence(self) -> dict[str, Any]:
        found = {"kind": self.kind, "column": self.column, "severity": self.severity, "message": self.message,
                 "rows": self.rows, "share": round(self.share, 6)}
        return {**found, "examples": self.examples} if self.examples else found


class DataSchema(Detector[DataSchemaParams]):
    """Schema validation against a reference profile (TFDV's validate_statistics)."""

    name: ClassVar[str] = "data-schema"
    title: ClassVar[str] = "Columns, types, domains, ranges, missing values and labels match the reference profile"
    requires = ("dataset",)
    Params = DataSchemaParams
    techniques: ClassVar[tuple[str, ...]] = ("AML.T0020", "AML.T0059")
    dataset_view = "table"
    imports: ClassVar[tuple[str, ...]] = ("matplotlib.figure",)

    def run(self, ctx: RunContext, params: DataSchemaParams) -> DetectorResult:
        """Check the dataset, or each of its windows, against the profile."""
        profile, source = reference_profile(ctx)
        check = partial(schema_result, profile, params=params, source=source)
        if is_windowed(ctx):
            return check_windows(ctx, check, window_point, "schema anomalies", measure="share of rows affected")
        return check(ctx.table())


def schema_result(profile: Profile, table: Table, params: Any, source: str) -> DetectorResult:
    """The verdict on one table."""
    anomalies = find_anomalies(profile, table, params)
    failing = [a for a in anomalies if a.severity == "fail"]
    warning = [a for a in anomalies if a.severity == "warn"]
    status: Literal["pass", "warn", "fail"] = "fail" if failing else "warn" if warning else "pass"
    score = min(1.0, 0.5 + max(a.share for a in failing)) if failing else 0.25 if warning else 0.0
    if failing or warning:
        counted = failing + warning
        shown = "; ".join(a.message for a in counted[:3])
        more = f" (and {len(counted) - 3} more)" if len(counted) > 3 else ""
        summary = (f"{len(counted)} schema anomal{'ies' if len(counted) != 1 else 'y'} in {table.n_rows} rows: "
                   f"{shown}{more}")
    else:
        notes = f"; {len(anomalies)} below the policy's thresholds, in the evidence" if anomalies else ""
        summary = (f"{table.n_rows} rows fit the reference schema ({len(profile.columns)} columns: types, domains, "
                   f"ranges, missing values, labels){notes}")
    return DetectorResult(
        status=status, score=score, summary=summary,
        metrics={"anomalies": float(len(failing) + len(warning)), "failing_anomalies": float(len(failing)),
                 "rows": float(table.n_rows),
                 "max_affected_share": max((a.share for a in failing + warning), default=0.0)},
        evidence={"reference": source, "anomalies": [a.as_evidence() for a in anomalies],
                  "columns_checked": len(profile.columns)})


def window_point(window: Window, result: DetectorResult) -> WindowPoint:
    return WindowPoint(window=window.name, date=window.date.isoformat() if window.date else None,
                       status=result.status, effect=result.metrics.get("max_affected_share", 0.0), limit=None,
                       findings=int(result.metrics.get("anomalies", 0)), summary=result.summary)


def find_anomalies(profile: Profile, table: Table, params: Any) -> list[Anomaly]:
    """Every schema anomaly of ``table`` against ``profile``, columns in profile order, then labels."""
    found: list[Anomaly] = []
    names = {c.name for c in profile.columns}
    by_name = {c.name: c for c in table.columns}
    for reference in profile.columns:
        column = by_name.get(reference.name)
        if column is None:
            found.append(Anomaly("missing-column", reference.name, "fail",
                                 f"column {_shown(reference.name)} is missing"))
            continue
        found.extend(_column_anomalies(reference, column, table.n_rows, params))
    for column in table.columns:
        if column.name not in names:
            severity: Severity = "fail" if params.fail_on_unexpected_columns else "warn"
            found.append(Anomaly("unexpected-column", column.name, severity,
                                 f"column {_shown(column.name)} is not in the reference"))
    found.extend(_label_anomalies(profile, table, params))
    return found


def _column_anomalies(reference: ColumnProfile, column: Column, n_rows: int, params: Any) -> list[Anomaly]:
    found = [a for a in (_type_change(reference, column, params), _missing(reference, column, n_rows, params))
             if a is not None]
    if any(a.kind == "type-change" for a in found):
        return found  # values of another type are not new categories nor out of range: one anomaly is enough
    if reference.kind == "categorical" and reference.domain is not None:
        found.extend(_new_values(reference, column, n_rows, params))
    elif reference.kind == "numeric" and reference.numbers is not None:
        found.extend(_out_of_range(reference, column, n_rows, params))
    return found


def _type_change(reference: ColumnProfile, column: Column, params: Any) -> Anomaly | None:
    name = _shown(column.name)
    if reference.type != "text" and column.is_text:
        assert column.categories is not None
        numeric = np.array([is_number(c) for c in column.categories] or [True])
        bad = np.flatnonzero((column.values >= 0) & ~numeric[np.maximum(column.values, 0)])
        if bad.size:
            return Anomaly("type-change", column.name, "fail",
                           f"column {name} ({reference.type}) holds text in {bad.size} rows", int(bad.size),
                           bad.size / column.values.size, _examples(column, bad, params.max_examples))
        return None
    if reference.type == "text" and not column.is_text:
        present = np.flatnonzero(~column.missing)
        return Anomaly("type-change", column.name, "fail", f"column {name} held text and now holds only numbers",
                       int(present.size), present.size / max(1, column.values.size),
                       _examples(column, present, params.max_examples))
    if reference.type == "integer" and not column.is_text:
        values = column.values
        bad = np.flatnonzero(~column.missing & (values != np.round(values)))
        if bad.size:
            return Anomaly("type-change", column.name, "fail", f"column {name} (integer) holds fractions in "
                           f"{bad.size} rows", int(bad.size), bad.size / values.size,
                           _examples(column, bad, params.max_examples))
    return None


def _missing(reference: ColumnProfile, column: Column, n_rows: int, params: Any) -> Anomaly | None:
    missing = np.flatnonzero(column.missing)
    if missing.size == 0:
        return None
    before = reference.missing / max(1, reference.missing + reference.count)
    now = missing.size / n_rows
    examples = {"rows": missing[: params.max_examples].tolist()} if params.max_examples else {}
    if now - before > params.max_missing_increase:
        return Anomaly("missing-values", column.name, "fail", f"column {_shown(column.name)} is missing in "
                       f"{now:.1%} of rows (reference {before:.1%})", int(missing.size), now, examples)
    if reference.missing == 0:
        return Anomaly("missing-values", column.name, "warn", f"column {_shown(column.name)}, complete in the "
                       f"reference, is missing in {missing.size} rows", int(missing.size), now, examples)
    return None


def _new_values(reference: ColumnProfile, column: Column, n_rows: int, params: Any) -> list[Anomaly]:
    assert reference.domain is not None
    known = reference.domain.values
    if column.is_text:
        assert column.categories is not None
        known_set = set(known)
        unseen_codes = np.array([c not in known_set for c in column.categories] or [False])
        bad = np.flatnonzero((column.values >= 0) & unseen_codes[np.maximum(column.values, 0)])
    else:
        bad = np.flatnonzero(~column.missing & ~np.isin(column.values, np.asarray(known, dtype=np.float64)))
    if bad.size == 0:
        return []
    share = bad.size / n_rows
    distinct = len(_distinct(column, bad))
    severity: Severity = "fail" if share > params.max_new_value_share else "info"
    return [Anomaly("new-values", column.name, severity,
                    f"column {_shown(column.name)} holds {distinct} value(s) the reference never had, in {bad.size} "
                    f"rows ({share:.2%})", int(bad.size), share, _examples(column, bad, params.max_examples))]


def _out_of_range(reference: ColumnProfile, column: Column, n_rows: int, params: Any) -> list[Anomaly]:
    assert reference.numbers is not None
    low, high = reference.numbers.min, reference.numbers.max
    values = column.values
    bad = np.flatnonzero(~column.missing & ((values < low) | (values > high)))
    if bad.size == 0:
        return []
    share = bad.size / n_rows
    severity: Severity = "fail" if share > params.max_out_of_range_share else "info"
    return [Anomaly("out-of-range", column.name, severity,
                    f"column {_shown(column.name)} has {bad.size} value(s) ({share:.2%}) outside the reference "
                    f"range [{low:.6g}, {high:.6g}]", int(bad.size), share,
                    _examples(column, bad, params.max_examples))]


def _label_anomalies(profile: Profile, table: Table, params: Any) -> list[Anomaly]:
    if profile.labels is None:
        return []
    if table.labels is None:
        return [Anomaly("unlabelled", None, "warn", "the reference is labelled and this data is not")]
    known = {v: c for v, c in zip(profile.labels.values, profile.labels.counts, strict=True)}
    values, counts = np.unique(table.labels, return_counts=True)
    found = dict(zip(values.tolist(), counts.tolist(), strict=True))
    out = []
    new = {v: c for v, c in found.items() if v not in known}
    if new:
        rows = np.flatnonzero(np.isin(table.labels, list(new)))
        out.append(Anomaly("new-labels", None, "fail", f"{len(new)} label(s) the reference never had, in "
                           f"{rows.size} rows", int(rows.size), rows.size / table.n_rows,
                           {"rows": rows[: params.max_examples].tolist(),
                            "values": [{"value": v, "rows": c}
                                       for v, c in sorted(new.items())[: params.max_examples]]}))
    total = sum(known.values())
    gone = [v for v, c in known.items() if v not in found and table.n_rows * c / total >= MIN_EXPECTED_CLASS_ROWS]
    if gone:
        out.append(Anomaly("absent-labels", None, "fail", f"{len(gone)} class(es) of the reference are absent though "
                           f"at least {MIN_EXPECTED_CLASS_ROWS} rows of each were expected",
                           examples={"labels": gone[: max(1, params.max_examples)]}))
    return out


def _distinct(column: Column, rows: np.ndarray) -> list[tuple[Any, int]]:
    """Distinct values at ``rows``, most frequent first (ties: text in order of first appearance in the
    file, numbers in ascending order), with their counts."""
    values, counts = np.unique(column.values[rows], return_counts=True)
    order = np.argsort(-counts, kind="stable")
    return [(_value(column, values[i]), int(counts[i])) for i in order]


def _examples(column: Column, rows: np.ndarray, limit: int) -> dict[str, Any]:
    if limit == 0:
        return {}
    return {"rows": rows[:limit].tolist(),
            "values": [{"value": v, "rows": c} for v, c in _distinct(column, rows)[:limit]]}


def _value(column: Column, raw: Any) -> Any:
    if column.categories is not None:
        return _shown(column.categories[int(raw)], quote=False)
    number = float(raw)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _shown(text: str, quote: bool = True) -> str:
    """A name or value from the data, cut to a readable length (reports escape the rest)."""
    cut = text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"
    return repr(cut) if quote else cut
