"""``riskframe remediate``: from a real assessment (class-outlier-screen on digits with 10 noise
images filed as 3s) to the filtered dataset, the quarantine manifest and a pipeline copy that
assesses; and the refusals: a changed dataset, a file that is not an assessment, a missing dataset,
an unknown control."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from riskframe import cli
from riskframe.io.digests import sha256_file
from riskframe.scenarios import digits

NOISE = 10
ROWS = 600 + NOISE
PIPELINE = """\
apiVersion: riskframe/v1
kind: Pipeline
metadata: {{name: noisy-digits, criticality: high}}
stages:
  - name: ingest
    kind: data-understanding
    trust: untrusted
    artifacts:
      - {{name: raw, type: dataset, path: data/raw.npz, format: npz, features: X, labels: y, sha256: "{raw}"}}
      - {{name: raw-reps, type: representations, path: data/raw_reps.npy, of: raw}}
  - name: evaluate
    kind: model-evaluation
    needs: [ingest]
    artifacts:
      - {{name: holdout, type: dataset, path: data/holdout.npz, format: npz, features: X, labels: y}}
"""
POLICY = """\
apiVersion: riskframe/v1
kind: Policy
metadata: {name: outliers, version: 1.0.0}
requirements:
  - id: OUT-1
    title: No class holds foreign samples
    severity: high
    threats: [AML.T0020]
    controls:
      - control: class-outlier-screen
    scope: {kinds: [data-understanding]}
"""


@pytest.fixture(scope="module")
def assessed(tmp_path_factory) -> Path:
    """A folder with the pipeline, its data (``raw`` with noise images appended, and an extra
    array of sample ids), the policy, and ``reports/assessment.json`` from a real assessment."""
    from riskframe.engine.assess import assess
    from riskframe.reports import parse_formats, render

    folder = tmp_path_factory.mktemp("noisy-digits")
    images, labels = digits()
    rng = np.random.default_rng(0)
    noise = rng.uniform(0, 16, size=(NOISE, 8, 8))
    x = np.concatenate([images[:600], noise])
    y = np.concatenate([labels[:600], np.full(NOISE, 3)])  # foreign samples added to class 3
    (folder / "data").mkdir()
    np.savez(folder / "data" / "raw.npz", X=x, y=y, ids=np.arange(600 + NOISE) + 1000, classes=np.arange(10))
    np.savez(folder / "data" / "holdout.npz", X=images[600:700], y=labels[600:700])
    np.save(folder / "data" / "raw_reps.npy", x.reshape(len(x), -1)[:, :16])  # row-aligned with raw
    (folder / "pipeline.yaml").write_text(PIPELINE.format(raw=sha256_file(folder / "data" / "raw.npz")))
    (folder / "policy.yaml").write_text(POLICY)
    here = Path.cwd()
    os.chdir(folder)  # as a user runs it: the assessment records paths relative to this folder
    try:
        render(assess("pipeline.yaml", ["policy.yaml"]), Path("reports"), parse_formats("json"))
    finally:
        os.chdir(here)
    return folder


@pytest.fixture
def workspace(assessed, tmp_path, monkeypatch) -> Path:
    """A private copy of the assessed folder, entered (remediate runs where assess ran)."""
    copy = tmp_path / "ws"
    shutil.copytree(assessed, copy)
    monkeypatch.chdir(copy)
    return copy


@pytest.fixture
def riskframe():
    """``riskframe`` as the console script runs it."""
    return cli.main


def test_the_assessment_flags_the_noise(workspace):
    (result,) = json.loads((workspace / "reports" / "assessment.json").read_text())["results"]
    assert result["status"] == "fail" and result["artifact"] == "raw"
    flagged = set(result["evidence"]["flagged_indices"])
    assert len(flagged & set(range(600, ROWS))) >= NOISE - 2 and flagged <= set(range(600, ROWS))


def test_remediate_writes_the_filtered_dataset_the_manifest_and_a_pipeline(workspace, riskframe, capsys):
    assert riskframe(["remediate", "reports/assessment.json", "--out", "remediated"]) == 0
    out = capsys.readouterr().out
    flagged = json.loads((workspace / "reports" / "assessment.json").read_text())["results"][0]["evidence"]
    removed = sorted(flagged["flagged_indices"])
    assert f"Quarantined {len(removed)} samples of raw (1 result)." in out
    assert f"  raw: {ROWS} rows -> {ROWS - len(removed)} kept, {len(removed)} removed (remediated/raw.npz)" in out
    assert "Next: riskframe assess remediated/pipeline.yaml --policy ..." in out

    with np.load("remediated/raw.npz", allow_pickle=False) as data, np.load("data/raw.npz") as source:
        keep = np.setdiff1d(np.arange(ROWS), removed)
        assert np.array_equal(data["X"], source["X"][keep]) and np.array_equal(data["y"], source["y"][keep])
        assert np.array_equal(data["ids"], source["ids"][keep])  # row-aligned: filtered too
        assert np.array_equal(data["classes"], np.arange(10))  # not row-aligned: copied
        assert data["removed_indices"].tolist() == removed and int(data["source_rows"]) == ROWS
        assert np.array_equal(data["kept_indices"], keep)

    with open("remediated/quarantine.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["artifact", "index", "detector", "control", "result", "score", "reason"]
    assert [int(r["index"]) for r in rows] == removed
    assert {(r["artifact"], r["detector"], r["control"], r["result"]) for r in rows} == {
        ("raw", "class-outliers", "class-outlier-screen", "OUT-1/ingest/class-outlier-screen/raw")}
    scores = dict(zip(flagged["flagged_indices"], flagged["scores"], strict=True))
    assert all(float(r["score"]) == pytest.approx(scores[int(r["index"])]) for r in rows)
    assert rows[0]["reason"].startswith("class-outlier-screen (fail): ")

    reps = np.load("remediated/raw-reps.npy", allow_pickle=False)
    assert np.array_equal(reps, np.load("data/raw_reps.npy")[keep])  # still row-aligned with raw
    assert f"  raw-reps: {ROWS} rows -> {ROWS - len(removed)} kept" in out

    manifest = json.loads(Path("remediated/quarantine.json").read_text())
    dataset, representations = manifest["datasets"]
    assert representations["artifact"] == "raw-reps" and representations["output"] == "raw-reps.npy"
    assert (dataset["artifact"], dataset["source"]) == ("raw", "data/raw.npz")
    assert (dataset["rows"], dataset["removed"], dataset["kept"]) == (ROWS, len(removed), ROWS - len(removed))
    assert dataset["output"] == "raw.npz" and dataset["output_sha256"] == sha256_file(Path("remediated/raw.npz"))
    assert dataset["source_sha256"] == sha256_file(Path("data/raw.npz"))
    assert manifest["selection"]["statuses"] == ["fail", "warn"] and len(manifest["quarantined"]) == len(rows)


def test_the_remediated_pipeline_points_at_the_filtered_data_and_assesses(workspace, riskframe):
    from riskframe.engine.assess import assess
    from riskframe.spec.load import load_pipeline

    assert riskframe(["remediate", "reports/assessment.json", "--out", "remediated"]) == 0
    pipeline = load_pipeline("remediated/pipeline.yaml")
    raw = next(a for _, a in pipeline.artifacts() if a.name == "raw")
    holdout = next(a for _, a in pipeline.artifacts() if a.name == "holdout")
    assert (raw.path, raw.sha256) == ("raw.npz", sha256_file(Path("remediated/raw.npz")))
    reps = next(a for _, a in pipeline.artifacts() if a.name == "raw-reps")
    assert (reps.path, reps.of) == ("raw-reps.npy", "raw")
    assert holdout.path == "../data/holdout.npz"
    first = json.loads(Path("reports/assessment.json").read_text())["results"][0]["evidence"]["flagged_indices"]
    again = assess("remediated/pipeline.yaml", ["policy.yaml"])
    (result,) = again.results
    assert {f.path: f.sha256 for f in again.inputs}["remediated/raw.npz"] == sha256_file(Path("remediated/raw.npz"))
    # The noise that was flagged is gone: what is left no longer crowds class 3.
    assert result.status != "fail" and len(result.evidence["flagged_indices"]) < len(first)


def test_remediate_refuses_a_dataset_that_changed_since_the_assessment(workspace, riskframe, capsys):
    with np.load("data/raw.npz") as data:
        arrays = dict(data)
    arrays["y"][0] = 9
    np.savez("data/raw.npz", **arrays)
    assert riskframe(["remediate", "reports/assessment.json", "--out", "remediated"]) == 2
    err = capsys.readouterr().err
    assert "dataset 'raw' changed since the assessment" in err
    assert "its flags no longer apply; assess it again" in err and "Traceback" not in err
    assert not Path("remediated").exists()


def test_remediate_refuses_a_file_that_is_not_an_assessment(workspace, riskframe, capsys):
    Path("policy.json").write_text(json.dumps({"kind": "Policy"}))
    assert riskframe(["remediate", "policy.json", "--out", "remediated"]) == 2
    assert capsys.readouterr().err.strip() == (
        "policy.json: not a riskframe assessment: expected a JSON object with schema_version, tool, results and "
        "gate, as 'riskframe assess' writes in assessment.json")


def test_remediate_refuses_a_missing_dataset(workspace, riskframe, capsys):
    Path("data/raw.npz").unlink()
    assert riskframe(["remediate", "reports/assessment.json", "--out", "remediated"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dataset file not found: ") and "(dataset 'raw'); run remediate from the folder" in err


def test_remediate_names_the_controls_there_are(workspace, riskframe, capsys):
    assert riskframe(["remediate", "reports/assessment.json", "--out", "x", "--control", "class-outlier-scren"]) == 2
    assert capsys.readouterr().err.strip() == (
        "--control class-outlier-scren: no result of the assessment comes from control 'class-outlier-scren' "
        "(did you mean 'class-outlier-screen'?); controls: class-outlier-screen")


def test_min_score_keeps_weaker_flags_in(workspace, riskframe, capsys):
    evidence = json.loads(Path("reports/assessment.json").read_text())["results"][0]["evidence"]
    cut = sorted(evidence["scores"])[len(evidence["scores"]) // 2]
    assert riskframe(["remediate", "reports/assessment.json", "--out", "strict", "--min-score", str(cut)]) == 0
    kept_in = sum(s < cut for s in evidence["scores"])
    assert f"{kept_in} flags below --min-score {cut:g} were left in." in capsys.readouterr().out
    with np.load("strict/raw.npz") as data:
        assert data["removed_indices"].size == len(evidence["scores"]) - kept_in
    with pytest.raises(SystemExit) as exited:  # argparse's usage error
        riskframe(["remediate", "reports/assessment.json", "--out", "x", "--min-score", "1.5"])
    assert exited.value.code == 2
    assert "argument --min-score: must be a number in [0, 1]. Got 1.5 instead." in capsys.readouterr().err


def test_a_passing_result_is_acted_on_only_when_asked(workspace, riskframe, capsys):
    data = json.loads(Path("reports/assessment.json").read_text())
    data["results"][0]["status"] = "pass"
    Path("reports/assessment.json").write_text(json.dumps(data))
    assert riskframe(["remediate", "reports/assessment.json", "--out", "a"]) == 0
    assert "No flagged samples in the trusted results (0 sample-level results read); nothing quarantined." \
        in capsys.readouterr().out
    assert not Path("a/raw.npz").exists() and Path("a/quarantine.csv").read_text() == (
        "artifact,index,detector,control,result,score,reason\n")
    assert riskframe(["remediate", "reports/assessment.json", "--out", "b", "--include-passing"]) == 0
    assert Path("b/raw.npz").exists()


def test_the_same_inputs_give_the_same_bytes(workspace, riskframe):
    for out in ("one", "two"):
        assert riskframe(["remediate", "reports/assessment.json", "--out", out]) == 0
    for name in ("raw.npz", "quarantine.csv", "quarantine.json"):
        assert Path("one", name).read_bytes() == Path("two", name).read_bytes(), name


def test_flags_of_a_model_level_check_go_to_the_dataset_it_names(workspace):
    from riskframe.remediation.flags import Selection, collect_flags
    from riskframe.reports.json_report import load_assessment

    data = json.loads(Path("reports/assessment.json").read_text())
    data["results"][0]["evidence"].update(flagged_artifact="holdout", flagged_indices=[5, 2], scores=[0.9, 0.4])
    Path("other.json").write_text(json.dumps(data))
    collected = collect_flags(load_assessment("other.json"), Selection(min_score=0.5))
    assert [(f.artifact, f.index, f.score) for f in collected.flags] == [("holdout", 5, 0.9)]
    assert collected.below_min_score == 1


def test_help_text(riskframe, capsys):
    with pytest.raises(SystemExit):
        riskframe(["remediate", "--help"])
    text = capsys.readouterr().out
    assert "ASSESSMENT_JSON" in text and "--min-score S" in text and "--include-passing" in text
