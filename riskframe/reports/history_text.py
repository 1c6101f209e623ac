"""The formats of ``riskframe history``: a text table per pipeline for a terminal, and a
self-contained HTML page with a chart per pipeline.

Each is a :class:`~riskframe.reports.base.Renderer` of a :class:`~riskframe.compare.history.History`
(what :func:`~riskframe.compare.history.collect_history` read from a folder), as the assessment
and threat-model formats are. The command prints the text (:func:`~riskframe.reports.base.rendered_text`)
and writes the page where ``--out`` says. Not an assessment format, so it declares no ``RENDERER``.

>>> FORMATS["html"].files
('history.html',)
>>> sparkline([0, 50, 100])
'▁▅█'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from riskframe.io.terminal import escape
from riskframe.reports.base import RenderContext, Renderer

if TYPE_CHECKING:
    from riskframe.compare.history import History, Point, ProbeRun, Series

_BARS = "▁▂▃▄▅▆▇█"
_MARKS = {"pass": ".", "warn": "w", "fail": "F", "not_applicable": "-"}


def sparkline(scores: Sequence[float]) -> str:
    """Risk scores (0-100) as block characters, one per assessment."""
    return "".join(_BARS[min(len(_BARS) - 1, int(max(0.0, s) / 100 * len(_BARS)))] for s in scores)


def render_lines(history: History) -> list[str]:
    """The trend as a table per pipeline, with the change from one assessment to the next; one
    item per terminal line."""
    lines = [f"{history.count} assessment{'s' if history.count != 1 else ''} of {len(history.pipelines)} "
             f"pipeline{'s' if len(history.pipelines) != 1 else ''} in {history.directory}"]
    if history.skipped:
        lines.append(f"({len(history.skipped)} other JSON file{'s' if len(history.skipped) != 1 else ''} skipped)")
    for pipeline, points in history.pipelines.items():
        scores = [p.risk_score for p in points]
        lines += ["", f"{pipeline}: risk {scores[0]:g} -> {scores[-1]:g}  {sparkline(scores)}",
                  f"  {'created at':<26} {'risk':>6} {'level':<9} {'gate':<5} {'fail':>5} {'error':>6} {'waived':>7} "
                  f"{'change':>7}"]
        previous: float | None = None
        for p in points:
            change = "" if previous is None else f"{p.risk_score - previous:+.1f}"
            lines.append(f"  {p.created_at.isoformat():<26} {p.risk_score:>6.1f} {p.level:<9} {p.gate:<5} "
                         f"{p.failing:>5} {p.errors:>6} {p.waived:>7} {change:>7}".rstrip())
            previous = p.risk_score
        lines += probe_lines(points)
        lines += _series_lines(history.series.get(pipeline, []))
    return lines


def probe_lines(points: Sequence[Point]) -> list[str]:
    """Per probe (stage and control), its runs oldest first: how many, the last, and each verdict."""
    runs: dict[tuple[str, str], list[ProbeRun]] = {}
    for point in points:
        for run in point.probes:
            runs.setdefault((run.stage, run.control), []).append(run)
    if not runs:
        return []
    lines = ["  probes (a model's behaviour over time):"]
    for (stage, control), mine in sorted(runs.items()):
        verdicts = " ".join(r.status for r in mine[-10:])
        more = "... " if len(mine) > 10 else ""
        lines.append(f"    {stage}/{control}: {len(mine)} run{'s' if len(mine) != 1 else ''}, last "
                     f"{mine[-1].created_at.isoformat()} {mine[-1].status}; {more}{verdicts}")
    return lines


def _series_lines(series: Sequence[Series]) -> list[str]:
    """Each monitoring series of the latest assessment: one mark per window (. pass, w warn, F fail)."""
    if not series:
        return []
    lines = ["", "  monitoring windows in the latest assessment (. pass, w warn, F fail):"]
    for s in series:
        first = s.first_failing
        when = (f"first failing: {s.points[first - 1].window} (window {first} of {len(s.points)})" if first
                else f"none of {len(s.points)} failing")
        lines += [f"  {s.result}", f"    {s.points[0].window} {''.join(_MARKS[p.status] for p in s.points)} "
                  f"{s.points[-1].window}  {when}"]
    return lines


def render_html(history: History) -> str:
    """A self-contained page: per pipeline, the chart and the table (``templates/history.html.j2``)."""
    from riskframe.detectors.drift.monitoring import window_chart
    from riskframe.reports.charts import data_uri, risk_over_time_svg
    from riskframe.reports.templates import environment

    charts = {name: data_uri(risk_over_time_svg([p.created_at for p in points], [p.risk_score for p in points],
                                                [p.gate == "fail" for p in points], history.thresholds))
              for name, points in history.pipelines.items()}
    window_charts = {name: {s.result: data_uri(window_chart(s.points, s.floor, fmt="svg", measure=s.measure))
                            for s in series} for name, series in history.series.items()}
    return environment("html").get_template("history.html.j2").render(h=history, charts=charts, sparkline=sparkline,
                                                                      window_charts=window_charts)


def _text(history: History, context: RenderContext) -> dict[str, bytes]:
    # Escaped line by line here, so that a newline inside a pipeline name stays inside its line.
    return {"history.txt": "".join(f"{escape(line)}\n" for line in render_lines(history)).encode("utf-8")}


def _html(history: History, context: RenderContext) -> dict[str, bytes]:
    return {"history.html": render_html(history).encode("utf-8")}


FORMATS: dict[str, Renderer[History]] = {r.name: r for r in (
    Renderer("text", "the risk score over time per pipeline, as a table for a terminal", ("history.txt",), _text),
    Renderer("html", "a self-contained page: per pipeline, the risk chart and the table", ("history.html",), _html),
)}
