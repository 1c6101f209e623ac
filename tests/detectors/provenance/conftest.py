"""A real MLflow tracking server for the provenance tests, and training runs registered on it.

One ``mlflow server`` (sqlite backend, one worker, bound to 127.0.0.1 on a free port) is started for
the whole test session and stopped at its end; starting it takes 10-30 s on a shared 2-core machine,
so every test that needs it is marked slow. Runs are logged the way a training job logs them
(``mlflow.start_run``, ``mlflow.log_input`` with a ``training`` context), and versions registered
with ``MlflowClient.create_model_version``. Each test registers models under its own name.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.spec.pipeline import Artifact, Stage

STARTUP_SECONDS = 180  # generous: the first start migrates the sqlite schema while the suite runs


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a running MLflow tracking server with a sqlite backend, for the whole session."""
    pytest.importorskip("mlflow.tracking", reason="the mlflow extra is not installed")
    pytest.importorskip("flask_cors", reason="the MLflow server's own dependencies (the dev extra) are not installed")
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
         "--artifacts-destination", (folder / "artifacts").as_uri(), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_healthy(url, server, folder / "server.log")
        yield url
    finally:
        _stop(server)
        log.close()


def _wait_until_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mlflow server exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    _stop(server)
    pytest.fail(f"mlflow server did not answer within {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server and the uvicorn worker it started (its own process group, made at start)."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


@dataclass
class Registered:
    """A registered model version and the run behind it."""

    name: str
    version: str
    run_id: str | None


class Trainer:
    """Logs runs as a training job does and registers their models, on the session's server."""

    def __init__(self, url: str) -> None:
        from mlflow.tracking import MlflowClient

        self.url = url
        self.client = MlflowClient(tracking_uri=url)
        self.experiment = self.client.create_experiment(f"riskframe-tests-{uuid.uuid4().hex[:8]}")

    def train(self, name: str, inputs: list[tuple[str, Path, str | None, str | None]] = (),  # type: ignore[assignment]
              git_commit: str | None = None, params: dict[str, str] | None = None,
              register_run: bool = True) -> Registered:
        """Log a run reading ``inputs`` ``(dataset name, file, context, sha256 tag)`` and register its model as a
        new version of ``name`` (with ``register_run=False``, a version that names no run)."""
        import mlflow
        from mlflow.tracking._tracking_service import utils

        # mlflow.start_run logs to the global tracking URI, which set_tracking_uri also writes into
        # $MLFLOW_TRACKING_URI: both are put back as they were, so no other test sees this server.
        previous, environment = utils._tracking_uri, os.environ.get("MLFLOW_TRACKING_URI")
        mlflow.set_tracking_uri(self.url)
        try:
            with mlflow.start_run(experiment_id=self.experiment) as run:
                mlflow.log_params(params or {"C": "1.0", "max_iter": "2000"})
                if git_commit:
                    mlflow.set_tag("mlflow.source.git.commit", git_commit)
                for dataset_name, path, context, sha in inputs:
                    # MLflow registers its local-file source class twice and says so for every file source.
                    with np.load(path) as arrays, warnings.catch_warnings():
                        warnings.filterwarnings("ignore", "The specified dataset source can be interpreted")
                        dataset = mlflow.data.from_numpy(arrays["X"], targets=arrays["y"], source=path.as_uri(),
                                                         name=dataset_name)
                    mlflow.log_input(dataset, context=context, tags={"sha256": sha} if sha else None)
        finally:
            mlflow.set_tracking_uri(previous)
            if environment is not None:
                os.environ["MLFLOW_TRACKING_URI"] = environment
        run_id = run.info.run_id
        if not self.client.search_registered_models(filter_string=f"name = '{name}'"):
            self.client.create_registered_model(name)
        # A version registered from elsewhere than a run (a copied artifact) names no run.
        source = f"runs:/{run_id}/model" if register_run else "s3://models-bucket/imported/model"
        version = self.client.create_model_version(name, source, run_id=run_id if register_run else None)
        return Registered(name, str(version.version), run_id if register_run else None)


@pytest.fixture(scope="session")
def trainer(mlflow_server: str) -> Trainer:
    return Trainer(mlflow_server)


@pytest.fixture
def model_name(request: pytest.FixtureRequest) -> str:
    """A registered-model name of this test's own."""
    return f"{request.node.name[:60]}-{uuid.uuid4().hex[:6]}".replace("[", "-").replace("]", "")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A folder with two small real datasets (``train.npz``, ``other.npz``) and a model file."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    np.savez(tmp_path / "train.npz", X=digits.images[:100], y=digits.target[:100])
    np.savez(tmp_path / "other.npz", X=digits.images[100:200], y=digits.target[100:200])
    (tmp_path / "model.bin").write_bytes(b"weights of a model trained on train.npz\n")
    return tmp_path


def _model_context(folder: Path, *, mlflow: object = None, of: str | None = "train",
                   stage_kind: str = "model-engineering") -> RunContext:
    train = Artifact(name="train", type="dataset", path="train.npz", format="npz", features="X", labels="y")
    model = Artifact.model_validate({"name": "model", "type": "model", "path": "model.bin", "of": of,
                                     "mlflow": mlflow})
    stage = Stage(name="train" if stage_kind == "model-engineering" else "deploy", kind=stage_kind,
                  artifacts=[model])
    bindings = {"model": (model,), "dataset": (train,) if of else ()}
    return RunContext(stage=stage, bindings=bindings, store=ArtifactStore(folder))


@pytest.fixture
def model_context():
    """``(folder, mlflow=..., of="train", stage_kind=...) -> RunContext``: a stage holding ``model.bin``
    (with ``mlflow:``) bound with the ``train`` dataset it names with ``of:``, as the planner binds them."""
    return _model_context
