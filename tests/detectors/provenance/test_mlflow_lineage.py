"""mlflow-lineage against a real MLflow tracking server: versions registered from real runs with logged
dataset inputs; matching lineage passes, other data fails naming both digests, no inputs warns."""

from __future__ import annotations

import pytest

from riskframe.detectors.provenance.mlflow_lineage import MlflowLineage
from riskframe.io.digests import sha256_path

pytestmark = pytest.mark.slow  # the session's MLflow server takes 10-30 s to start

COMMIT = "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a"


def _run(ctx, **params):
    return MlflowLineage().run(ctx, MlflowLineage.Params(**params))


def test_a_version_trained_on_the_assessed_data_passes(trainer, model_name, data, model_context):
    train_sha = sha256_path(data / "train.npz")
    version = trainer.train(model_name, [("train", data / "train.npz", "training", train_sha)], git_commit=COMMIT)
    ctx = model_context(data, mlflow={"model": f"models:/{model_name}/1", "tracking_uri": trainer.url,
                                      "code_version": COMMIT[:7]})

    result = _run(ctx)

    assert result.status == "pass", result.summary
    assert result.summary == (f"models:/{model_name}/1 (run {version.run_id[:8]}...) was trained on train (sha256 "
                              f"{train_sha[:8]}...), the data assessed; code version {COMMIT[:7]} matches.")
    [record] = result.evidence["lineage"]
    assert (record["run_id"], record["version"], record["code_version"]) == (version.run_id, "1", COMMIT)
    assert record["params"] == {"C": "1.0", "max_iter": "2000"}
    [logged] = record["inputs"]
    assert (logged["name"], logged["context"], logged["sha256"], logged["outcome"], logged["artifact"]) == (
        "train", "training", train_sha, "match", "train")
    assert len(logged["mlflow_digest"]) == 8  # MLflow's own fingerprint, recorded but not trusted


def test_a_version_trained_on_other_data_fails_naming_both_digests(trainer, model_name, data, model_context):
    other_sha, train_sha = sha256_path(data / "other.npz"), sha256_path(data / "train.npz")
    version = trainer.train(model_name, [("train", data / "other.npz", "training", other_sha)])
    ctx = model_context(data, mlflow={"model": f"models:/{model_name}/1", "tracking_uri": trainer.url})

    result = _run(ctx)

    assert result.status == "fail" and result.score == 1.0
    assert result.summary == (
        f"models:/{model_name}/1, run {version.run_id[:8]}...: it was trained on data other than the data assessed: "
        f"the run logged training dataset 'train' with sha256 {other_sha[:8]}..., the pipeline's train (train.npz) "
        f"has sha256 {train_sha[:8]}....")
    assert result.evidence["lineage"][0]["inputs"][0]["sha256"] == other_sha
    assert result.metrics["mismatch"] == 1.0


def test_a_version_whose_run_logged_no_inputs_warns_and_fails_when_lineage_is_required(
        trainer, model_name, data, model_context):
    version = trainer.train(model_name, [])
    ctx = model_context(data, mlflow={"model": f"models:/{model_name}/1", "tracking_uri": trainer.url})

    warned, required = _run(ctx), _run(ctx, require_lineage=True)

    assert warned.status == "warn"
    assert warned.summary == (f"models:/{model_name}/1, run {version.run_id[:8]}...: run {version.run_id} logged no "
                              "dataset inputs: the data it was trained on cannot be traced.")
    assert required.status == "fail"


def test_an_alias_is_resolved_and_a_version_without_a_run_warns(trainer, model_name, data, model_context):
    trainer.train(model_name, [], register_run=False)
    trainer.client.set_registered_model_alias(model_name, "champion", "1")
    ctx = model_context(data, mlflow={"model": f"models:/{model_name}@champion", "tracking_uri": trainer.url})

    result = _run(ctx)

    assert result.status == "warn"
    assert result.summary == (f"models:/{model_name}/1 (models:/{model_name}@champion), no run: models:/{model_name}/1 "
                              "names no source run: the data it was trained on cannot be traced.")


def test_inputs_with_only_mlflows_digest_and_other_code_are_reported(trainer, model_name, data, model_context):
    trainer.train(model_name, [("train", data / "train.npz", "training", None),
                               ("holdout", data / "other.npz", "evaluation", None)], git_commit=COMMIT)
    ctx = model_context(data, mlflow={"model": f"models:/{model_name}/1", "tracking_uri": trainer.url,
                                      "code_version": "a" * 40})

    result = _run(ctx)

    assert result.status == "fail"
    problems = result.evidence["problems"]
    assert problems[0].endswith(f"ran code version {COMMIT}, the pipeline expects {'a' * 40}")
    assert problems[1] == ("training input 'train' carries no sha256 tag, only MLflow's digest, which is not an "
                           "integrity check: log the data's sha256 as the input's 'sha256' tag")
    outcomes = {i["name"]: i["outcome"] for i in result.evidence["lineage"][0]["inputs"]}
    assert outcomes == {"train": "unverifiable", "holdout": "not-training"}


def test_a_version_the_registry_does_not_hold_fails(trainer, model_name, data, model_context):
    trainer.train(model_name, [])
    ctx = model_context(data, mlflow={"model": f"models:/{model_name}/7", "tracking_uri": trainer.url})

    result = _run(ctx)

    assert result.status == "fail"
    assert result.summary == (f"models:/{model_name}/7 is not in the Model Registry at {trainer.url}: model.bin has "
                              "no recorded lineage.")
