"""The policy document (``kind: Policy``): what must hold, how bad each breach is, and the gate."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from riskframe.scoring import RiskModel
from riskframe.spec.common import Document, Name, Severity, Spec, StageKind, Trust
from riskframe.spec.waivers import ApproverEntry, NonBlank, Waiver
from riskframe.vocabulary import Level


class ControlRef(Spec):
    """A control a requirement uses, with parameter overrides checked against its detector."""

    control: Name
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")


class Scope(Spec):
    """Narrows where a requirement applies; empty lists mean no restriction."""

    stages: list[Name] = Field(default_factory=list)
    kinds: list[StageKind] = Field(default_factory=list)
    trust: Trust | None = None


class Requirement(Spec):
    id: Name
    title: str = Field(min_length=1)
    description: str = ""
    severity: Severity
    threats: list[str] = Field(default_factory=list, description="ATLAS technique ids")
    nist: list[str] = Field(default_factory=list, description="NIST AI RMF subcategory ids")
    controls: list[ControlRef] = Field(min_length=1)
    scope: Scope = Field(default_factory=Scope)
    rationale: str = ""


class RiskAppetite(Spec):
    fail_on: Level = Field(
        default="high", description="the gate fails when any result's residual risk reaches this level"
    )
    unassessed: Literal["fail", "allow"] = Field(
        default="fail",
        description="fail: the gate fails when a requirement, or one of its controls, produced no verdict (no "
                    "stage it applies to, or every run not applicable), since an unmeasured risk is not an accepted "
                    "one; allow: such requirements are only listed")
    cli_override: Literal["stricter-only", "any"] = Field(
        default="stricter-only",
        description="stricter-only: riskframe assess --fail-on may only tighten fail_on (a laxer level is an error, "
                    "exit 2); any: --fail-on may loosen it too, and the reports say so")
    max_waiver_days: int = Field(
        default=365, ge=1, le=3650,
        description="the longest a waiver may run, from its approved_on date (else from today) to its expiry")
    approvers: list[ApproverEntry] = Field(
        default_factory=list,
        description="who may approve waivers: emails, full names, or @domain for anyone at a domain; empty: anyone")


class Exclusion(Spec):
    """An inherited requirement this policy drops, and why (the reason is shown in every report)."""

    id: Name
    reason: NonBlank


class PolicyMetadata(Spec):
    name: Name
    version: str = "0.1.0"
    owner: str | None = None
    description: str = ""


class Policy(Document):
    """A policy. Loaded with ``extends:``, it is the effective policy: its parents' requirements merged
    with its own (see :mod:`riskframe.spec.inherit`), and ``source`` says which file and line
    each value came from."""

    kind: Literal["Policy"]
    metadata: PolicyMetadata
    extends: list[str] = Field(default_factory=list, description="parent policies: names or paths")
    exclude: list[Exclusion] = Field(default_factory=list, description="inherited requirements dropped")
    risk_appetite: RiskAppetite = Field(default_factory=RiskAppetite)
    risk: RiskModel | None = Field(default=None, description="risk model parameters (docs/risk-model.md)")
    requirements: list[Requirement] = Field(min_length=1)
    waivers: list[Waiver] = Field(default_factory=list)

    def requirement(self, requirement_id: str) -> Requirement | None:
        return next((r for r in self.requirements if r.id == requirement_id), None)
