"""Judging a registered model version's lineage against the pipeline (pure: no MLflow, no I/O).

The registry says which run produced a model version; MLflow's dataset tracking says which
datasets that run read (name, MLflow's digest, source, context). MLflow's own digest is a
fingerprint, not an integrity check: 8 hex digits of an MD5 over at most the first 10,000 values
and the shape. So a logged input counts as the pipeline's data only when the run also tagged it
with the data's sha256 (input tag ``sha256`` by default, the digest riskframe computes for the
file or folder, :func:`riskframe.io.digests.sha256_path`); without one the input is *unverifiable*.

Per training input (context ``training`` or ``train``, or no context at all), the outcome is:

``match``         its sha256 is the training dataset's (the model's ``of:``);
``mismatch``      it is another sha256: the model was trained on data other than the data assessed;
``unverifiable``  it carries no sha256 (or not a well-formed one);
``unchecked``     the model declares no ``of:``, so there is nothing to compare with.

Inputs logged in other contexts (evaluation, testing) are recorded, not judged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from riskframe.detectors.provenance.model_registry import LoggedInput, RegisteredVersion

InputOutcome = Literal["match", "mismatch", "unverifiable", "unchecked", "not-training"]
Status = Literal["pass", "warn", "fail"]
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class TrainingData:
    """The pipeline's training dataset of the model: its ``of:`` artifact and the sha256 computed now."""

    name: str
    path: str
    sha256: str


@dataclass(frozen=True)
class LineageRules:
    """What the control asks (the detector's parameters, as plain values)."""

    digest_tag: str = "sha256"
    training_contexts: tuple[str, ...] = ("training", "train")
    require_lineage: bool = False
    code_version: str | None = None


@dataclass(frozen=True)
class Verdict:
    status: Status
    problems: tuple[str, ...]  # failures first, each a clause of the summary
    inputs: tuple[tuple[LoggedInput, InputOutcome, str | None], ...] = field(default=())  # input, outcome, sha256


def judge(version: RegisteredVersion, training: TrainingData | None, rules: LineageRules) -> Verdict:
    """The verdict on one model version's lineage.

    Examples
    --------
    >>> judge(version, TrainingData("train", "data/train.npz", "ab" * 32), LineageRules()).status  # doctest: +SKIP
    'pass'
    """
    gap: Status = "fail" if rules.require_lineage else "warn"
    if version.run is None:
        why = (f"names run {version.run_id}, which the tracking store does not hold" if version.run_id
               else "names no source run")
        return Verdict(gap, (f"{version.uri} {why}: the data it was trained on cannot be traced",))
    judged = tuple((i, *_outcome(i, training, rules)) for i in version.run.inputs)
    fails = [_mismatch(i, sha, training) for i, outcome, sha in judged if outcome == "mismatch" and training]
    warns: list[str] = []
    code = _code_version(version, rules.code_version)
    if code is not None:
        (fails if version.run.git_commit else warns).append(code)
    training_inputs = [j for j in judged if j[1] != "not-training"]
    if not version.run.inputs:
        (fails if rules.require_lineage else warns).append(
            f"run {version.run.run_id} logged no dataset inputs: the data it was trained on cannot be traced")
    elif not training_inputs:
        contexts = ", ".join(sorted({str(i.context) for i in version.run.inputs}))
        (fails if rules.require_lineage else warns).append(
            f"run {version.run.run_id} logged no training dataset (only {contexts})")
    elif training is None:
        warns.append("the model declares no `of:` training dataset to compare the run's inputs with")
    else:
        unverifiable = [i.name for i, outcome, _ in judged if outcome == "unverifiable"]
        if unverifiable:
            warns.append(f"training input{'s' if len(unverifiable) > 1 else ''} {', '.join(map(repr, unverifiable))} "
                         f"carr{'y' if len(unverifiable) > 1 else 'ies'} no {rules.digest_tag} tag, only MLflow's "
                         "digest, which is not an integrity check: log the data's sha256 as the input's "
                         f"{rules.digest_tag!r} tag")
        elif not any(outcome == "match" for _, outcome, _ in judged) and not fails:
            warns.append(f"no training input is {training.name}")
    status: Status = "fail" if fails else "warn" if warns else "pass"
    return Verdict(status, (*fails, *warns), judged)


def _outcome(logged: LoggedInput, training: TrainingData | None,
             rules: LineageRules) -> tuple[InputOutcome, str | None]:
    sha = logged.tags.get(rules.digest_tag)
    sha = sha.lower() if sha and _SHA256.match(sha.lower()) else None
    if logged.context is not None and logged.context not in rules.training_contexts:
        return "not-training", sha
    if training is None:
        return "unchecked", sha
    if sha is None:
        return "unverifiable", None
    return ("match" if sha == training.sha256 else "mismatch"), sha


def _mismatch(logged: LoggedInput, sha: str | None, training: TrainingData) -> str:
    return (f"it was trained on data other than the data assessed: the run logged training dataset "
            f"{logged.name!r} with sha256 {_short(sha)}, the pipeline's {training.name} ({training.path}) has "
            f"sha256 {_short(training.sha256)}")


def _code_version(version: RegisteredVersion, expected: str | None) -> str | None:
    """The problem with the run's code version, or None when there is none to report."""
    if expected is None or version.run is None:
        return None
    found = version.run.git_commit
    if found is None:
        return f"run {version.run.run_id} records no code version (mlflow.source.git.commit), expected {expected}"
    if found.startswith(expected) or expected.startswith(found):
        return None
    return f"run {version.run.run_id} ran code version {found}, the pipeline expects {expected}"


def lineage_record(artifact: str, version: RegisteredVersion, verdict: Verdict,
                   training: TrainingData | None) -> dict[str, Any]:
    """The lineage evidence of one model: what the assessment's ``lineage`` and the reports show."""
    run = version.run
    return {
        "artifact": artifact, "declared": str(version.declared), "model_uri": version.uri, "name": version.name,
        "version": version.version, "source": version.source, "tracking_uri": version.tracking_uri,
        "run_id": version.run_id, "run_name": run.name if run else None,
        "experiment_id": run.experiment_id if run else None,
        "code_version": run.git_commit if run else None,
        "params": dict(sorted(run.params.items())) if run else {},
        "trained_on": training.name if training else None,
        "inputs": [_input_record(i, outcome, sha, training) for i, outcome, sha in verdict.inputs],
        "status": verdict.status,
    }


def _input_record(logged: LoggedInput, outcome: InputOutcome, sha: str | None,
                  training: TrainingData | None) -> dict[str, Any]:
    return {"name": logged.name, "context": logged.context, "mlflow_digest": logged.digest, "sha256": sha,
            "source_type": logged.source_type, "source": logged.location or logged.source, "outcome": outcome,
            "artifact": training.name if training and outcome == "match" else None}


def _short(digest: str | None) -> str:
    return f"{digest[:8]}..." if digest else "nothing"
