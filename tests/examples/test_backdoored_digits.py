"""The backdoored-digits example end to end, as its README tells a user to run it: build it, assess
it against policies/backdoor.yaml (the trigger screen finds the backdoor and the training images
that carry it; retraining on the poisoned data keeps it), remediate, and assess the remediated
pipeline (retraining on the filtered data removes the backdoor)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from riskframe import cli
from riskframe.io.digests import sha256_file

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "backdoored-digits"
POLICY = (ROOT / "policies" / "backdoor.yaml").as_posix()
pytestmark = pytest.mark.slow


@pytest.fixture
def riskframe():
    """The ``riskframe`` command line, in process."""
    return cli.main


def example_workspace(factory: pytest.TempPathFactory, clean: bool) -> Path:
    """``make_example.py --out DIR`` run once per session into a shared folder. A fresh process
    (seeded, single-threaded, fixed hash seed) gives every test module that asks the same bytes, so
    trigger searches on the same model and data are computed once per session."""
    folder = factory.getbasetemp() / ("backdoored-digits-clean" if clean else "backdoored-digits")
    if not (folder / "pipeline.yaml").exists():
        command = [sys.executable, str(EXAMPLE / "make_example.py"), "--out", str(folder),
                   *(["--clean"] if clean else [])]
        subprocess.run(command, check=True, capture_output=True, timeout=300)
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A private copy of the example as ``make_example.py --out DIR`` writes it."""
    copy = tmp_path_factory.mktemp("example") / "backdoored-digits"
    shutil.copytree(example_workspace(tmp_path_factory, clean=False), copy,
                    ignore=shutil.ignore_patterns("train_filtered.npz"))
    return copy


def test_the_pipeline_pins_the_files_it_points_at(built):
    text = (built / "pipeline.yaml").read_text()
    for path in ("data/train.npz", "data/test.npz", "data/train_reps.npy", "models/model.pt"):
        assert sha256_file(built / path) in text, path
    truth = json.loads((built / "data" / "ground_truth.json").read_text())
    assert truth["target"] == 0 and len(truth["poisoned"]["train"]) == 72
    with np.load(built / "data" / "test.npz", allow_pickle=False) as data:
        assert data["trigger_mask"][6:, 6:].all() and data["trigger_mask"].sum() == 4
        assert int(data["trigger_target"]) == 0


def test_the_committed_example_matches_its_generator(built):
    # Same generator, same seed: the data files are the same bytes (the model's weights depend on
    # the CPU's floating-point kernels, so only the committed data files are compared).
    for path in ("data/train.npz", "data/test.npz", "data/ground_truth.json"):
        if (EXAMPLE / path).exists():
            assert sha256_file(EXAMPLE / path) == sha256_file(built / path), path


def test_assess_remediate_and_assess_again(built, riskframe, monkeypatch, capsys):
    monkeypatch.chdir(built)
    assert riskframe(["validate", POLICY, "pipeline.yaml"]) == 0
    capsys.readouterr()

    assert riskframe(["assess", "pipeline.yaml", "--policy", POLICY, "--out", "reports/before", "-q",
                      "--format", "json,html"]) == 1
    before = json.loads(Path("reports/before/assessment.json").read_text())
    status = {r["control"]: r for r in before["results"]}
    screen, removed = status["trigger-reverse-engineering-screen"], status["backdoor-removed"]
    assert screen["status"] == "fail" and screen["evidence"]["target_class"] == 0
    assert removed["status"] == "fail" and removed["metrics"]["attack_success_after"] > 0.9
    truth = set(json.loads(Path("data/ground_truth.json").read_text())["poisoned"]["train"])
    assert set(screen["evidence"]["flagged_indices"]) == truth
    page = Path("reports/before/report.html").read_text()
    assert "Reversed trigger of class 0 (flagged as the backdoor target" in page
    assert "It sits at rows 6-7, columns 6-7 (bottom-right corner)." in page
    assert "indices into train" in page

    assert riskframe(["remediate", "reports/before/assessment.json", "--out", "remediated"]) == 0
    assert "  train: 1438 rows -> 1366 kept, 72 removed (remediated/train.npz)" in capsys.readouterr().out

    assert riskframe(["assess", "remediated/pipeline.yaml", "--policy", POLICY, "--out", "reports/after", "-q",
                      "--format", "json,html"]) == 1  # the deployed model is still the backdoored one
    after = {r["control"]: r for r in json.loads(Path("reports/after/assessment.json").read_text())["results"]}
    verified = after["backdoor-removed"]
    assert verified["status"] == "pass", verified["summary"]
    assert re.match(r"Retrained on train \(72 of 1438 samples removed\): attack success \d+% -> [0-4]%",
                    verified["summary"])
    assert after["trigger-reverse-engineering-screen"]["status"] == "fail"
    assert "flagged_indices" not in after["trigger-reverse-engineering-screen"]["evidence"]
    page = Path("reports/after/report.html").read_text()
    assert "before and after retraining" in page
    assert re.search(r"<th scope=\"col\">measure</th><th scope=\"col\">before</th><th scope=\"col\">after</th>", page)
