"""``drift``: has the data moved away from its reference profile, by a margin that matters?

Compares a dataset, or each window of a monitoring dataset, with the profile its declaration names
(``profile:``), per column, per class and in the labels (:mod:`.compare` has the statistics): a
change is reported only when it is significant after a correction over every test (unchanged data
alarms in at most ``alpha`` of runs, at any sample size and column count) *and* at least
``min_effect`` large (a trivial shift is never reported, however many rows). A shift confined to
some classes is reported apart from global drift: it is how poisoned data looks (AML.T0020).

Three outcomes: ``fail`` names the columns, classes and effects; ``pass`` carries the detection
limit (the smallest change the data could show, ``detection_limit``); ``warn`` says the data is too
small to show a change of the policy's ``min_effect``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Literal

from pydantic import Field

from riskframe.data.tables import Table
from riskframe.data.windows import Window
from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.detectors.drift.compare import ColumnDrift, DriftReport, DriftTest, compare_table
from riskframe.detectors.drift.monitoring import WindowPoint, check_windows, is_windowed
from riskframe.detectors.drift.profile import Profile
from riskframe.detectors.drift.reference import reference_profile
from riskframe.results import DetectorResult


class DriftParams(DetectorParams):
    """Parameters of ``drift``."""

    alpha: float = Field(default=0.05, gt=0.0, lt=0.5,
                         description="how often unchanged data may raise an alarm: the family-wise error rate over "
                                     "every column, class and the labels (Holm), or the false discovery rate (bh)")
    correction: Literal["holm", "bh"] = Field(default="holm", description="multiple-testing correction")
    min_effect: float = Field(default=0.1, ge=0.0, le=2.0,
                              description="the smallest change reported, as Cohen's w: for a numeric column about the "
                                          "mean shift in reference standard deviations (0.1 sd); PSI is about w^2")
    per_class: bool = Field(default=True, description="also test each class's columns (class-conditional drift)")
    patterns: tuple[Literal["class-conditional", "global", "label-shift"], ...] = Field(
        default=("class-conditional", "global", "label-shift"), min_length=1,
        description="the patterns of change that fail the check; the others are reported in the evidence only "
                    "(e.g. a high-severity requirement on class-conditional drift, a medium one on the rest)")
    max_columns_shown: int = Field(default=20, ge=1, le=10_000, description="columns listed in the evidence")


class Drift(Detector[DriftParams]):
    """Per-column, per-class and label drift against a reference profile."""

    name: ClassVar[str] = "drift"
    title: ClassVar[str] = "Drift against the reference profile, per column and class, significant and large enough"
    requires = ("dataset",)
    Params = DriftParams
    techniques: ClassVar[tuple[str, ...]] = ("AML.T0020", "AML.T0059")
    dataset_view = "table"
    imports: ClassVar[tuple[str, ...]] = ("scipy.stats", "scipy.optimize", "matplotlib.figure")

    def run(self, ctx: RunContext, params: DriftParams) -> DetectorResult:
        """Test the dataset, or each of its windows, against the profile."""
        profile, source = reference_profile(ctx)
        check = partial(drift_result, profile, params=params, source=source)
        if is_windowed(ctx):
            return check_windows(ctx, check, window_point, "drift", params.min_effect)
        return check(ctx.table())


def drift_result(profile: Profile, table: Table, params: Any, source: str) -> DetectorResult:
    """The verdict on one table."""
    report = compare_table(profile, table, alpha=params.alpha, min_effect=params.min_effect,
                           correction=params.correction, per_class=params.per_class)
    found = Findings.of(report, params.patterns)
    limit = report.detection_limit
    if found.columns or found.label_shift:
        status: Literal["pass", "warn", "fail"] = "fail"
        score = found.max_effect / (found.max_effect + params.min_effect) if found.max_effect else 0.5
    elif limit > params.min_effect:
        status, score = "warn", (1.0 - params.min_effect / limit if math.isfinite(limit) else 1.0)
    else:
        status, score = "pass", 0.0
    metrics = {
        "drifted_columns": float(len(found.columns)),
        "class_conditional_columns": float(sum(c.pattern == "class-conditional" for c in found.columns)),
        "label_shift": float(found.label_shift),
        "max_effect": round(found.max_effect, 4),
        "tests": float(len(report.tests)),
        "rows": float(table.n_rows),
    }
    if math.isfinite(limit):
        metrics["detection_limit"] = round(limit, 4)
    return DetectorResult(status=status, score=min(1.0, max(0.0, score)),
                          summary=_summary(report, found, table, status),
                          metrics=metrics, evidence=_evidence(report, profile, table, params, source))


@dataclass(frozen=True)
class Findings:
    """The reported changes of the patterns a check fails on; ``others`` counts the rest."""

    columns: list[ColumnDrift]
    label_shift: bool
    max_effect: float
    others: int

    @classmethod
    def of(cls, report: DriftReport, patterns: tuple[str, ...]) -> Findings:
        columns = [c for c in report.columns if _pattern(c) in patterns]
        label_shift = report.label_shift and "label-shift" in patterns
        effects = [max(c.effect, *(c.class_effects[k] for k in c.classes)) for c in columns]
        if label_shift and report.label_test is not None:
            effects.append(report.label_test.comparison.effect)
        others = len(report.columns) - len(columns) + int(report.label_shift and not label_shift)
        return cls(columns, label_shift, max(effects, default=0.0), others)


def _pattern(column: ColumnDrift) -> str:
    return "label-shift" if column.pattern == "explained-by-label-shift" else column.pattern


def window_point(window: Window, result: DetectorResult) -> WindowPoint:
    limit = result.metrics.get("detection_limit")
    return WindowPoint(window=window.name, date=window.date.isoformat() if window.date else None,
                       status=result.status, effect=result.metrics.get("max_effect", 0.0), limit=limit,
                       findings=int(result.metrics.get("drifted_columns", 0) + result.metrics.get("label_shift", 0)),
                       summary=result.summary)


def _summary(report: DriftReport, found: Findings, table: Table, status: str) -> str:
    tested = len({t.column for t in report.tests if t.column is not None})
    rows = f"{table.n_rows} rows"
    aside = (f"; {found.others} change(s) of other patterns are left to other checks" if found.others else "")
    if status == "warn":
        return (f"No drift found in {tested} columns, but {rows} can only show changes of w "
                f"{report.detection_limit:.2f} or more, above the policy's minimum of {report.min_effect:g}{aside}")
    if status == "pass":
        return (f"No drift of w {report.min_effect:g} or more in {tested} columns ({rows}; the smallest change "
                f"this data shows is w {report.detection_limit:.2f}){aside}")
    parts = []
    conditional = [c for c in found.columns if c.pattern == "class-conditional"]
    if conditional:
        classes = sorted({label for c in conditional for label in c.classes})
        worst = max(conditional, key=lambda c: max(c.class_effects[k] for k in c.classes))
        parts.append(f"{len(conditional)} column(s) moved only in class(es) {', '.join(map(str, classes))} "
                     f"(largest {worst.column}, w {max(worst.class_effects[k] for k in worst.classes):.2f}): "
                     "a shift confined to some classes is a poisoning indicator (AML.T0020)")
    ordinary = [c for c in found.columns if c.pattern == "global"]
    if ordinary:
        worst = max(ordinary, key=lambda c: c.effect)
        parts.append(f"{len(ordinary)} column(s) drifted in the data as a whole (largest {worst.column}, "
                     f"w {worst.effect:.2f})")
    if found.label_shift and report.label_test is not None:
        parts.append(f"the label distribution shifted (w {report.label_test.comparison.effect:.2f})")
    return f"Drift in {rows} against the reference: " + "; ".join(parts) + aside


def _evidence(report: DriftReport, profile: Profile, table: Table, params: Any, source: str) -> dict[str, Any]:
    whole = sorted((t for t in report.tests if t.label is None and t.column is not None),
                   key=lambda t: (-t.comparison.effect, t.p_adjusted))
    evidence: dict[str, Any] = {
        "reference": source,
        "settings": {"alpha": params.alpha, "correction": params.correction, "min_effect": params.min_effect,
                     "tests": len(report.tests)},
        "drifted": [{"column": c.column, "pattern": c.pattern, "effect": c.effect, "classes": list(c.classes),
                     "class_effects": {str(k): v for k, v in c.class_effects.items()},
                     "other_classes_effect": c.others_effect} for c in report.columns],
        "columns": [_row(t) for t in whole[: params.max_columns_shown]],
        "untested": dict(report.untested),
    }
    if math.isfinite(report.detection_limit):
        evidence["detection_limit"] = round(report.detection_limit, 4)
    if report.label_test is not None:
        evidence["labels"] = {**_row(report.label_test), **_label_shares(profile, table)}
    return evidence


def _row(test: DriftTest) -> dict[str, Any]:
    c = test.comparison
    row: dict[str, Any] = {"effect": round(c.effect, 4), "p_adjusted": float(f"{test.p_adjusted:.3g}"),
                           "psi": round(c.psi, 4), "reported": test.reported}
    if test.column is not None:
        row = {"column": test.column, **row}
    if test.mean_shift_sd is not None:
        row["mean_shift_sd"] = round(test.mean_shift_sd, 4)
    if math.isfinite(test.detectable):
        row["detectable"] = round(test.detectable, 4)
    return row


def _label_shares(profile: Profile, table: Table) -> dict[str, Any]:
    import numpy as np

    assert profile.labels is not None and table.labels is not None
    total = sum(profile.labels.counts)
    reference = {str(v): round(c / total, 4) for v, c in zip(profile.labels.values, profile.labels.counts,
                                                                   strict=True)}
    values, counts = np.unique(table.labels, return_counts=True)
    new = {str(int(v)): round(int(c) / table.n_rows, 4) for v, c in zip(values, counts, strict=True)}
    return {"reference_shares": reference, "shares": new}
