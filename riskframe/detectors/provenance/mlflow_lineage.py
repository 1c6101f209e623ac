"""``mlflow-lineage``: a registered model version was trained, by the code expected, on the data assessed.

A model artifact names its registered version (``mlflow: models:/NAME/VERSION`` or
``models:/NAME@alias``). The detector walks the registry: model version -> its source run -> the
datasets the run logged (MLflow's dataset tracking) and its params and code version, and compares
them with the model's training dataset in the pipeline (its ``of:``), whose sha256 it computes.
How inputs are judged, and why MLflow's own dataset digest is not enough, is in
:mod:`riskframe.detectors.provenance._lineage`.

Fails when the run logged training data whose sha256 is not the pipeline's, or ran another code
version than the pipeline's ``mlflow.code_version``, or the version does not exist. Warns (fails
with ``require_lineage: true``) when the version names no source run, its run logged no dataset
inputs, or nothing can be compared; a model without ``mlflow:`` likewise. The registry's own
identifiers (version, run id, experiment, dataset names and digests) are the evidence, and the
``lineage`` record goes into the assessment's lineage and the reports.
"""

from __future__ import annotations

from pydantic import Field

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.detectors.provenance._lineage import LineageRules, TrainingData, judge, lineage_record
from riskframe.detectors.provenance.model_registry import ModelRef, open_registry
from riskframe.results import DetectorResult
from riskframe.spec.pipeline import Artifact

_SCORES = {"pass": 0.0, "warn": 0.5, "fail": 1.0}
_SHOWN = 3


class MlflowLineageParams(DetectorParams):
    require_lineage: bool = Field(
        default=False,
        description="fail (not warn) when a model names no registered version, the version names no source "
                    "run, or the run logged no training dataset")
    digest_tag: str = Field(default="sha256", min_length=1,
                            description="the dataset-input tag holding the data's sha256")
    training_contexts: tuple[str, ...] = Field(
        default=("training", "train"), min_length=1,
        description="dataset-input contexts (mlflow.data.context) that mean the model was trained on it; "
                    "an input logged without a context counts as training data too")


class MlflowLineage(Detector[MlflowLineageParams]):
    """Check a registered model version's source run and logged datasets against the pipeline's data.

    Examples
    --------
    >>> from riskframe.detectors.registry import builtin_registry
    >>> detector = builtin_registry()["mlflow-lineage"]  # doctest: +SKIP
    >>> print(detector().run(ctx, detector.Params()).summary)  # doctest: +SKIP
    models:/digits-logreg/1 (run 3f2a1b0c...) was trained on train (sha256 9c1e77d2...), the data assessed.
    """

    name = "mlflow-lineage"
    title = "A registered model version was trained on the data assessed, by the code expected"
    requires = ("model",)
    optional = ("dataset",)
    Params = MlflowLineageParams
    lineage = "registry"
    # A model version whose recorded training data or code is not the pipeline's is a model (or its
    # data) from elsewhere than the supply chain under review: T0010.003 for the model, T0010.002
    # for data swapped on its way into training.
    techniques = ("AML.T0010.003", "AML.T0010.002")
    imports = ("mlflow.tracking",)

    def run(self, ctx: RunContext, params: MlflowLineageParams) -> DetectorResult:
        model = ctx.artifact("model")
        if model.mlflow is None:
            return _unregistered(model, params.require_lineage)
        registry = open_registry(model.mlflow, ctx.store.roots)
        ref = ModelRef.parse(model.mlflow.model)
        version = registry.version(ref)
        if version is None:
            return DetectorResult(
                status="fail", score=1.0, metrics={"registered": 0.0},
                summary=f"{ref} is not in the Model Registry at {registry.shown}: {model.path} has no recorded "
                        "lineage.",
                evidence={"model": model.name, "declared": str(ref), "tracking_uri": registry.shown})
        training = _training_data(ctx, model)
        rules = LineageRules(params.digest_tag, params.training_contexts, params.require_lineage,
                             model.mlflow.code_version)
        verdict = judge(version, training, rules)
        record = lineage_record(model.name, version, verdict, training)
        run = f"run {version.run_id[:8]}..." if version.run_id else "no run"
        if verdict.status == "pass":
            assert training is not None  # a pass needs training data to compare with
            summary = (f"{version.uri} ({run}) was trained on {training.name} (sha256 {training.sha256[:8]}...), "
                       "the data assessed" + (f"; code version {rules.code_version} matches" if rules.code_version
                                              else "") + ".")
        else:
            alias = f" ({ref})" if ref.alias else ""
            more = len(verdict.problems) - _SHOWN
            summary = (f"{version.uri}{alias}, {run}: {'; '.join(verdict.problems[:_SHOWN])}"
                       + (f"; and {more} more (see the evidence)" if more > 0 else "") + ".")
        outcomes = [entry["outcome"] for entry in record["inputs"]]
        metrics = {"registered": 1.0, "inputs": float(len(outcomes)),
                   **{key.replace("-", "_"): float(outcomes.count(key))
                      for key in ("match", "mismatch", "unverifiable")}}
        return DetectorResult(status=verdict.status, score=_SCORES[verdict.status], summary=summary, metrics=metrics,
                              evidence={"model": model.name, "lineage": [record], "problems": list(verdict.problems)})


def _training_data(ctx: RunContext, model: Artifact) -> TrainingData | None:
    """The model's ``of:`` dataset with its sha256, when the planner bound it."""
    bound = [a for a in ctx.artifacts("dataset") if a.name == model.of]
    if not bound:
        return None
    return TrainingData(bound[0].name, bound[0].path, ctx.store.digest(bound[0]))


def _unregistered(model: Artifact, required: bool) -> DetectorResult:
    status = "fail" if required else "warn"
    return DetectorResult(
        status=status, score=_SCORES[status], metrics={"registered": 0.0},
        summary=(f"{model.path} names no registered model version (mlflow: models:/NAME/VERSION): where it was "
                 "trained, and on what data, is not recorded."),
        evidence={"model": model.name, "lineage": []})
