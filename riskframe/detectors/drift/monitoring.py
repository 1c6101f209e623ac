"""Monitoring: the data-validation detectors run once per window of production data.

A dataset declared ``windows: true`` (see :mod:`riskframe.data.windows`) is checked window by
window, oldest first, each window read on its own within the memory budget and tested as a table of
its own (the false-alarm rate a policy sets holds per window: over 100 unchanged windows, expect
``100 x alpha`` alarms). The run's verdict is its worst window's; its evidence holds one
:class:`WindowPoint` per window (``windows``), what a point's ``effect`` measures (``measure``) and
the policy's floor for it (``floor``): the series ``riskframe history`` plots; and the full
evidence of the first failing window and of the latest one.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from riskframe.data.budget import Budget
from riskframe.data.tables import Table, load_table
from riskframe.data.windows import Window, list_windows
from riskframe.detectors.figures import png_attachment
from riskframe.results import DetectorResult

_RANK = {"pass": 0, "not_applicable": 0, "warn": 1, "fail": 2}


class WindowPoint(BaseModel):
    """One window's outcome, as the run's evidence (``evidence["windows"]``) and the history chart
    record it. ``effect`` is the largest change reported in the window (0 when none); ``limit`` the
    smallest change the window's data could show (None when not measured)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window: str
    date: str | None
    status: Literal["pass", "warn", "fail", "not_applicable"]
    effect: float
    limit: float | None
    findings: int
    summary: str


CheckTable = Callable[[Table], DetectorResult]
Point = Callable[[Window, DetectorResult], WindowPoint]


def is_windowed(ctx: Any) -> bool:
    return bool(ctx.artifact("dataset").windows)


def check_windows(ctx: Any, check: CheckTable, point: Point, what: str, floor: float | None = None,
                  measure: str = "effect (Cohen's w)") -> DetectorResult:
    """Run ``check`` on every window of the bound dataset and combine the verdicts.

    ``what`` names the finding in the summary (``drift``, ``schema anomalies``); ``measure`` what a
    point's ``effect`` is; ``floor`` is drawn on the chart (the policy's minimum effect).
    """
    windows = list_windows(ctx.artifact("dataset"), ctx.store.roots)
    results: list[tuple[Window, DetectorResult]] = []
    for window in windows:
        # One window in memory at a time: each may take what the assessment's budget has left.
        table = load_table(window.artifact, ctx.store.roots, Budget(ctx.store.budget.left))
        results.append((window, check(table)))
    points = [point(window, result) for window, result in results]
    return combine(results, points, what, floor, measure)


def combine(results: Sequence[tuple[Window, DetectorResult]], points: list[WindowPoint], what: str,
            floor: float | None, measure: str) -> DetectorResult:
    """The worst window's verdict; the series in the evidence; the first failing window named."""
    worst = max(results, key=lambda r: _RANK[r[1].status])[1]
    failing = [i for i, (_, result) in enumerate(results) if result.status == "fail"]
    total = len(results)
    if failing:
        first_window, first = results[failing[0]]
        summary = (f"{len(failing)} of {total} windows show {what}, the first {first_window.name} "
                   f"(window {failing[0] + 1}): {first.summary}")
    else:
        summary = f"No {what} in any of {total} windows (latest {results[-1][0].name}): {results[-1][1].summary}"
    evidence: dict[str, Any] = {
        "windows": [p.model_dump(mode="json") for p in points],
        "measure": measure,
        **({"floor": floor} if floor is not None else {}),
        "latest": {"window": results[-1][0].name, **results[-1][1].evidence},
    }
    if failing:
        evidence["first_failing"] = {"window": results[failing[0]][0].name, **results[failing[0]][1].evidence}
    metrics = {"windows": float(total), "failing_windows": float(len(failing)),
               "first_failing_window": float(failing[0] + 1 if failing else 0),
               "max_effect": max((p.effect for p in points), default=0.0)}
    attachments = [png_attachment("windows.png", window_chart(points, floor, measure=measure),
                                  f"{what.capitalize()} per window ({measure}), red where a window failed")]
    return DetectorResult(status=worst.status, score=max(r.score for _, r in results), summary=summary,
                          metrics=metrics, evidence=evidence, attachments=attachments)


def window_chart(points: Sequence[WindowPoint], floor: float | None = None, fmt: str = "png",
                 measure: str = "effect (Cohen's w)") -> bytes:
    """The series as a chart: the largest reported effect per window (red where the window failed,
    amber where it warned), the detection limit dashed, the policy's floor dotted."""
    import matplotlib
    from matplotlib.figure import Figure

    colours = {"fail": "#c92a2a", "warn": "#e8a317", "pass": "#ffffff", "not_applicable": "#dddddd"}
    with matplotlib.rc_context({"svg.hashsalt": "riskframe", "svg.fonttype": "path", "font.family": "DejaVu Sans",
                                "font.size": 9}):
        figure = Figure(figsize=(7.5, 2.8), layout="constrained")
        axes = figure.add_subplot()
        x = list(range(len(points)))
        axes.plot(x, [p.effect for p in points], color="#1d2330", linewidth=1.5, zorder=2, label="reported change")
        limits = [(i, p.limit) for i, p in enumerate(points) if p.limit is not None and p.limit < 10]
        if limits:
            axes.plot([i for i, _ in limits], [v for _, v in limits], color="#6b7280", linestyle="--", linewidth=1,
                      label="detection limit")
        if floor is not None:
            axes.axhline(floor, color="#6b7280", linestyle=":", linewidth=1, label="policy floor")
        for i, p in enumerate(points):
            axes.scatter([i], [p.effect], s=36, zorder=3, edgecolors="#1d2330", color=colours[p.status])
        axes.set_ylabel(measure)
        axes.set_ylim(bottom=0)
        step = max(1, len(points) // 12)
        axes.set_xticks(x[::step], [p.window for p in points[::step]], rotation=30, ha="right")
        axes.tick_params(axis="x", labelsize=7)
        axes.legend(loc="upper left", fontsize=7, frameon=False)
        buffer = io.BytesIO()
        # No date, version or creator in the file: the same series gives the same bytes.
        metadata = {"Date": None, "Creator": "riskframe"} if fmt == "svg" else {"Software": None}
        figure.savefig(buffer, format=fmt, dpi=80, metadata=metadata)
    return buffer.getvalue()
