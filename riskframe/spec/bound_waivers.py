"""Waivers bound to where they were written, and their checks: references to policies,
requirements, stages and controls that exist, approvers the policy lists, and dates (every problem
located at the waiver's field). The schema is :mod:`riskframe.spec.waivers`; the decision for a
result is :mod:`riskframe.engine.waivers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from riskframe.errors import Problem
from riskframe.io.paths import shown_path
from riskframe.spec.pipeline import Pipeline
from riskframe.spec.policy import Policy
from riskframe.spec.validation import did_you_mean
from riskframe.spec.waivers import Waiver, WaiverSet, days_left
from riskframe.spec.yaml_source import Loc, SourceMap


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
        path, line, _ = self.source.origin(self.loc)
        return f"{shown_path(path)}:{line}"

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
            path, line, _ = policy.source.origin(("exclude", index))
            message = (f"requirement {w.requirement!r} is excluded from policy {policy.metadata.name!r} "
                       f"({shown_path(path)}:{line}); there is nothing to waive")
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
