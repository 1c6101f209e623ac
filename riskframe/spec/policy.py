"""The policy document (``kind: Policy``): what must hold, how bad each breach is, and the gate."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from riskframe.spec.common import Document, Name, Severity, Spec, StageKind, Trust


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
    fail_on: Literal["low", "medium", "high", "critical"] = Field(
        default="high", description="the gate fails when any result's residual risk reaches this level"
    )


class PolicyMetadata(Spec):
    name: Name
    version: str = "0.1.0"
    owner: str | None = None
    description: str = ""


class Policy(Document):
    kind: Literal["Policy"]
    metadata: PolicyMetadata
    risk_appetite: RiskAppetite = Field(default_factory=RiskAppetite)
    requirements: list[Requirement] = Field(min_length=1)
