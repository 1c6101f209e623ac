"""The assessment: everything one ``riskframe assess`` run found, as one versioned document.

``assessment.json`` is this model serialised; every report format is rendered from it alone, so
an earlier assessment can be re-rendered without running detectors again. Same inputs give the
same JSON apart from ``created_at`` and the ``duration_s`` fields.
"""

from __future__ import annotations

from collections.abc import ItemsView
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from riskframe.results import Attachment
from riskframe.vocabulary import Level, Status

SCHEMA_VERSION = "1.2"

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
    role: Literal["pipeline", "policy", "control", "waivers", "artifact"]
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


class ExcludedRequirement(_Model):
    """An inherited requirement a policy dropped with ``exclude:``."""

    id: str
    reason: str
    source: str = Field(description="file:line of the exclude entry")


class PolicyInfo(_Model):
    name: str
    version: str
    path: str
    fail_on: Level
    requirements: int
    extends: list[str] = Field(default_factory=list,
                               description="the policy files it inherits from, in the order they apply")
    excluded: list[ExcludedRequirement] = Field(default_factory=list)


class RiskTerms(_Model):
    """How a residual score was reached; every number traces to these terms."""

    maturity_prior: float = Field(description="likelihood from the ATLAS maturity of the threats")
    exposure: float = Field(description="added likelihood from untrusted inputs at or upstream of the stage")
    inherited: float = Field(description="likelihood flowing in from upstream stages' residual risk")
    control_effect: str = Field(description="what the result did to the likelihood, in words")
    prior_likelihood: float | None = Field(default=None, description="1 - (1 - maturity)(1 - exposure)(1 - inherited)")
    severity_impact: float | None = Field(default=None, description="impact of the requirement's severity")
    criticality_factor: float | None = Field(default=None, description="scales impact by the pipeline's criticality")
    effectiveness: float | None = Field(default=None, description="the control's effectiveness")
    inherited_from: str | None = Field(default=None,
                                       description="the upstream stage the inherited likelihood came from")


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
    what: Literal["requirement", "override", "control", "stage", "artifact"]


class ResultWaiver(_Model):
    """The waiver whose scope matched a result: applied (the result is ``waived``) or not, and why."""

    justification: str
    approved_by: str
    expires: date
    source: str = Field(default="", description="file:line of the waiver")
    status: Literal["active", "expired"] = "active"
    applied: bool = True
    waived_status: str | None = Field(default=None, description="the verdict the waiver set aside")
    note: str = Field(default="", description="what the waiver did to the result, in one sentence")

    def items(self) -> ItemsView[str, Any]:
        """The fields as a mapping's items, so that templates can list a waiver like a dict."""
        return self.model_dump(mode="json").items()


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
    model: str | None = Field(default=None, description="the model artifact bound to the run beside its primary "
                                                       "artifact, which the id names after it (train+model)")
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
    waiver: ResultWaiver | None = None
    locations: list[Location] = Field(
        default_factory=list, description="the policy requirement, the stage and the artifact the result concerns")
    duration_s: float = 0.0


class StageRisk(_Model):
    name: str
    kind: str
    trust: str
    exposed: bool = Field(description="an untrusted stage is at or upstream of this one")
    inherited: float = Field(description="likelihood flowing in from upstream stages")
    inherited_from: str | None = Field(default=None, description="the upstream stage it flowed in from")
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


class WaiverRecord(_Model):
    """A waiver the assessment considered, with its status on the assessment's date."""

    requirement: str
    policy: str | None = Field(default=None, description="the policy whose waivers: section holds it; "
                                                         "None for a waiver file")
    stage: str | None = None
    control: str | None = None
    justification: str
    approved_by: str
    expires: date
    source: str = Field(description="file:line of the waiver")
    include_errors: bool = False
    status: Literal["active", "expired"]
    days_left: int = Field(description="days until it expires (negative: days since it expired)")
    matched: list[str] = Field(default_factory=list, description="results in its scope")
    applied_to: list[str] = Field(default_factory=list, description="results it waived")


class DvcOrigin(_Model):
    """Where DVC says an artifact came from, as the ``dvc-lock`` detector verified it."""

    lock: str = Field(description="the dvc.lock or .dvc file, relative to the pipeline file")
    dvc_stage: str
    relation: Literal["out", "dep"] = Field(description="out: the DVC stage produced it; dep: it uses it")
    path: str = Field(description="the entry's path as DVC recorded it")
    md5: str | None = None
    status: str = Field(description="match | mismatch | missing | unreadable | unverifiable")
    cmd: str | None = Field(default=None, description="the command that produced it (for an out)")
    deps: list[dict[str, Any]] = Field(default_factory=list, description="the producing stage's dependencies: "
                                       "path, md5 and status")


class RegistryLineage(_Model):
    """A model's registered version and the run that produced it, as ``mlflow-lineage`` read and judged them."""

    declared: str = Field(description="the pipeline's mlflow: reference (a version or an alias)")
    model_uri: str = Field(description="the version it resolved to, models:/NAME/VERSION")
    name: str
    version: str
    source: str = Field(description="the model version's source (where MLflow keeps its files)")
    tracking_uri: str = Field(description="the tracking store, credentials removed")
    run_id: str | None = None
    run_name: str | None = None
    experiment_id: str | None = None
    code_version: str | None = Field(default=None, description="the run's mlflow.source.git.commit")
    params: dict[str, str] = Field(default_factory=dict, description="the run's params")
    inputs: list[dict[str, Any]] = Field(default_factory=list, description="the run's dataset inputs: name, "
                                         "context, mlflow_digest, sha256, source, outcome, artifact")
    status: str = Field(description="the lineage check's verdict: pass | warn | fail")


class LineageEntry(_Model):
    """One artifact of the pipeline: its digest, the one declared for it, and where it came from."""

    artifact: str
    stage: str
    type: str
    path: str
    sha256: str = Field(description="the digest computed during the assessment")
    declared_sha256: str | None = None
    digest_status: Literal["match", "mismatch", "undeclared"]
    trained_on: str | None = Field(default=None, description="for a model: the dataset it was trained on (of:)")
    of: str | None = Field(default=None, description="the artifact it derives from (of:): a model's training "
                                                     "data, the dataset representations were computed from")
    task: str | None = None
    origins: list[DvcOrigin] = Field(default_factory=list, description="DVC records, when known")
    registry: RegistryLineage | None = Field(default=None, description="for a registered model: its version "
                                             "and source run, when mlflow-lineage checked it")


class Summary(_Model):
    risk_score: float = Field(ge=0, le=100, description="100 x the highest residual risk of any result")
    level: Level
    counts: dict[str, int] = Field(description="results by status")
    requirements: int
    stages: int


GateWhy = Literal["error", "severity", "risk", "unassessed", "waived", "known"]


class GateReason(_Model):
    """One result, or one requirement without a verdict, that the gate weighed: the data every
    report renders its sentences from (``text`` is that sentence, written by
    :mod:`riskframe.engine.gate`; nothing parses it back)."""

    why: GateWhy = Field(description="error: it could not run (fail closed); severity: it failed a requirement "
                                     "of a severity at or above fail_on; risk: its residual risk reaches fail_on; "
                                     "unassessed: the requirement produced no verdict; waived: a waiver accepted "
                                     "it; known: the baseline already had it failing with the same evidence")
    requirement: str
    policy: str
    stage: str | None = None
    control: str | None = None
    artifact: str | None = Field(default=None, description="the primary artifact the result examined")
    result: str | None = Field(default=None, description="the result's id (None for a requirement with no verdict)")
    status: str | None = Field(default=None, description="the result's status; for a waived one, the status the "
                                                        "waiver set aside")
    severity: Level | None = None
    level: Level | None = Field(default=None, description="the result's residual risk level")
    residual: float | None = None
    waiver: str | None = Field(default=None, description="file:line of the waiver that applied or expired")
    text: str = Field(description="the reason in one sentence")


class Gate(_Model):
    """The gate record: the decision and everything behind it, as data every renderer reads."""

    decision: Literal["pass", "fail"]
    fail_on: Level
    policy_fail_on: Level | None = Field(default=None, description="the strictest risk_appetite.fail_on of the "
                                                                   "policies")
    fail_on_source: Literal["policy", "command-line"] = Field(
        default="policy", description="where fail_on came from: the policies, or --fail-on")
    level: Level = Field(default="low", description="the highest residual risk level among the results the gate "
                                                    "counts (not waived, not known, not not_applicable)")
    failing: list[GateReason] = Field(default_factory=list, description="why the gate fails (empty when it passes)")
    waived: list[GateReason] = Field(default_factory=list,
                                     description="results that would fail the gate but for a waiver")
    known: list[GateReason] = Field(default_factory=list,
                                    description="failing results the gate does not count: the --baseline had them")
    unassessed: list[GateReason] = Field(
        default_factory=list, description="requirements without a verdict the policy allows "
                                          "(risk_appetite.unassessed: allow); those it fails on are in failing")
    baseline: str | None = Field(default=None, description="the --baseline assessment the gate compared against")
    reasons: list[str] = Field(description="every reason as a sentence, in the order failing, waived, known, "
                                           "notes: for readers of the JSON; reports render the lists above")


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
    lineage: list[LineageEntry] = Field(default_factory=list, description="every artifact, its digest and origin")
    waivers: list[WaiverRecord] = Field(default_factory=list)
    risk_model: dict[str, Any] = Field(default_factory=dict, description="the risk model's parameters")
    policy_digest: str | None = Field(
        default=None, description="sha256 of the resolved policies' content (requirements, risk appetite, risk "
                                  "model) and of every run's control and parameters, waivers apart: a --baseline "
                                  "is comparable only under the same digest")
    summary: Summary
    gate: Gate

    def result(self, result_id: str) -> ControlResult:
        return next(r for r in self.results if r.id == result_id)
