"""Risk over time: every assessment in a folder, per pipeline, in the order they were made.

Folders of reports hold other JSON files too (threat models, Navigator layers); only files that are
riskframe assessments (a JSON object with ``schema_version``, ``tool``, ``results`` and ``gate``)
are read, the rest are skipped and counted. An assessment that does not validate is a located
error, as in ``riskframe report``.

Rendering the history is :mod:`riskframe.reports.history_text`'s job.

>>> from riskframe.compare.history import collect_history
>>> collect_history("no-such-folder")
Traceback (most recent call last):
...
riskframe.errors.DocumentError: no-such-folder: folder not found
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pydantic import ValidationError

from riskframe.assessment import Assessment
from riskframe.detectors.drift.monitoring import WindowPoint
from riskframe.errors import DocumentError
from riskframe.reports.json_report import load_assessment

# Detectors that probe a model (issue 15): history lists each one's runs, so that a monitoring stage
# run on a schedule shows when each probe last ran and what it found.
PROBE_DETECTORS = frozenset({"memorisation-probe", "adversarial-prompts", "garak-report"})


@dataclass(frozen=True)
class ProbeRun:
    """One run of a probe: when (the assessment's created_at), where, and its verdict."""

    created_at: datetime
    stage: str
    control: str
    status: str


@dataclass(frozen=True)
class Point:
    """One assessment, as the trend shows it."""

    path: str
    created_at: datetime
    pipeline: str
    risk_score: float
    level: str
    gate: str
    failing: int
    errors: int
    waived: int
    probes: tuple[ProbeRun, ...] = ()


@dataclass(frozen=True)
class Series:
    """A monitoring result (a check run on every window of production data): its windows in time
    order, as the detector recorded them in its evidence (``windows``, ``measure``, ``floor``)."""

    result: str
    status: str
    measure: str
    floor: float | None
    points: list[WindowPoint]

    @property
    def first_failing(self) -> int | None:
        """1-based number of the first failing window, None when none failed."""
        return next((i + 1 for i, p in enumerate(self.points) if p.status == "fail"), None)


@dataclass
class History:
    """The assessments of one folder, by pipeline (sorted by name), each list oldest first;
    ``series`` holds the monitoring series of each pipeline's latest assessment."""

    directory: str
    pipelines: dict[str, list[Point]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)
    series: dict[str, list[Series]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(points) for points in self.pipelines.values())


def collect_history(directory: str | Path) -> History:
    """Read every assessment under ``directory`` (recursively).

    Raises
    ------
    DocumentError
        ``directory`` is not a folder, or an assessment in it is broken (located).

    Examples
    --------
    >>> history = collect_history("reports")  # doctest: +SKIP
    >>> [p.risk_score for p in history.pipelines["digits-classifier"]]  # doctest: +SKIP
    [75.0, 11.1]
    """
    root = Path(directory)
    if not root.is_dir():
        what = "not a folder of assessments" if root.exists() else "folder not found"
        raise DocumentError.single(str(directory), what)
    history = History(str(directory))
    points: list[Point] = []
    series: dict[str, list[Series]] = {}
    for path in sorted(root.rglob("*.json")):
        assessment = _read(path)
        if assessment is None:
            history.skipped.append(path.as_posix())
            continue
        points.append(_point(path, assessment))
        series[points[-1].path] = monitoring_series(assessment)
        # Level bands of the chart: the thresholds the assessments were scored with, where recorded.
        recorded = (getattr(assessment, "risk_model", None) or {}).get("level_thresholds")
        history.thresholds = dict(recorded) if isinstance(recorded, dict) else history.thresholds
    for point in sorted(points, key=lambda p: (p.created_at, p.path)):
        history.pipelines.setdefault(point.pipeline, []).append(point)
    history.pipelines = dict(sorted(history.pipelines.items()))
    history.series = {name: series[latest[-1].path] for name, latest in history.pipelines.items()
                      if series[latest[-1].path]}
    return history


def monitoring_series(assessment: Assessment) -> list[Series]:
    """The results of ``assessment`` that ran on windows of production data, with their windows."""
    found = []
    for result in assessment.results:
        windows = result.evidence.get("windows")
        if not isinstance(windows, list) or not windows:
            continue
        try:
            points = [WindowPoint.model_validate(w) for w in windows]
        except ValidationError:  # evidence of another detector that happens to say "windows"
            continue
        floor = result.evidence.get("floor")
        found.append(Series(result.id, result.status, str(result.evidence.get("measure", "effect")),
                            float(floor) if isinstance(floor, (int, float)) else None, points))
    return found


def _read(path: Path) -> Assessment | None:
    """The assessment in ``path``, or None when the file is not one."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not {"schema_version", "tool", "results", "gate"} <= data.keys():
        return None
    return load_assessment(path)


def _point(path: Path, assessment: Assessment) -> Point:
    counts = assessment.summary.counts
    when = _when(assessment.created_at)
    probes = tuple(ProbeRun(when, r.stage, r.control, r.status) for r in assessment.results
                   if r.detector in PROBE_DETECTORS and r.status != "not_applicable")
    return Point(path=path.as_posix(), created_at=when, pipeline=assessment.pipeline.name,
                 risk_score=assessment.summary.risk_score, level=assessment.summary.level,
                 gate=assessment.gate.decision, failing=counts.get("fail", 0), errors=counts.get("error", 0),
                 waived=counts.get("waived", 0), probes=probes)


def _when(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)  # unreadable dates sort first, never crash
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
