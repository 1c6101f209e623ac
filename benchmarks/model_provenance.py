"""Model provenance benchmark: the model-signature and mlflow-lineage detectors next to the raw
libraries they wrap, in the same run.

- ``model-signature`` vs ``model_signing.verifying.Config().verify`` on a signed model folder of
  ``--files`` files and ``--mb`` MB: a verified folder, and the same folder with one byte changed
  (where the detector hashes the folder a second time to name the file the library only reports
  in its message). Time and the peak memory of the verification.
- ``mlflow-lineage`` vs a bare ``MlflowClient`` (``get_model_version`` then ``get_run``) on a
  local sqlite store holding one registered version: the cost of the judging and of the sha256
  of the training data, which the raw client does not compute.

Every file is generated in a temporary folder. Needs the ``mlflow`` and ``model-signing`` extras.

Run: ``nice -n 10 .venv/bin/python benchmarks/model_provenance.py [--files 200] [--mb 200]``.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np


def _measure(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median seconds over ``repeat`` calls, and the peak traced memory (MiB) of one call."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(times), peak


def signatures(root: Path, files: int, mb: int, repeat: int) -> list[tuple[str, str, float, float, str]]:
    import model_signing
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from riskframe.detectors.context import ArtifactStore, RunContext
    from riskframe.detectors.provenance.model_signature import ModelSignatureVerification
    from riskframe.spec.pipeline import Artifact, Stage

    model = root / "model"
    model.mkdir()
    rng = np.random.default_rng(0)
    size = mb * 2**20 // files
    for i in range(files):
        (model / f"shard-{i:05d}.bin").write_bytes(rng.bytes(size))
    key = ec.generate_private_key(ec.SECP256R1())
    (root / "vendor.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
    (root / "vendor.pub").write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                                    serialization.PublicFormat.SubjectPublicKeyInfo))
    model_signing.signing.Config().use_elliptic_key_signer(private_key=root / "vendor.pem").sign(model,
                                                                                               root / "model.sig")
    artifact = Artifact(name="model", type="model", path="model", signature="model.sig")
    ctx = RunContext(stage=Stage(name="adopt", kind="model-engineering", artifacts=[artifact]),
                     bindings={"model": (artifact,)}, store=ArtifactStore(root))
    params = ModelSignatureVerification.Params(public_key="vendor.pub")
    detector = ModelSignatureVerification()

    def raw() -> str:
        try:
            model_signing.verifying.Config().use_elliptic_key_verifier(public_key=root / "vendor.pub").verify(
                model, root / "model.sig")
        except ValueError:
            return "mismatch"
        return "verified"

    rows = []
    for case in ("verified", "one byte changed"):
        if case == "one byte changed":
            target = model / f"shard-{files // 2:05d}.bin"
            data = bytearray(target.read_bytes())
            data[len(data) // 2] ^= 1
            target.write_bytes(bytes(data))
        outcome = detector.run(ctx, params).summary[:60]
        seconds, peak = _measure(lambda: detector.run(ctx, params), repeat)
        rows.append((case, "model-signature", seconds, peak, outcome))
        seconds, peak = _measure(raw, repeat)
        rows.append((case, "model_signing (raw)", seconds, peak, raw()))
    return rows


def lineage(root: Path, repeat: int) -> list[tuple[str, str, float, float, str]]:
    import mlflow
    from mlflow.tracking import MlflowClient

    from riskframe.detectors.context import ArtifactStore, RunContext
    from riskframe.detectors.provenance.mlflow_lineage import MlflowLineage
    from riskframe.io.digests import sha256_path
    from riskframe.spec.pipeline import Artifact, Stage

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    rng = np.random.default_rng(0)
    np.savez(root / "train.npz", X=rng.random((20_000, 64)), y=rng.integers(0, 10, 20_000))
    (root / "model.bin").write_bytes(b"model")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("bench", artifact_location=(root / "art").as_uri())
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run(experiment_id=experiment) as run, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The specified dataset source can be interpreted")
        with np.load(root / "train.npz") as arrays:
            dataset = mlflow.data.from_numpy(arrays["X"], targets=arrays["y"], name="train", source="train.npz")
        mlflow.log_input(dataset, context="training", tags={"sha256": sha256_path(root / "train.npz")})
    mlflow.set_tracking_uri(None)
    client.create_registered_model("bench")
    client.create_model_version("bench", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    train = Artifact(name="train", type="dataset", path="train.npz", format="npz", features="X", labels="y")
    model = Artifact.model_validate({"name": "model", "type": "model", "path": "model.bin", "of": "train",
                                     "mlflow": {"model": "models:/bench/1", "tracking_uri": uri}})
    stage = Stage(name="train", kind="model-engineering", artifacts=[model])

    def detect() -> str:
        # A fresh store each time: the sha256 of the training data is part of the cost.
        ctx = RunContext(stage=stage, bindings={"model": (model,), "dataset": (train,)}, store=ArtifactStore(root))
        return MlflowLineage().run(ctx, MlflowLineage.Params()).status

    def raw() -> str:
        version = client.get_model_version("bench", "1")
        return str(len(client.get_run(version.run_id).inputs.dataset_inputs)) + " input"

    detect()  # MLflow opens and checks the store's schema once per process
    rows = []
    seconds, peak = _measure(detect, repeat)
    rows.append(("1 version, 1 input, 10 MB data", "mlflow-lineage", seconds, peak, detect()))
    seconds, peak = _measure(raw, repeat)
    rows.append(("1 version, 1 input, 10 MB data", "MlflowClient (raw)", seconds, peak, raw()))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "sig").mkdir()
        (Path(folder) / "lin").mkdir()
        rows = signatures(Path(folder) / "sig", args.files, args.mb, args.repeat)
        rows += lineage(Path(folder) / "lin", args.repeat)
    print(f"| case | method | median s ({args.repeat} runs) | peak traced MiB | outcome |")
    print("|---|---|---|---|---|")
    for case, method, seconds, peak, outcome in rows:
        print(f"| {case} | {method} | {seconds:.2f} | {peak:.1f} | {outcome} |")


if __name__ == "__main__":
    main()
