"""``registry-approval``: a deployed model version carries a passing assessment of exactly what is deployed.

At a deployment stage, each model names its registered version (``mlflow:``). The detector reads
the riskframe tags on that version (written by ``riskframe mlflow tag`` after an assessment, see
:mod:`riskframe.detectors.provenance.approval`) and passes only when all of these hold:

- the version carries riskframe tags, written for that version (``riskframe.model_version``);
- the assessment's gate passed;
- the model file at the stage has the sha256 the assessment examined;
- the training data it recorded (the model's ``of:``) has the same sha256 now;
- with ``max_age_days``, the assessment is no older than that.

A model without ``mlflow:``, a version the registry does not hold, or a version no one assessed
fails: nothing approves it. This is the check a promotion workflow runs before deploying.
"""

from __future__ import annotations

from datetime import datetime, timezone

from pydantic import Field

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.detectors.provenance.approval import Approval
from riskframe.detectors.provenance.model_registry import ModelRef, RegisteredVersion, open_registry
from riskframe.results import DetectorResult
from riskframe.spec.pipeline import Artifact


class RegistryApprovalParams(DetectorParams):
    max_age_days: int | None = Field(
        default=None, ge=1, description="fail when the approving assessment is older than this many days "
                                        "(default: an approval does not expire)")


class RegistryApproval(Detector[RegistryApprovalParams]):
    """Check that a deployed model version was assessed, passed, and is unchanged since.

    Examples
    --------
    >>> from riskframe.detectors.registry import builtin_registry
    >>> detector = builtin_registry()["registry-approval"]  # doctest: +SKIP
    >>> print(detector().run(ctx, detector.Params()).summary)  # doctest: +SKIP
    models:/digits-logreg/2 carries no riskframe assessment: nothing approves deploying it.
    """

    name = "registry-approval"
    title = "A deployed model version carries a passing assessment of its exact version, file and data"
    requires = ("model",)
    optional = ("dataset",)
    Params = RegistryApprovalParams
    # Deploying a model version no assessment vouches for, or one whose file or data changed after
    # it was approved, lets a compromised model (T0010.003) or data (T0010.002) through.
    techniques = ("AML.T0010.003", "AML.T0010.002")
    imports = ("mlflow.tracking",)

    def run(self, ctx: RunContext, params: RegistryApprovalParams) -> DetectorResult:
        model = ctx.artifact("model")
        if model.mlflow is None:
            return _refused(model, f"{model.path} names no registered model version (mlflow:): nothing in a Model "
                                   "Registry approves deploying it")
        registry = open_registry(model.mlflow, ctx.store.roots)
        ref = ModelRef.parse(model.mlflow.model)
        version = registry.version(ref)
        if version is None:
            return _refused(model, f"{ref} is not in the Model Registry at {registry.shown}: nothing approves it")
        try:
            approval = Approval.from_tags(version.tags)
        except ValueError as exc:
            return _refused(model, f"{version.uri} cannot be trusted as approved: {exc}", version)
        if approval is None:
            return _refused(model, f"{version.uri}{_alias(ref)} carries no riskframe assessment: nothing approves "
                                   "deploying it (assess it, then riskframe mlflow tag it)", version)
        problems = _problems(ctx, model, version, approval, params)
        evidence = {"model": model.name, "model_uri": version.uri, "declared": str(ref),
                    "tracking_uri": version.tracking_uri, "approval": _shown(approval), "problems": problems}
        if problems:
            return DetectorResult(status="fail", score=1.0, metrics={"approved": 0.0}, evidence=evidence,
                                  summary=f"{version.uri}{_alias(ref)}: {'; '.join(problems)}.")
        data = ", ".join(sorted(approval.data_sha256)) or "no training data recorded"
        summary = (f"{version.uri}{_alias(ref)} was assessed on {approval.assessed_at} and passed (risk "
                   f"{approval.risk_level}, assessment sha256 {approval.assessment_sha256[:8]}...); its file and its "
                   f"training data ({data}) are the ones assessed.")
        return DetectorResult(status="pass", score=0.0, summary=summary, metrics={"approved": 1.0}, evidence=evidence)


def _problems(ctx: RunContext, model: Artifact, version: RegisteredVersion, approval: Approval,
              params: RegistryApprovalParams) -> list[str]:
    problems = []
    if approval.model_version != version.uri:
        problems.append(f"its riskframe tags approve {approval.model_version}, not this version")
    if approval.gate != "pass":
        problems.append(f"its assessment (sha256 {approval.assessment_sha256[:8]}...) failed the gate "
                        f"(risk {approval.risk_level})")
    actual = ctx.store.digest(model)
    if actual != approval.model_sha256:
        problems.append(f"{model.path} is not the file assessed (sha256 {approval.model_sha256[:8]}... assessed, "
                        f"{actual[:8]}... now)")
    bound = {a.name: a for a in ctx.artifacts("dataset")}
    for name, assessed in sorted(approval.data_sha256.items()):
        if name not in bound or model.of != name:
            problems.append(f"its assessment examined training data {name}, which this stage's model does not "
                            "declare as its of: dataset, so it cannot be compared")
            continue
        now = ctx.store.digest(bound[name])
        if now != assessed:
            problems.append(f"its training data {name} ({bound[name].path}) changed since the assessment "
                            f"(sha256 {assessed[:8]}... assessed, {now[:8]}... now)")
    if params.max_age_days is not None:
        age = _age_days(approval.assessed_at)
        if age is None or age > params.max_age_days:
            when = "at an unknown time" if age is None else f"{age} days ago"
            problems.append(f"its assessment was made {when}, over max_age_days ({params.max_age_days})")
    return problems


def _age_days(assessed_at: str) -> int | None:
    try:
        when = datetime.fromisoformat(assessed_at)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - when).days


def _refused(model: Artifact, why: str, version: RegisteredVersion | None = None) -> DetectorResult:
    evidence = {"model": model.name, "problems": [why]}
    if version is not None:
        evidence.update(model_uri=version.uri, tracking_uri=version.tracking_uri)
    return DetectorResult(status="fail", score=1.0, summary=why + ".", metrics={"approved": 0.0}, evidence=evidence)


def _alias(ref: ModelRef) -> str:
    return f" ({ref})" if ref.alias else ""


def _shown(approval: Approval) -> dict[str, object]:
    return {"gate": approval.gate, "risk_level": approval.risk_level, "assessment_sha256": approval.assessment_sha256,
            "assessed_at": approval.assessed_at, "pipeline": approval.pipeline,
            "model_version": approval.model_version, "model_sha256": approval.model_sha256,
            "data_sha256": dict(approval.data_sha256)}
