"""The threat model as one versioned document: ``threat-model.json`` is this model serialised, and
the Markdown, HTML and Navigator reports are rendered from it alone."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from riskframe.assessment import NotAssessed, PipelineInfo, PolicyInfo, ToolInfo
from riskframe.vocabulary import Level

SCHEMA_VERSION = "1.0"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ArtifactRef(_Model):
    """An artifact of the stage, by its type and name in the pipeline."""

    type: str
    name: str


class Reason(_Model):
    source: Literal["kind", "trust", "artifact", "policy"] = Field(
        description="kind: a mitigation's ATLAS lifecycle; trust: an untrusted source; artifact: what the stage "
                    "holds; policy: a requirement checks for it here")
    text: str
    artifact: ArtifactRef | None = Field(default=None, description="source artifact: the artifact that opens it")


class StageControl(_Model):
    """A control the plan runs at a stage, and the requirements it runs for there."""

    control: str
    effectiveness: float
    requirements: list[str] = Field(description="requirement ids (policy/id when several policies are given)")


class StageTechnique(_Model):
    """A technique at one stage: why it applies, what covers it, its design-time risk there."""

    id: str
    reasons: list[Reason]
    covered_by: list[str] = Field(description="controls the plan runs at this stage for it")
    likelihood: float = Field(ge=0, le=1, description="design-time residual likelihood")
    inherent: float = Field(ge=0, le=1, description="likelihood before the controls x impact")
    residual: float = Field(ge=0, le=1, description="likelihood after the controls (all passing) x impact")
    level: Level


class StageThreats(_Model):
    name: str
    kind: str
    trust: str
    exposed: bool
    inherited: float
    inherited_from: str | None
    likelihood: float
    residual: float
    level: Level
    controls: list[StageControl] = Field(description="controls the plan runs here")
    techniques: list[StageTechnique] = Field(description="riskiest first")

    def shown(self, limit: int) -> tuple[list[StageTechnique], int]:
        """The rows a page shows: every covered technique, then the riskiest uncovered ones up to
        ``limit`` rows in all (riskiest first), and how many uncovered ones are left out."""
        covered = [t for t in self.techniques if t.covered_by]
        room = max(0, limit - len(covered))
        uncovered = [t for t in self.techniques if not t.covered_by]
        chosen = {id(t) for t in [*covered, *uncovered[:room]]}
        return [t for t in self.techniques if id(t) in chosen], max(0, len(uncovered) - room)


class Technique(_Model):
    """A technique that applies somewhere in the pipeline, described once."""

    id: str
    name: str
    tactics: list[str]
    maturity: str | None
    severity: Level = Field(description="of the most severe requirement naming it in its threats, else the "
                                        "assumed severity")
    requirements: list[str] = Field(description="requirements that address it (empty: a coverage gap)")
    mitigations: list[str] = Field(description="ATLAS mitigations that address it, id and name")
    stages: int = Field(description="how many stages it applies to")
    max_residual: float
    level: Level


class PathStep(_Model):
    stage: str
    tactic: str
    tactic_name: str
    technique: str
    technique_name: str
    likelihood: float
    residual: float
    level: Level
    covered: bool


class AttackPath(_Model):
    entry: str = Field(description="the untrusted stage the attack enters at")
    target: str = Field(description="the deployment stage it reaches")
    stages: list[str]
    alternatives: int = Field(description="how many distinct stage chains lead from entry to target")
    likelihood: float = Field(description="at the target, when the attack flows along this path")
    risk: float = Field(description="the highest residual risk of a stage along the path")
    level: Level
    riskiest_stage: str
    steps: list[PathStep] = Field(description="the ATLAS tactic progression along the path")

    @property
    def tactics(self) -> list[str]:
        return [s.tactic_name for s in self.steps]


class CoverageGap(_Model):
    id: str
    name: str
    tactics: list[str]
    maturity: str | None
    stages: list[str] = Field(description="where it applies")
    max_residual: float
    level: Level


class Unenforced(_Model):
    """A technique a requirement addresses, but no control of it runs at some stages where it applies."""

    id: str
    name: str
    maturity: str | None
    requirements: list[str]
    stages: list[str] = Field(description="applicable stages where no control covers it")


class CaseStudyCoverage(_Model):
    id: str
    name: str
    type: str | None
    techniques: list[str]
    covered: list[str] = Field(description="techniques some requirement of the policy addresses")
    applicable: list[str] = Field(description="techniques that apply to a stage of this pipeline")
    exposed: list[str] = Field(description="applicable and not addressed")
    share_covered: float
    share_applicable: float


class ThreatSummary(_Model):
    stages: int
    entries: int = Field(description="untrusted stages")
    deployments: int
    applicable_techniques: int
    addressed_techniques: int = Field(description="applicable techniques some requirement addresses")
    gaps: int
    attack_paths: int = Field(description="connected (entry, deployment) pairs")
    max_path_risk: float
    level: Level


class ThreatModel(_Model):
    schema_version: str = SCHEMA_VERSION
    kind: Literal["ThreatModel"] = "ThreatModel"
    created_at: str
    tool: ToolInfo
    pipeline: PipelineInfo
    policies: list[PolicyInfo]
    assumptions: list[str]
    techniques: list[Technique] = Field(description="every technique that applies somewhere, by id")
    stages: list[StageThreats]
    paths: list[AttackPath] = Field(description="riskiest first; at most the requested number")
    gaps: list[CoverageGap] = Field(description="applicable techniques no requirement addresses, by maturity")
    unenforced: list[Unenforced]
    case_studies: list[CaseStudyCoverage] = Field(description="every ATLAS case study, in catalog order")
    most_exposed: list[str] = Field(description="case studies the pipeline is most exposed to, most first")
    not_planned: list[NotAssessed] = Field(default_factory=list,
                                           description="requirement controls the plan runs nowhere, and why")
    summary: ThreatSummary

    def stage(self, name: str) -> StageThreats:
        return next(s for s in self.stages if s.name == name)

    def technique(self, technique_id: str) -> Technique:
        return next(t for t in self.techniques if t.id == technique_id)
