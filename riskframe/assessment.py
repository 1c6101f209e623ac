"""The assessment: everything one ``riskframe assess`` run found, as one versioned document.

``assessment.json`` is this model serialised; every report format is rendered from it alone, so
an earlier assessment can be re-rendered without running detectors again. Same inputs give the
same JSON apart from ``created_at`` and the ``duration_s`` fields.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from riskframe.results import Attachment, Status

SCHEMA_VERSION = "1.0"

Level = Literal["low", "medium", "high", "critical"]
LEVELS: tuple[str, ...] = Level.__args__  # type: ignore[attr-defined]
NistStatus = Literal["satisfied", "not-satisfied", "not-assessed"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ToolInfo(_Model):
    name: str = "riskframe"
    version: str
    catalogs: dict[str, str] = Field(description="catalog name -> version, e.g. atlas: 5.6.0")


class InputFile(_Model):
    path: str
    sha256: str
    role: Literal["pipeline", "policy", "control", "artifact"]
    size: int


class ArtifactInfo(_Model):
    name: str
    type: str
    path: str
    format: str
    sha256: str | None = Field(default=None, description="the digest the pipeline declares")


class StageInfo(_Model):
    name: str
    kind: str
    trust: str
    needs: list[str]
    artifacts: list[ArtifactInfo]


class PipelineInfo(_Model):
    name: str
    path: str
    owner: str | None
    criticality: str
    stages: list[StageInfo]


class PolicyInfo(_Model):
    name: str
    version: str
    path: str
    fail_on: Level
    requirements: int


class RiskTerms(_Model):
    """How a residual score was reached; every number traces to these terms."""

    maturity_prior: float = Field(description="likelihood from the ATLAS maturity of the threats")
    exposure: float = Field(description="added likelihood from untrusted inputs at or upstream of the stage")
    inherited: float = Field(description="likelihood flowing in from upstream stages' residual risk")
    control_effect: str = Field(description="what the result did to the likelihood, in words")


class Risk(_Model):
    likelihood: float = Field(ge=0, le=1, description="residual likelihood after this result")
    impact: float = Field(ge=0, le=1)
    inherent: float = Field(ge=0, le=1, description="prior likelihood x impact, before the control")
    residual: float = Field(ge=0, le=1, description="likelihood x impact, after the control")
    level: Level
    terms: RiskTerms


class Location(_Model):
    """Where in a document a result comes from (1-based line and column)."""

    path: str
    line: int
    column: int
    what: Literal["requirement", "control", "stage", "artifact"]


class ControlResult(_Model):
    id: str = Field(description="requirement/stage/control[/artifact], stable across runs")
    requirement: str
    requirement_title: str
    policy: str
    stage: str
    control: str
    control_title: str
    detector: str
    artifact: str | None = Field(default=None, description="the primary artifact the run examined")
    params: dict[str, Any]
    status: Status
    severity: Level
    score: float = Field(ge=0, le=1)
    summary: str
    metrics: dict[str, float] = Field(default_factory=dict)
    evidence: dict[str, Any] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(default_factory=list)
    risk: Risk
    atlas: list[str] = Field(description="ATLAS technique ids the requirement and control address")
    mitigations: list[str] = Field(default_factory=list, description="ATLAS mitigation ids the control implements")
    nist: list[str]
    remediation: str = ""
    waiver: dict[str, Any] | None = None
    locations: list[Location] = Field(
        default_factory=list, description="the policy requirement, the stage and the artifact the result concerns")
    duration_s: float = 0.0


class StageRisk(_Model):
    name: str
    kind: str
    trust: str
    exposed: bool = Field(description="an untrusted stage is at or upstream of this one")
    inherited: float = Field(description="likelihood flowing in from upstream stages")
    likelihood: float = Field(description="the stage's residual likelihood, passed downstream")
    residual: float = Field(description="the highest residual risk of the stage's results")
    level: Level
    results: list[str]


class TechniqueStatus(_Model):
    id: str
    name: str
    tactics: list[str]
    maturity: str | None
    covered: bool = Field(description="at least one control produced a verdict for it")
    status: Status | Literal["not-assessed"]
    max_residual: float
    level: Level | None
    results: list[str]


class NistSubcategoryStatus(_Model):
    id: str
    function: str
    category: str
    statement: str
    status: NistStatus
    results: list[str]


class NotAssessed(_Model):
    """A (requirement, control) pair the plan found no stage for, and why."""

    policy: str
    requirement: str
    control: str
    reason: str


class Summary(_Model):
    risk_score: float = Field(ge=0, le=100, description="100 x the highest residual risk of any result")
    level: Level
    counts: dict[str, int] = Field(description="results by status")
    requirements: int
    stages: int


class Gate(_Model):
    decision: Literal["pass", "fail"]
    fail_on: Level
    reasons: list[str]


class Assessment(_Model):
    schema_version: str = SCHEMA_VERSION
    created_at: str
    tool: ToolInfo
    inputs: list[InputFile]
    pipeline: PipelineInfo
    policies: list[PolicyInfo]
    results: list[ControlResult]
    stages: list[StageRisk]
    atlas: list[TechniqueStatus]
    nist: list[NistSubcategoryStatus]
    not_assessed: list[NotAssessed] = Field(default_factory=list)
    summary: Summary
    gate: Gate

    def result(self, result_id: str) -> ControlResult:
        return next(r for r in self.results if r.id == result_id)
