"""What the waivers do to the results of one assessment: the decision for each result (an active
waiver turns a matching ``fail`` or ``warn`` into ``waived``), and the record of every waiver the
assessment keeps. The schema is :mod:`riskframe.spec.waivers`, the binding and checks
:mod:`riskframe.spec.bound_waivers`; :mod:`riskframe.engine.compose` applies these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from riskframe.assessment import ResultWaiver, WaiverRecord
from riskframe.spec.bound_waivers import BoundWaiver
from riskframe.spec.waivers import days_left, waiver_status


def index_waivers(waivers: Sequence[BoundWaiver]) -> dict[str, list[BoundWaiver]]:
    """Waivers by requirement id, in order: a result only looks at its requirement's."""
    index: dict[str, list[BoundWaiver]] = {}
    for item in waivers:
        index.setdefault(item.waiver.requirement, []).append(item)
    return index


@dataclass(frozen=True)
class WaiverDecision:
    """What the waivers do to one result: its final status, and the waiver that matched (if any)."""

    status: str
    waiver: ResultWaiver | None = None
    bound: BoundWaiver | None = None

    @property
    def applied(self) -> bool:
        return self.waiver is not None and self.waiver.applied


def decide_waiver(waivers: Sequence[BoundWaiver], *, policy: str, requirement: str, stage: str, control: str,
           status: str, today: date) -> WaiverDecision:
    """Apply the best matching waiver to a result with ``status``.

    Among the waivers whose scope matches, an active one beats an expired one, then the most
    specific (stage and control named) wins, then the first written. Only ``fail``, ``warn`` and
    (with ``include_errors``) ``error`` can be waived.
    """
    if status not in ("fail", "warn", "error"):
        return WaiverDecision(status)
    candidates = [w for w in waivers if w.matches(policy, requirement, stage, control)]
    if not candidates:
        return WaiverDecision(status)
    best = min(candidates, key=lambda w: (waiver_status(w.waiver, today) == "expired", -w.specificity))
    w, state = best.waiver, waiver_status(best.waiver, today)
    fields = {"justification": w.justification, "approved_by": w.approved_by, "expires": w.expires,
              "source": best.where, "status": state}
    if state == "expired":
        note = (f"Waiver {best.where} expired on {w.expires} ({-days_left(w, today)} days before this assessment); "
                f"the {_word(status)} counts.")
        return WaiverDecision(status, ResultWaiver(**fields, applied=False, note=note), best)
    if status == "error" and not w.include_errors:
        note = (f"Waiver {best.where} does not cover errors (it does not say include_errors: true); "
                "the error counts (fail closed).")
        return WaiverDecision(status, ResultWaiver(**fields, applied=False, note=note), best)
    note = f"Waived until {w.expires} by {w.approved_by} ({best.where}): {w.justification}"
    return WaiverDecision("waived", ResultWaiver(**fields, applied=True, waived_status=status, note=note), best)


def waiver_records(waivers: Sequence[BoundWaiver], decisions: Sequence[tuple[str, WaiverDecision]],
            today: date) -> list[WaiverRecord]:
    """One record per waiver: its status on ``today``, the results it matched and those it waived."""
    by_waiver: dict[int, list[tuple[str, WaiverDecision]]] = {}
    for rid, decision in decisions:
        if decision.bound is not None:
            by_waiver.setdefault(id(decision.bound), []).append((rid, decision))
    out = []
    for item in waivers:
        w = item.waiver
        mine = by_waiver.get(id(item), [])
        out.append(WaiverRecord(
            requirement=w.requirement, policy=item.policy, stage=w.stage, control=w.control,
            justification=w.justification, approved_by=w.approved_by, expires=w.expires, source=item.where,
            include_errors=w.include_errors, status=waiver_status(w, today), days_left=days_left(w, today),
            matched=[rid for rid, _ in mine], applied_to=[rid for rid, d in mine if d.applied]))
    return out


def _word(status: str) -> str:
    return {"fail": "failure", "warn": "warning", "error": "error"}.get(status, status)
