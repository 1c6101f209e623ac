"""The promotion gate end to end on a real MLflow server, through the real command line: assess a
registered version, ``riskframe mlflow tag`` it, and ``registry-approval`` passes for that version and
fails for the next version, for changed data and for a changed model file."""

from __future__ import annotations

import json

import pytest

from riskframe import cli
from riskframe.detectors.provenance.registry_approval import RegistryApproval
from riskframe.io.digests import sha256_file, sha256_path

pytestmark = pytest.mark.slow  # the session's MLflow server takes 10-30 s to start

PIPELINE = """\
apiVersion: riskframe/v1
kind: Pipeline
metadata: {{name: approved-digits}}
stages:
  - name: prepare
    kind: data-preparation
    artifacts:
      - {{name: train, type: dataset, path: train.npz, format: npz, features: X, labels: y}}
  - name: train
    kind: model-engineering
    needs: [prepare]
    artifacts:
      - {{name: model, type: model, path: model.bin, of: train,
         mlflow: {{model: "models:/{name}/1", tracking_uri: "{url}"}}}}
  - name: deploy
    kind: deployment
    needs: [train]
    artifacts:
      - {{name: served, type: model, path: model.bin, of: train,
         mlflow: {{model: "models:/{name}/{deployed}", tracking_uri: "{url}"}}}}
"""

QUALIFY = """\
apiVersion: riskframe/v1
kind: Policy
metadata: {name: qualify}
requirements:
  - id: LIN-1
    title: The registered model was trained on the data assessed
    severity: high
    controls: [{control: mlflow-lineage}]
    scope: {kinds: [model-engineering]}
"""

DEPLOY = """\
apiVersion: riskframe/v1
kind: Policy
metadata: {name: deploy}
requirements:
  - id: APP-1
    title: Only an approved model version is deployed
    severity: critical
    controls: [{control: registry-approval}]
"""


@pytest.fixture
def promotion(trainer, model_name, data, monkeypatch):
    """A registered version 1 trained on train.npz, its pipeline and the two policies, in the working folder."""
    trainer.train(model_name, [("train", data / "train.npz", "training", sha256_path(data / "train.npz"))])
    (data / "qualify.yaml").write_text(QUALIFY)
    (data / "deploy.yaml").write_text(DEPLOY)
    monkeypatch.chdir(data)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

    def pipeline(deployed: str) -> str:
        (data / "pipeline.yaml").write_text(PIPELINE.format(name=model_name, url=trainer.url, deployed=deployed))
        return "pipeline.yaml"

    return pipeline


def _deploy(pipeline: str, capsys) -> tuple[int, dict]:
    code = cli.main(["assess", pipeline, "-p", "deploy.yaml", "-o", "deploy-out", "-f", "json", "-q"])
    capsys.readouterr()
    with open("deploy-out/assessment.json") as handle:
        return code, json.load(handle)


def test_a_tagged_version_is_approved_and_the_next_version_or_changed_data_is_not(
        promotion, trainer, model_name, data, capsys):
    pipeline = promotion("1")
    assert _deploy(pipeline, capsys)[1]["results"][0]["summary"] == (
        f"models:/{model_name}/1 carries no riskframe assessment: nothing approves deploying it (assess it, then "
        "riskframe mlflow tag it).")

    assert cli.main(["assess", pipeline, "-p", "qualify.yaml", "-o", "out", "-f", "json,md,html", "-q"]) == 0
    capsys.readouterr()
    run_id = trainer.client.get_model_version(model_name, "1").run_id
    lineage = json.loads((data / "out" / "assessment.json").read_text())["lineage"]
    assert {e["artifact"]: (e["registry"] or {}).get("run_id") for e in lineage} == {
        "train": None, "model": run_id, "served": None}  # mlflow-lineage ran at the training stage only
    assert (f"- model (train): `models:/{model_name}/1`, run `{run_id}`, lineage pass; trained on train (match)"
            in (data / "out" / "report.md").read_text().splitlines())
    assert f"<code>{run_id}</code>" in (data / "out" / "report.html").read_text()
    assert cli.main(["mlflow", "tag", f"models:/{model_name}/1", "out/assessment.json"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"Tagged models:/{model_name}/1 in {trainer.url}:"
    tags = trainer.client.get_model_version(model_name, "1").tags
    assert (tags["riskframe.gate"], tags["riskframe.risk_level"]) == ("pass", "low")
    assert tags["riskframe.assessment_sha256"] == sha256_file(data / "out" / "assessment.json")
    assert json.loads(tags["riskframe.data_sha256"]) == {"train": sha256_path(data / "train.npz")}
    assert f"  riskframe.model_sha256 = {sha256_path(data / 'model.bin')}" in printed

    code, approved = _deploy(pipeline, capsys)
    assert code == 0, approved["results"][0]["summary"]
    assert approved["results"][0]["summary"].startswith(f"models:/{model_name}/1 was assessed on ")
    assert approved["results"][0]["summary"].endswith("its file and its training data (train) are the ones assessed.")

    trainer.train(model_name, [("train", data / "train.npz", "training", sha256_path(data / "train.npz"))])
    code, next_version = _deploy(promotion("2"), capsys)
    assert code == 1
    assert next_version["results"][0]["summary"] == (
        f"models:/{model_name}/2 carries no riskframe assessment: nothing approves deploying it (assess it, then "
        "riskframe mlflow tag it).")

    before = sha256_path(data / "train.npz")
    (data / "train.npz").write_bytes((data / "other.npz").read_bytes())
    code, changed = _deploy(promotion("1"), capsys)
    assert code == 1
    assert changed["results"][0]["summary"] == (
        f"models:/{model_name}/1: its training data train (train.npz) changed since the assessment (sha256 "
        f"{before[:8]}... assessed, {sha256_path(data / 'train.npz')[:8]}... now).")


def test_a_failed_assessment_is_recorded_and_blocks_deployment(promotion, trainer, model_name, data, capsys):
    trainer.train(model_name, [("train", data / "other.npz", "training", sha256_path(data / "other.npz"))])
    pipeline = promotion("2")
    (data / "pipeline.yaml").write_text((data / pipeline).read_text().replace(f"models:/{model_name}/1",
                                                                               f"models:/{model_name}/2"))
    assert cli.main(["assess", pipeline, "-p", "qualify.yaml", "-o", "out", "-f", "json", "-q"]) == 1

    assert cli.main(["mlflow", "tag", f"models:/{model_name}/2", "out/assessment.json"]) == 1  # tagged, gate failed
    code, blocked = _deploy(pipeline, capsys)

    assert code == 1
    assert blocked["results"][0]["summary"].startswith(
        f"models:/{model_name}/2: its assessment (sha256 {sha256_file(data / 'out' / 'assessment.json')[:8]}...) "
        "failed the gate (risk ")


def test_only_a_version_the_assessment_examined_can_be_tagged(promotion, model_name, capsys):
    pipeline = promotion("1")
    assert cli.main(["assess", pipeline, "-p", "qualify.yaml", "-o", "out", "-f", "json", "-q"]) == 0
    capsys.readouterr()

    assert cli.main(["mlflow", "tag", f"models:/{model_name}/3", "out/assessment.json"]) == 2

    assert capsys.readouterr().err == (
        f"riskframe mlflow tag: out/assessment.json: the assessment does not examine models:/{model_name}/3 "
        f"(it examined models:/{model_name}/1)\n")


def test_a_model_without_a_registered_version_is_never_approved(data, model_context):
    result = RegistryApproval().run(model_context(data, stage_kind="deployment"), RegistryApproval.Params())

    assert result.status == "fail"
    assert result.summary == ("model.bin names no registered model version (mlflow:): nothing in a Model Registry "
                              "approves deploying it.")
