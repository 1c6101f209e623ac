"""Waivers: a time-limited, approved exception to one requirement.

A waiver names a requirement (and optionally a stage and a control), says why (``justification``),
who accepted the risk (``approved_by``) and until when (``expires``). It sits in a policy's
``waivers:`` section or in a separate ``kind: Waivers`` file handed to ``assess --waivers``.

On the assessment's date, an active waiver turns a matching ``fail`` or ``warn`` into ``waived``
(and an ``error`` only with ``include_errors: true``: an unmeasured risk is not accepted by
default); an expired waiver changes nothing and the result says it expired and when. The gate
ignores waived results. This module holds the models, the checks (all located at the waiver's
field) and that decision; :mod:`riskframe.engine.compose` applies it.

>>> from datetime import date
>>> waiver = Waiver(requirement="DP-1", justification="Vendor relabels class 7 this sprint",
...                 approved_by="jane.doe@example.org", expires=date(2030, 1, 31))
>>> waiver_status(waiver, today=date(2030, 2, 1))
'expired'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field

from riskframe.assessment import ResultWaiver, WaiverRecord
from riskframe.errors import Problem
from riskframe.spec.common import Document, Name, Spec
from riskframe.spec.validation import did_you_mean
from riskframe.spec.yaml_source import Loc, SourceMap

if TYPE_CHECKING:
    from riskframe.spec.pipeline import Pipeline
    from riskframe.spec.policy import Policy

WaiverStatus = Literal["active", "expired"]

_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
# One word of a person's name: letters, with inner ' . - (O'Neil, Smith-Jones, J.R.R.) and a final dot.
_NAME_WORD = re.compile(r"^[^\W\d_]+(?:[.'\u2019-][^\W\d_]+)*\.?$")
# Words that stand for nobody: a waiver must name who accepted the risk.
_PLACEHOLDERS = frozenset({"tbd", "todo", "tba", "unknown", "nobody", "someone", "none", "n/a", "na", "xxx"})
APPROVER_RULE = "must be an email address (jane.doe@example.org) or a person's full name (Jane Doe)"


def check_approver(value: str) -> str:
    """``value`` if it is an email address or a full name (two words or more), else ValueError.

    >>> check_approver("Jane O'Neil-Smith")
    "Jane O'Neil-Smith"
    """
    text = value.strip()
    words = text.split()
    if _EMAIL.match(text) or (len(words) >= 2 and len(text) <= 100 and all(_NAME_WORD.match(w) for w in words)
                              and not any(w.lower().strip(".") in _PLACEHOLDERS for w in words)):
        return text
    raise ValueError(f"{APPROVER_RULE}. Got {value!r} instead.")


def check_approver_entry(value: str) -> str:
    """A policy's ``approvers`` entry: an approver, or ``@domain`` for anyone at that domain."""
    if value.startswith("@") and _EMAIL.match(f"x{value}"):
        return value
    try:
        return check_approver(value)
    except ValueError:
        raise ValueError(f"must be an email address, a person's full name or @domain. Got {value!r} instead.") from None


def nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("must say something: an empty or blank text is not a reason")
    return value.strip()


NonBlank = Annotated[str, AfterValidator(nonblank)]
Approver = Annotated[str, AfterValidator(check_approver)]
ApproverEntry = Annotated[str, AfterValidator(check_approver_entry)]


class Waiver(Spec):
    """An approved, time-limited exception to a requirement (in a policy's ``waivers:`` section)."""

    requirement: Name
    stage: Name | None = Field(default=None, description="only at this stage (default: every stage)")
    control: Name | None = Field(default=None, description="only this control of the requirement")
    justification: NonBlank
    approved_by: Approver
    approved_on: date | None = Field(default=None, description="when it was approved (default: today)")
    expires: date = Field(description="the last day it applies")
    include_errors: bool = Field(default=False, description="also waive results that ended in error")


class FileWaiver(Waiver):
    """A waiver in a ``kind: Waivers`` file; ``policy`` narrows it to one policy's requirement."""

    policy: Name | None = None


class WaiverSetMetadata(Spec):
    name: Name | None = None
    owner: str | None = None
    description: str = ""


class WaiverSet(Document):
    """A ``kind: Waivers`` document: waivers kept apart from the policies they waive."""

    kind: Literal["Waivers"]
    metadata: WaiverSetMetadata = Field(default_factory=WaiverSetMetadata)
    waivers: list[FileWaiver] = Field(min_length=1)


@dataclass(frozen=True)
class BoundWaiver:
    """A waiver with where it was written and, for a policy's own, the policy it belongs to."""

    waiver: Waiver
    source: SourceMap
    loc: Loc
    policy: str | None
    in_policy: bool

    @property
    def where(self) -> str:
        """``file:line`` of the waiver."""
        path, line, _ = _origin(self.source, self.loc)
        return f"{_shown(path)}:{line}"

    def problem(self, field: str, message: str, value: Any = None) -> Problem:
        return self.source.problem((*self.loc, field), message, value)

    def matches(self, policy: str, requirement: str, stage: str, control: str) -> bool:
        w = self.waiver
        return (w.requirement == requirement and self.policy in (None, policy)
                and w.stage in (None, stage) and w.control in (None, control))

    @property
    def specificity(self) -> int:
        return (self.waiver.stage is not None) * 2 + (self.waiver.control is not None)


def policy_waivers(policy: Policy) -> list[BoundWaiver]:
    return [BoundWaiver(w, policy.source, ("waivers", i), policy.metadata.name, True)
            for i, w in enumerate(policy.waivers)]


def file_waivers(waiver_set: WaiverSet) -> list[BoundWaiver]:
    return [BoundWaiver(w, waiver_set.source, ("waivers", i), w.policy, False)
            for i, w in enumerate(waiver_set.waivers)]


def index_waivers(waivers: Sequence[BoundWaiver]) -> dict[str, list[BoundWaiver]]:
    """Waivers by requirement id, in order: a result only looks at its requirement's."""
    index: dict[str, list[BoundWaiver]] = {}
    for item in waivers:
        index.setdefault(item.waiver.requirement, []).append(item)
    return index


def waiver_status(waiver: Waiver, today: date) -> WaiverStatus:
    """``expired`` once ``today`` is past ``expires`` (a waiver applies through its last day)."""
    return "expired" if today > waiver.expires else "active"


def days_left(waiver: Waiver, today: date) -> int:
    return (waiver.expires - today).days


# ---------------------------------------------------------------- checks (all located)

def reference_problems(bound: Sequence[BoundWaiver], policies: Sequence[Policy],
                       pipeline: Pipeline | None = None) -> list[Problem]:
    """Waivers naming a policy, requirement, control or stage that does not exist, or approved by
    someone the policy's ``risk_appetite.approvers`` does not list."""
    problems: list[Problem] = []
    for item in bound:
        owners = [p for p in policies if item.policy in (None, p.metadata.name)]
        if not item.in_policy and item.policy is not None and not owners:
            names = [p.metadata.name for p in policies]
            problems.append(item.problem("policy", f"no policy named {item.policy!r} is assessed"
                                         f"{did_you_mean(item.policy, names)}; assessed: {', '.join(names)}",
                                         item.policy))
            continue
        problems += _requirement_problems(item, owners)
        if pipeline is not None and item.waiver.stage is not None:
            stages = [s.name for s in pipeline.stages]
            if item.waiver.stage not in stages:
                problems.append(item.problem("stage", f"no stage {item.waiver.stage!r} in pipeline "
                                             f"{pipeline.metadata.name!r}{did_you_mean(item.waiver.stage, stages)}",
                                             item.waiver.stage))
    return problems


def _requirement_problems(item: BoundWaiver, owners: Sequence[Policy]) -> list[Problem]:
    w = item.waiver
    found = [(p, r) for p in owners if (r := p.requirement(w.requirement)) is not None]
    if not found:
        excluded = [(p, i) for p in owners for i, e in enumerate(p.exclude) if e.id == w.requirement]
        if excluded:
            policy, index = excluded[0]
            path, line, _ = _origin(policy.source, ("exclude", index))
            message = (f"requirement {w.requirement!r} is excluded from policy {policy.metadata.name!r} "
                       f"({_shown(path)}:{line}); there is nothing to waive")
        else:
            ids = [r.id for p in owners for r in p.requirements]
            where = (f"policy {owners[0].metadata.name!r}" if len(owners) == 1
                     else f"the policies {', '.join(p.metadata.name for p in owners)}")
            message = f"no requirement {w.requirement!r} in {where}{did_you_mean(w.requirement, ids)}"
        return [item.problem("requirement", message, w.requirement)]
    problems = []
    if w.control is not None and not any(w.control in [c.control for c in r.controls] for _, r in found):
        used = sorted({c.control for _, r in found for c in r.controls})
        problems.append(item.problem("control", f"requirement {w.requirement!r} does not use control "
                                     f"{w.control!r}{did_you_mean(w.control, used)}; it uses {', '.join(used)}",
                                     w.control))
    for policy, _ in found:
        allowed = policy.risk_appetite.approvers
        if allowed and not _approved_by_one_of(w.approved_by, allowed):
            problems.append(item.problem("approved_by", f"{w.approved_by!r} is not among the approvers of policy "
                                         f"{policy.metadata.name!r} (risk_appetite.approvers: {', '.join(allowed)})",
                                         w.approved_by))
    return problems


def _approved_by_one_of(approver: str, allowed: Sequence[str]) -> bool:
    who = approver.casefold()
    domain = "@" + who.rsplit("@", 1)[1] if "@" in who else None
    return any(a.casefold() in (who, domain) for a in allowed)


def date_problems(bound: Sequence[BoundWaiver], policies: Sequence[Policy], today: date,
                  allow_expired: bool = False) -> list[Problem]:
    """Waivers already expired (unless ``allow_expired``), approved in the future or after they
    expire, or running longer than the owning policy's ``risk_appetite.max_waiver_days``."""
    problems: list[Problem] = []
    for item in bound:
        w = item.waiver
        if w.expires < today and not allow_expired:
            problems.append(item.problem("expires", f"the waiver expired on {w.expires} ({-days_left(w, today)} "
                                         f"days before {today}); renew it with a new approval and date, or remove it",
                                         w.expires))
        if w.approved_on is not None and w.approved_on > today:
            problems.append(item.problem("approved_on", f"is in the future ({w.approved_on}, today is {today}); "
                                         "a waiver is approved before it applies", w.approved_on))
        if w.approved_on is not None and w.approved_on > w.expires:
            problems.append(item.problem("expires", f"is before approved_on ({w.expires} < {w.approved_on})",
                                         w.expires))
            continue
        problems += _length_problems(item, policies, today)
    return problems


def _length_problems(item: BoundWaiver, policies: Sequence[Policy], today: date) -> list[Problem]:
    w = item.waiver
    owners = [p for p in policies if item.policy in (None, p.metadata.name) and p.requirement(w.requirement)]
    if not owners:
        return []
    strictest = min(owners, key=lambda p: p.risk_appetite.max_waiver_days)
    limit = strictest.risk_appetite.max_waiver_days
    start = w.approved_on or today
    length = (w.expires - start).days
    if length <= limit:
        return []
    since = "approved_on" if w.approved_on else "today"
    return [item.problem("expires", f"the waiver runs {length} days (from {since}, {start}, to {w.expires}), longer "
                         f"than the {limit} days policy {strictest.metadata.name!r} allows "
                         "(risk_appetite.max_waiver_days)", w.expires)]


# ---------------------------------------------------------------- the decision for one result

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


def _origin(source: SourceMap, loc: Loc) -> tuple[str, int, int]:
    from riskframe.spec.inherit import origin_of  # the resolver imports the policy model, which imports this

    return origin_of(source, loc)


def _shown(path: str) -> str:
    from riskframe.spec.inherit import display_path

    return display_path(path)
