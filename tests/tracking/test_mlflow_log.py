"""riskframe.tracking.mlflow_log: one MLflow run per assessment in a real local sqlite tracking store, read back
with MlflowClient; unreachable stores and a missing extra fail clearly while the reports are written."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from datetime import datetime
from pathlib import Path

import pytest

from riskframe import cli
from riskframe.commands import report as report_command
from riskframe.errors import MissingDependencyError, UsageError
from riskframe.reports import render
from riskframe.tracking.mlflow_log import log_assessment, metric_key, run_contents

mlflow_tracking = pytest.importorskip("mlflow.tracking", reason="the mlflow extra is not installed")
TINY_PIPELINE = Path(__file__).parents[1] / "reports" / "fixtures" / "tiny-pipeline"
ASSESS = ["assess", "pipeline.yaml", "-p", "policy.yaml", "-o", "out", "-q"]


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory) -> Path:
    """A tracking database with MLflow's schema, migrated once (the slow part) and copied per test."""
    path = tmp_path_factory.mktemp("store") / "template.db"
    mlflow_tracking.MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def store(empty_store, tmp_path) -> str:
    path = tmp_path / "tracking" / "mlflow.db"
    path.parent.mkdir()
    shutil.copyfile(empty_store, path)
    return f"sqlite:///{path}"


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """The tiny pipeline (one passing, one failing digest check) as the working directory."""
    root = tmp_path / "repo"
    shutil.copytree(TINY_PIPELINE, root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    return root


@pytest.fixture
def assessed(workspace):
    from riskframe import assess

    return assess("pipeline.yaml", ["policy.yaml"])


def _run(store: str, run_id: str):
    return mlflow_tracking.MlflowClient(store).get_run(run_id)


def test_a_run_holds_params_metrics_tags_and_the_reports(assessed, store, workspace) -> None:
    written = render(assessed, workspace / "out", ["json", "md"])
    logged = log_assessment(assessed, written, store)
    run = _run(store, logged.run_id)
    assert (logged.experiment_name, run.info.status) == ("riskframe", "FINISHED")
    assert run.info.start_time == int(datetime.fromisoformat(assessed.created_at).timestamp() * 1000)
    params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
    assert {k: params[k] for k in ("pipeline", "policies", "controls", "riskframe.version", "catalog.atlas")} == {
        "pipeline": "tiny-digests",
        "policies": "integrity@1.0.0",
        "controls": "artifact-integrity",
        "riskframe.version": assessed.tool.version,
        "catalog.atlas": assessed.tool.catalogs["atlas"],
    }
    assert (metrics["risk_score"], metrics["gate_passed"], metrics["status.fail"], metrics["status.pass"]) == (
        75.0,
        0.0,
        1.0,
        1.0,
    )
    assert [tags[f"riskframe.{name}"] for name in ("gate", "risk_level", "command")] == ["fail", "high", "assess"]
    assert "INT-1 at stage deploy" in tags["mlflow.note.content"]
    client = mlflow_tracking.MlflowClient(store)
    assert sorted(a.path for a in client.list_artifacts(logged.run_id, "riskframe")) == [
        "riskframe/assessment.json",
        "riskframe/report.md",
    ]
    copy = Path(client.download_artifacts(logged.run_id, "riskframe/report.md", str(workspace / "dl")))
    assert copy.read_bytes() == (workspace / "out" / "report.md").read_bytes()
    # A new experiment of a local store keeps its artifacts beside the database, not in the cwd.
    assert logged.artifact_uri.startswith((Path(store[len("sqlite:///") :]).parent / "mlartifacts").as_uri())
    assert not (workspace / "mlruns").exists()


def test_each_run_of_a_detector_has_its_own_metric_names(assessed, store) -> None:
    metrics = _run(store, log_assessment(assessed, [], store).run_id).data.metrics
    ingest, deploy = "INT-1/ingest/artifact-integrity/", "INT-1/deploy/artifact-integrity/"
    assert (metrics[ingest + "artifact-digest.mismatched"], metrics[deploy + "artifact-digest.mismatched"]) == (0, 1)
    assert (metrics[ingest + "score"], metrics[deploy + "residual_risk"]) == (0.0, 0.75)


def test_detector_metrics_such_as_the_poisoned_share_never_collide_with_riskframes(assessed) -> None:
    flip = assessed.results[0].model_copy(
        update={"detector": "label-issues", "metrics": {"estimated_poison_fraction": 0.094, "score": 0.5}}
    )
    metrics = run_contents(assessed.model_copy(update={"results": [flip]})).metrics
    assert metrics["INT-1/ingest/artifact-integrity/label-issues.estimated_poison_fraction"] == 0.094
    assert metrics["INT-1/ingest/artifact-integrity/label-issues.score"] == 0.5
    assert metrics["INT-1/ingest/artifact-integrity/score"] == flip.score


@pytest.mark.parametrize(
    ("parts", "key"),
    [
        (("DP-1/train/label-flip-screen", "auc@0.5"), "DP-1/train/label-flip-screen/auc_0.5"),
        (("R:1//stage", "x"), "R_1/stage/x"),
        (("../evil", "m"), "__/evil/m"),
    ],
)
def test_metric_keys_only_use_characters_mlflow_accepts(parts, key) -> None:
    assert metric_key(*parts) == key


def test_runs_go_to_the_named_experiment_and_reuse_it(assessed, store, monkeypatch) -> None:
    first = log_assessment(assessed, [], store, experiment="ml-security/digits")
    second = log_assessment(assessed, [], store, experiment="ml-security/digits")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-environment")
    third = log_assessment(assessed, [], store)
    assert first.experiment_id == second.experiment_id != third.experiment_id
    assert third.experiment_name == "from-environment"
    assert "/mlartifacts/ml-security_digits/" in first.artifact_uri


def test_a_store_that_cannot_be_opened_is_a_clear_usage_error(assessed, tmp_path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database folder should be")
    uri = f"sqlite:///{blocker}/mlflow.db"
    with pytest.raises(UsageError, match=rf"^--mlflow-uri {re.escape(uri)}: could not log the assessment: "):
        log_assessment(assessed, [], uri)


def test_an_unreachable_server_is_a_clear_usage_error(assessed, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # fail at once; the default retries twice
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    uri = "http://127.0.0.1:9"  # the discard port: nothing listens there
    with pytest.raises(UsageError, match=rf"^--mlflow-uri {re.escape(uri)}: could not log the assessment: API request"):
        log_assessment(assessed, [], uri)
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "0" and "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ


def test_assess_logs_the_run_and_exits_with_the_gate(workspace, store, capsys) -> None:
    code = cli.main([*ASSESS, "-f", "json,md", "--mlflow-uri", store, "--mlflow-experiment", "ci"])
    out = capsys.readouterr().out
    assert code == 1  # the gate fails: the model's digest does not match
    [line] = [line for line in out.splitlines() if line.startswith("MLflow: run ")]
    run_id = line.split()[2]
    assert line == f"MLflow: run {run_id} in experiment 'ci' ({store})"
    artifacts = mlflow_tracking.MlflowClient(store).list_artifacts(run_id, "riskframe")
    assert sorted(a.path for a in artifacts) == ["riskframe/assessment.json", "riskframe/report.md"]


def test_assess_with_an_unreachable_store_still_writes_the_reports_and_exits_2(workspace, tmp_path, capsys) -> None:
    (tmp_path / "blocker").write_text("")
    uri = f"sqlite:///{tmp_path}/blocker/mlflow.db"
    code = cli.main([*ASSESS, "-f", "json,md", "--mlflow-uri", uri])
    captured = capsys.readouterr()
    assert code == 2
    assert sorted(p.name for p in (workspace / "out").iterdir()) == ["assessment.json", "report.md"]
    assert captured.out.startswith("Gate: FAIL (fail_on: high)\n")
    assert captured.err.startswith(f"riskframe: error: --mlflow-uri {uri}: could not log the assessment: ")
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_report_logs_an_earlier_assessment(workspace, store, capsys) -> None:
    assert cli.main([*ASSESS, "-f", "json"]) == 1
    parser = argparse.ArgumentParser()
    report_command.register(parser.add_subparsers())
    args = parser.parse_args(["report", "out/assessment.json", "-f", "md", "--mlflow-uri", store])
    assert args.handler(args) == 0
    run_id = capsys.readouterr().out.splitlines()[-1].split()[2]
    run = _run(store, run_id)
    assert run.data.tags["riskframe.command"] == "report"
    artifacts = mlflow_tracking.MlflowClient(store).list_artifacts(run_id, "riskframe")
    assert sorted(a.path for a in artifacts) == ["riskframe/assessment.json", "riskframe/report.md"]


def test_without_mlflow_the_error_names_the_extra(assessed, monkeypatch, workspace, capsys) -> None:
    for name in ("mlflow", "mlflow.tracking"):
        monkeypatch.setitem(sys.modules, name, None)  # as if the extra were not installed
    with pytest.raises(MissingDependencyError,
                       match=r"needs mlflow, .* Install riskframe's 'mlflow' extra; in a checkout: pip install -e '\.\[mlflow\]'$"):
        log_assessment(assessed, [], "sqlite:///unused.db")
    assert cli.main([*ASSESS, "-f", "json", "--mlflow-uri", "sqlite:///unused.db"]) == 2
    assert capsys.readouterr().err == (
        "riskframe: error: --mlflow-uri: needs mlflow, which is not installed. "
        "Install riskframe's 'mlflow' extra; in a checkout: pip install -e '.[mlflow]'\n"
    )
    # checked before any detector runs, like --format and --sign: nothing is written
    assert not (workspace / "out").exists() and not (workspace / "unused.db").exists()
