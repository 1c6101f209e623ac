"""Compare two assessments: new and fixed failures, failures whose evidence changed, risk changes
per stage and per ATLAS technique, waivers that expired in between, and whether the newer one is a
regression.

Results are matched by their id (``requirement/stage/control[/artifact]``), which is stable across
runs. ``fail`` and ``error`` count as failing (the gate fails closed on an error); a ``waived``
result does not, so a failure whose waiver expired shows up both as a new failure and as an
expired waiver.

A result failing in both assessments is the *same* failure only when its evidence fingerprint
(:mod:`riskframe.compare.fingerprints`) is unchanged: the digests of the artifacts it examined and a
canonical summary of what it found. Otherwise its evidence changed (an unsafe model file joined by
a second one, a poisoned share grown from 1% to 30%): ``riskframe diff`` lists it apart and counts
it as a regression, as ``--baseline`` counts it as new (:mod:`riskframe.compare.baseline`).

>>> from riskframe.compare.diff import diff_assessments
>>> diff = diff_assessments(old, new)  # doctest: +SKIP
>>> diff.regression, [c.id for c in diff.new_failures]  # doctest: +SKIP
(True, ['DP-1/ingest/label-flip-screen/raw'])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from riskframe.assessment import Assessment, ControlResult
from riskframe.compare.fingerprints import evidence_of
from riskframe.vocabulary import FAILING

SCHEMA_VERSION = "1.1"
# Differences below this are rounding, not change (scores are stored to 6 places).
EPSILON = 1e-6


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Side(_Model):
    """One of the two assessments, in brief."""

    path: str
    created_at: str
    pipeline: str
    risk_score: float
    level: str
    gate: str


class ResultChange(_Model):
    id: str
    requirement: str
    stage: str
    control: str
    old_status: str | None = Field(description="None: the result is new")
    new_status: str | None = Field(description="None: the result is gone")
    old_residual: float | None
    new_residual: float | None
    level: str | None = Field(description="the newer result's level, else the older one's")
    summary: str = Field(description="the newer result's summary, else the older one's")
    evidence_change: str | None = Field(
        default=None, description="failing in both: what changed in its evidence (None: the same evidence)")


class ScoreChange(_Model):
    """The residual risk of a stage or an ATLAS technique in both assessments."""

    id: str
    name: str
    old: float | None
    new: float | None
    old_level: str | None
    new_level: str | None

    @property
    def delta(self) -> float:
        return (self.new or 0.0) - (self.old or 0.0)


class WaiverChange(_Model):
    result: str
    requirement: str
    stage: str
    control: str
    change: Literal["expired", "removed", "added", "changed"]
    expires: str | None
    justification: str | None
    old_status: str | None
    new_status: str | None


class AssessmentDiff(_Model):
    schema_version: str = SCHEMA_VERSION
    kind: Literal["AssessmentDiff"] = "AssessmentDiff"
    old: Side
    new: Side
    same_pipeline: bool
    new_failures: list[ResultChange]
    changed_failures: list[ResultChange] = Field(
        default_factory=list, description="failing in both, with a different evidence fingerprint")
    fixed_failures: list[ResultChange]
    other_changes: list[ResultChange] = Field(description="status changes that neither start nor end a failure")
    stages: list[ScoreChange] = Field(description="stages whose residual risk changed, or that exist in one only")
    techniques: list[ScoreChange] = Field(description="ATLAS techniques whose highest residual changed")
    waivers: list[WaiverChange]
    regression: bool
    regression_reasons: list[str]
    improvements: list[str]


def diff_assessments(old: Assessment, new: Assessment, old_path: str = "", new_path: str = "") -> AssessmentDiff:
    """Everything that changed from ``old`` to ``new``.

    Examples
    --------
    >>> diff = diff_assessments(old, new, "main.json", "pr.json")  # doctest: +SKIP
    >>> [(c.id, c.evidence_change) for c in diff.changed_failures]  # doctest: +SKIP
    [('SC-1/adopt-models/unsafe-model-file-scan', 'artifact digits-logreg changed; ...')]
    """
    before, after = {r.id: r for r in old.results}, {r.id: r for r in new.results}
    changed_evidence = evidence_changes(old, new)
    changes = [_change(before.get(i), after.get(i), changed_evidence.get(i)) for i in dict.fromkeys([*after, *before])]
    changed = [c for c in changes if c.evidence_change]
    changes = [c for c in changes if c.old_status != c.new_status and not c.evidence_change]
    new_failures = [c for c in changes if c.new_status in FAILING and c.old_status not in FAILING]
    fixed = [c for c in changes if c.old_status in FAILING and c.new_status not in FAILING]
    others = [c for c in changes if c not in new_failures and c not in fixed]
    stages = _score_changes(((s.name, s.name, s.residual, s.level) for s in old.stages),
                            ((s.name, s.name, s.residual, s.level) for s in new.stages))
    techniques = _score_changes(((t.id, t.name, t.max_residual, t.level) for t in old.atlas),
                                ((t.id, t.name, t.max_residual, t.level) for t in new.atlas))
    reasons = _regressions(old, new, new_failures, changed)
    return AssessmentDiff(
        old=_side(old, old_path), new=_side(new, new_path), same_pipeline=old.pipeline.name == new.pipeline.name,
        new_failures=new_failures, changed_failures=changed, fixed_failures=fixed, other_changes=others,
        stages=stages, techniques=techniques, waivers=waiver_changes(before, after), regression=bool(reasons),
        regression_reasons=reasons, improvements=_improvements(old, new, fixed))


def evidence_changes(old: Assessment, new: Assessment) -> dict[str, str]:
    """Results failing in both assessments whose evidence fingerprint differs: id -> what changed."""
    before = {r.id: r for r in old.results if r.status in FAILING}
    out = {}
    for result in new.results:
        if result.status in FAILING and result.id in before:
            then, now = evidence_of(before[result.id], old), evidence_of(result, new)
            if then.fingerprint != now.fingerprint:
                out[result.id] = now.changes_since(then) or "the evidence changed"
    return out


def _side(assessment: Assessment, path: str) -> Side:
    return Side(path=path, created_at=assessment.created_at, pipeline=assessment.pipeline.name,
                risk_score=assessment.summary.risk_score, level=assessment.summary.level,
                gate=assessment.gate.decision)


def _change(old: ControlResult | None, new: ControlResult | None, evidence_change: str | None) -> ResultChange:
    either = new or old
    assert either is not None
    return ResultChange(
        id=either.id, requirement=either.requirement, stage=either.stage, control=either.control,
        old_status=old.status if old else None, new_status=new.status if new else None,
        old_residual=old.risk.residual if old else None, new_residual=new.risk.residual if new else None,
        level=either.risk.level, summary=either.summary, evidence_change=evidence_change)


def _score_changes(old: Iterable[tuple[str, str, float, str | None]],
                   new: Iterable[tuple[str, str, float, str | None]]) -> list[ScoreChange]:
    before = {key: (name, score, level) for key, name, score, level in old}
    after = {key: (name, score, level) for key, name, score, level in new}
    out = []
    for key in dict.fromkeys([*after, *before]):
        name = (after.get(key) or before[key])[0]
        old_score, old_level = (before[key][1], before[key][2]) if key in before else (None, None)
        new_score, new_level = (after[key][1], after[key][2]) if key in after else (None, None)
        if old_score is not None and new_score is not None and abs(new_score - old_score) < EPSILON:
            continue
        out.append(ScoreChange(id=key, name=name, old=old_score, new=new_score, old_level=old_level,
                               new_level=new_level))
    return sorted(out, key=lambda c: -abs(c.delta))


def _regressions(old: Assessment, new: Assessment, new_failures: list[ResultChange],
                 changed: list[ResultChange]) -> list[str]:
    reasons = []
    if new_failures:
        reasons.append(f"{len(new_failures)} new failing result{'s' if len(new_failures) != 1 else ''}")
    if changed:
        reasons.append(f"{len(changed)} failing result{'s' if len(changed) != 1 else ''} with changed evidence")
    if old.gate.decision == "pass" and new.gate.decision == "fail":
        reasons.append("the gate passed before and fails now")
    if new.summary.risk_score > old.summary.risk_score + EPSILON:
        reasons.append(f"the risk score rose from {old.summary.risk_score:g} to {new.summary.risk_score:g}")
    return reasons


def _improvements(old: Assessment, new: Assessment, fixed: list[ResultChange]) -> list[str]:
    found = []
    if fixed:
        found.append(f"{len(fixed)} failing result{'s' if len(fixed) != 1 else ''} fixed")
    if old.gate.decision == "fail" and new.gate.decision == "pass":
        found.append("the gate failed before and passes now")
    if new.summary.risk_score < old.summary.risk_score - EPSILON:
        found.append(f"the risk score fell from {old.summary.risk_score:g} to {new.summary.risk_score:g}")
    return found


def waiver_changes(before: Mapping[str, ControlResult], after: Mapping[str, ControlResult]) -> list[WaiverChange]:
    """Results whose waiver changed. The waiver's shape is read defensively: a mapping or a model
    with, where present, ``status`` (``active``/``expired``), ``expires`` and ``justification``."""
    out = []
    for result_id in dict.fromkeys([*before, *after]):
        old, new = before.get(result_id), after.get(result_id)
        old_waiver, new_waiver = _waiver(old), _waiver(new)
        if old_waiver == new_waiver:
            continue
        kind = _waiver_change(old, old_waiver, new_waiver)
        either = new or old
        shown = new_waiver or old_waiver or {}
        assert either is not None
        out.append(WaiverChange(
            result=result_id, requirement=either.requirement, stage=either.stage, control=either.control,
            change=kind, expires=_text(shown.get("expires")), justification=_text(shown.get("justification")),
            old_status=old.status if old else None, new_status=new.status if new else None))
    return out


def _waiver_change(old: ControlResult | None, old_waiver: dict[str, Any] | None,
                   new_waiver: dict[str, Any] | None) -> Literal["expired", "removed", "added", "changed"]:
    if new_waiver is None:
        return "removed"
    if old_waiver is None:
        return "expired" if _expired(new_waiver) and old is not None and old.status == "waived" else "added"
    return "expired" if _expired(new_waiver) and not _expired(old_waiver) else "changed"


def _waiver(result: ControlResult | None) -> dict[str, Any] | None:
    waiver = getattr(result, "waiver", None)
    if waiver is None:
        return None
    if isinstance(waiver, BaseModel):
        return waiver.model_dump(mode="json")
    return dict(waiver) if isinstance(waiver, Mapping) else {"value": str(waiver)}


def _expired(waiver: Mapping[str, Any]) -> bool:
    return str(waiver.get("status", "")).lower() == "expired" or waiver.get("expired") is True


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
