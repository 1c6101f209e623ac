"""Log an assessment to MLflow as one run (``riskframe assess ... --mlflow-uri URI``; the ``mlflow`` extra).

The run holds what an ML team compares across training runs:

- **params**: the pipeline (name, file, criticality, owner, the file's sha256), the policies
  (``name@version``), the controls run, riskframe's version, the ATLAS and NIST AI RMF catalog
  versions, the assessment schema version and the gate's ``fail_on``;
- **metrics**: ``risk_score`` (0-100), ``gate_passed`` (1 or 0), ``status.<status>`` (results by
  status), ``nist.<status>`` (subcategories by status), ``atlas.techniques_failing`` and
  ``atlas.techniques_covered``; and per run, under its result id
  ``<requirement>/<stage>/<control>[/<artifact>]/``: ``score``, ``residual_risk`` and each detector
  metric as ``<detector>.<metric>`` (e.g. ``DP-1/train/label-flip-screen/label-issues.estimated_poison_fraction``),
  so two runs of one detector never share a name, nor a detector metric riskframe's own. MLflow's
  UI groups metrics by the prefix before the first ``/``: here, by requirement;
- **tags**: ``riskframe.gate`` (pass or fail), ``riskframe.risk_level``, ``riskframe.fail_on``,
  ``riskframe.pipeline``, ``riskframe.assessed_at``, ``riskframe.command``, and the run's
  description (``mlflow.note.content``) with the gate's reasons;
- **artifacts**: the report files, under ``riskframe/``.

The run starts at the assessment's ``created_at``. The experiment is ``--mlflow-experiment``, else
``$MLFLOW_EXPERIMENT_NAME``, else ``riskframe``; created if missing. For a local ``sqlite:///`` store
a new experiment keeps its artifacts beside the database (``<db folder>/mlartifacts/<experiment>``)
instead of MLflow's default ``./mlruns`` under whatever folder the command ran in.

A tracking server that cannot be reached is retried twice (``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` and
``MLFLOW_HTTP_REQUEST_TIMEOUT`` override the short defaults set here), then reported as a
:class:`~riskframe.errors.UsageError` naming the URI; the run, if it was created, is marked failed.

>>> from riskframe.tracking.mlflow_log import run_contents
>>> contents = run_contents(assessment)  # doctest: +SKIP
>>> contents.metrics["risk_score"], contents.tags["riskframe.gate"]  # doctest: +SKIP
(75.0, 'fail')
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskframe.errors import MissingDependencyError, UsageError
from riskframe.vocabulary import FAILING

if TYPE_CHECKING:  # the CLI imports this module to build its parser; the model loads with the handler
    from riskframe.assessment import Assessment

DEFAULT_EXPERIMENT = "riskframe"
ARTIFACT_DIR = "riskframe"
MAX_PARAM_CHARS = 500  # MLflow servers before 2.8 refuse longer param values
MAX_KEY_CHARS = 250
# Short enough that an unreachable server fails in seconds, not MLflow's default of minutes.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}
_NOT_IN_KEY = re.compile(r"[^\w./ -]+")  # MLflow keys: alphanumerics, _ - . / and space


@dataclass(frozen=True)
class RunContents:
    """What one assessment logs: params and tags as text, metrics as finite numbers."""

    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]


@dataclass(frozen=True)
class LoggedRun:
    """Where the run went."""

    run_id: str
    experiment_id: str
    experiment_name: str
    tracking_uri: str
    artifact_uri: str


def metric_key(*parts: str) -> str:
    """An MLflow metric or param key from ``parts``: characters MLflow refuses become ``_``.

    >>> metric_key("DP-1/train/label-flip-screen", "label-issues.estimated_poison_fraction")
    'DP-1/train/label-flip-screen/label-issues.estimated_poison_fraction'
    >>> metric_key("R:1/stage", "auc@0.5")
    'R_1/stage/auc_0.5'
    """
    segments = [_NOT_IN_KEY.sub("_", s).strip() for p in parts for s in p.split("/")]
    # "." and ".." segments would make the key resolve to another path, which MLflow refuses.
    segments = [s if s.strip(".") else s.replace(".", "_") for s in segments if s]
    return "/".join(segments)[:MAX_KEY_CHARS].rstrip("/")


def run_contents(assessment: Assessment, command: str = "assess") -> RunContents:
    """The params, metrics and tags of ``assessment``'s run (pure: no MLflow needed)."""
    return RunContents(_params(assessment), _metrics(assessment), _tags(assessment, command))


def _params(a: Assessment) -> dict[str, str]:
    pipeline_files = [f for f in a.inputs if f.role == "pipeline"]
    params = {
        "pipeline": a.pipeline.name,
        "pipeline.path": a.pipeline.path,
        "pipeline.criticality": a.pipeline.criticality,
        "pipeline.owner": a.pipeline.owner or "",
        "pipeline.sha256": pipeline_files[0].sha256 if pipeline_files else "",
        "policies": ", ".join(f"{p.name}@{p.version}" for p in a.policies),
        "controls": ", ".join(sorted({r.control for r in a.results})),
        "fail_on": a.gate.fail_on,
        "riskframe.version": a.tool.version,
        "assessment.schema_version": a.schema_version,
        **{f"catalog.{name}": version for name, version in sorted(a.tool.catalogs.items())},
    }
    return {metric_key(k): _clip(v) for k, v in params.items() if v}


def _metrics(a: Assessment) -> dict[str, float]:
    metrics: dict[str, float] = {
        "risk_score": a.summary.risk_score,
        "gate_passed": 1.0 if a.gate.decision == "pass" else 0.0,
        "atlas.techniques_failing": float(sum(t.status in FAILING for t in a.atlas)),
        "atlas.techniques_covered": float(sum(t.covered for t in a.atlas)),
    }
    metrics.update({f"status.{status}": float(n) for status, n in a.summary.counts.items()})
    for status in ("satisfied", "not-satisfied", "not-assessed"):
        metrics[f"nist.{status}"] = float(sum(n.status == status for n in a.nist))
    for result in a.results:
        metrics[metric_key(result.id, "score")] = result.score
        metrics[metric_key(result.id, "residual_risk")] = result.risk.residual
        for name, value in result.metrics.items():
            metrics[metric_key(result.id, f"{result.detector}.{name}")] = value
    return {k: float(v) for k, v in metrics.items() if math.isfinite(v)}


def _tags(a: Assessment, command: str) -> dict[str, str]:
    from riskframe.reports.decision import decision_sentence, sections

    reasons = "\n\n".join(f"{s.title}:\n" + "\n".join(f"- {r}" for r in s.reasons) for s in sections(a))
    note = (
        f"**riskframe {command}** of pipeline `{a.pipeline.name}`: gate **{a.gate.decision.upper()}** "
        f"(fail_on: {a.gate.fail_on}), risk score {a.summary.risk_score:g}/100 ({a.summary.level}). "
        f"{decision_sentence(a)}\n\n{reasons or 'No reason recorded.'}"
    )
    return {
        "riskframe.gate": a.gate.decision,
        "riskframe.risk_level": a.summary.level,
        "riskframe.fail_on": a.gate.fail_on,
        "riskframe.pipeline": a.pipeline.name,
        "riskframe.assessed_at": a.created_at,
        "riskframe.command": command,
        "mlflow.source.name": f"riskframe {command}",
        "mlflow.note.content": note[:5000],
    }


def _clip(value: str) -> str:
    return value if len(value) <= MAX_PARAM_CHARS else value[: MAX_PARAM_CHARS - 1] + "…"


def log_assessment(
    assessment: Assessment,
    files: Sequence[Path],
    tracking_uri: str,
    experiment: str | None = None,
    command: str = "assess",
) -> LoggedRun:
    """Log ``assessment`` and its report ``files`` as one MLflow run.

    Parameters
    ----------
    assessment
        The assessment to log.
    files
        Report files to attach as artifacts (missing ones are skipped).
    tracking_uri
        Any MLflow tracking URI: ``sqlite:///mlflow.db``, ``http://mlflow.internal:5000``, ...
    experiment
        Experiment name (default ``$MLFLOW_EXPERIMENT_NAME``, else ``riskframe``).
    command
        The riskframe command that logs (``assess`` or ``report``), kept as a tag.

    Raises
    ------
    MissingDependencyError
        MLflow is not installed (riskframe's ``mlflow`` extra).
    UsageError
        The tracking store cannot be reached or refuses the run.

    Examples
    --------
    >>> run = log_assessment(assessment, written, "sqlite:///mlflow.db")  # doctest: +SKIP
    >>> run.experiment_name  # doctest: +SKIP
    'riskframe'
    """
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise MissingDependencyError("mlflow", "mlflow") from None
    name = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
    with _quiet_mlflow(), _short_http_timeouts():
        try:
            client = MlflowClient(tracking_uri=tracking_uri)
            experiment_id = _experiment_id(client, name, tracking_uri)
            return _log_run(client, experiment_id, name, tracking_uri, assessment, files, command)
        except UsageError:
            raise
        except Exception as exc:  # stores fail in many ways (HTTP, SQL, URI scheme): one message for all
            raise UsageError(f"--mlflow-uri {tracking_uri}: could not log the assessment: {_reason(exc)}") from exc


def _experiment_id(client: Any, name: str, tracking_uri: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            raise UsageError(
                f"--mlflow-experiment: experiment {name!r} is deleted in {tracking_uri}; "
                "restore it or choose another name"
            )
        return str(found.experiment_id)
    return str(client.create_experiment(name, artifact_location=_artifact_location(tracking_uri, name)))


def _artifact_location(tracking_uri: str, experiment: str) -> str | None:
    """Beside the database for a local sqlite store; MLflow's default for every other store."""
    if not tracking_uri.startswith("sqlite:///") or tracking_uri == "sqlite:///:memory:":
        return None
    database = Path(tracking_uri[len("sqlite:///") :].split("?", 1)[0])
    folder = re.sub(r"[^\w.-]+", "_", experiment).strip(".") or "experiment"
    return (database.resolve().parent / "mlartifacts" / folder).as_uri()


def _log_run(
    client: Any,
    experiment_id: str,
    experiment: str,
    tracking_uri: str,
    assessment: Assessment,
    files: Sequence[Path],
    command: str,
) -> LoggedRun:
    from mlflow.entities import Metric, Param, RunTag

    contents = run_contents(assessment, command)
    started = _millis(assessment.created_at)
    run = client.create_run(
        experiment_id, start_time=started, run_name=f"{assessment.pipeline.name} {assessment.created_at}"
    )
    run_id = run.info.run_id
    try:
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, started or 0, 0) for k, v in contents.metrics.items()],
            params=[Param(k, v) for k, v in contents.params.items()],
            tags=[RunTag(k, v) for k, v in contents.tags.items()],
        )
        for path in files:
            if Path(path).is_file():
                client.log_artifact(run_id, str(path), artifact_path=ARTIFACT_DIR)
        client.set_terminated(run_id, "FINISHED")
    except BaseException:
        _mark_failed(client, run_id)
        raise
    return LoggedRun(run_id, experiment_id, experiment, tracking_uri, run.info.artifact_uri)


def _mark_failed(client: Any, run_id: str) -> None:
    try:
        client.set_terminated(run_id, "FAILED")
    except Exception:  # the store is already failing: the first error is the one to report
        logging.getLogger(__name__).debug("could not mark run %s failed", run_id, exc_info=True)


def _millis(created_at: str) -> int | None:
    from datetime import datetime

    try:
        return int(datetime.fromisoformat(created_at).timestamp() * 1000)
    except ValueError:
        return None


def _reason(exc: BaseException) -> str:
    """The first line of the error, which is where MLflow, SQLAlchemy and requests say what happened."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 300 else text[:299] + "…"


@contextmanager
def _short_http_timeouts() -> Iterator[None]:
    added = [name for name in HTTP_DEFAULTS if name not in os.environ]
    os.environ.update({name: HTTP_DEFAULTS[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


@contextmanager
def _quiet_mlflow() -> Iterator[None]:
    # MLflow and alembic announce every schema migration of a new sqlite store at INFO on stderr,
    # where riskframe prints its progress; keep their warnings and errors only.
    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def log_for_command(args: Any, assessment: Assessment, written: Sequence[Path], command: str) -> list[str]:
    """The ``--mlflow-uri`` step of ``riskframe assess`` and ``riskframe report``.

    Prints where the run went and returns no problem, or returns the one-line reason it could not
    be logged; the command prints it after the gate decision and exits 2 (the reports are written).
    """
    if not getattr(args, "mlflow_uri", None):
        return []
    try:
        run = log_assessment(assessment, written, args.mlflow_uri, args.mlflow_experiment, command)
    except MissingDependencyError as exc:
        return [f"--mlflow-uri: {exc}"]
    except UsageError as exc:
        return [str(exc)]
    from riskframe.io.terminal import echo

    echo(f"MLflow: run {run.run_id} in experiment {run.experiment_name!r} ({run.tracking_uri})")
    return []


def add_arguments(parser: Any) -> None:
    """``--mlflow-uri`` and ``--mlflow-experiment``, shared by ``assess`` and ``report``."""
    parser.add_argument(
        "--mlflow-uri",
        metavar="URI",
        help="also log the assessment as an MLflow run (params, metrics, gate tag, reports as artifacts), e.g. "
        "sqlite:///mlflow.db or http://mlflow:5000; needs the mlflow extra. If it cannot be logged, the reports "
        "are still written and the gate decision printed, and the exit code is 2",
    )
    parser.add_argument(
        "--mlflow-experiment",
        metavar="NAME",
        help=f"MLflow experiment (default: $MLFLOW_EXPERIMENT_NAME, else {DEFAULT_EXPERIMENT!r})",
    )
