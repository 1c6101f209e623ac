"""``riskframe diff``: two real assessments compared, regressions gating CI, expired waivers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from riskframe import cli
from riskframe.compare.diff import diff_assessments
from riskframe.reports.json_report import load_assessment


@pytest.fixture(scope="module")
def pair(tmp_path_factory, real):
    """(balanced, skewed): the same pipeline before and after its training data went skewed."""
    root = tmp_path_factory.mktemp("diff")
    good = real.assessment_file(root / "good", real.workspace(root / "ws-good", skewed=False))
    bad = real.assessment_file(root / "bad", real.workspace(root / "ws-bad", skewed=True))
    return good, bad


def test_a_new_failure_is_a_regression_and_fails_the_job(pair, capsys):
    good, bad = pair
    assert cli.main(["diff", str(good), str(bad), "--fail-on-regression"]) == 1
    out = capsys.readouterr().out
    assert "New failures (1)" in out
    assert "  - R1/prepare/balance/train: pass -> fail (high, residual " in out
    assert "Risk by stage (" in out and "  prepare " in out
    assert out.rstrip().endswith("Regression: 1 new failing result; the gate passed before and fails now; "
                                 f"the risk score rose from {_score(good):g} to {_score(bad):g}.")
    assert cli.main(["diff", str(good), str(bad)]) == 0  # reported, but only gating with the flag


def test_the_way_back_is_a_fix_not_a_regression(pair, capsys):
    good, bad = pair
    assert cli.main(["diff", str(bad), str(good), "--fail-on-regression", "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Assessment diff: tiny\n")
    assert "## Fixed failures (1)" in out
    assert "| R1/prepare/balance/train | fail | pass |" in out
    assert "No regression; improved: 1 failing result fixed; the gate failed before and passes now" in out


def test_json_output_is_the_diff_model(pair, capsys):
    good, bad = pair
    assert cli.main(["diff", str(good), str(bad), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "AssessmentDiff" and data["regression"] is True
    assert [c["id"] for c in data["new_failures"]] == ["R1/prepare/balance/train"]
    techniques = {t["id"]: t for t in data["techniques"]}
    assert techniques["AML.T0020"]["new"] > techniques["AML.T0020"]["old"]


def test_a_waiver_that_expired_in_between_is_reported(tmp_path, real):
    pipeline = real.workspace(tmp_path / "ws", skewed=True, waived=True)
    before = real.assessment_file(tmp_path / "march", pipeline, today=date(2030, 3, 1))
    after = real.assessment_file(tmp_path / "september", pipeline, today=date(2030, 9, 1))
    diff = diff_assessments(load_assessment(before), load_assessment(after))
    assert [(w.result, w.change, w.expires, w.old_status, w.new_status) for w in diff.waivers] == [
        ("R1/prepare/balance/train", "expired", "2030-06-30", "waived", "fail")]
    assert [c.id for c in diff.new_failures] == ["R1/prepare/balance/train"] and diff.regression


def test_unreadable_input_is_a_located_error(pair, tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text("{\n  \"schema_version\": \"1.0\",\n  \"tool\": {,\n}")
    assert cli.main(["diff", str(pair[0]), str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{broken}:3:12: not valid JSON (Expecting property name enclosed in double quotes)")


def _score(path: Path) -> float:
    return load_assessment(path).summary.risk_score


def test_a_failure_whose_evidence_changed_is_a_regression(pair, tmp_path, capsys, real):
    """R1 fails in both, but the training data is more skewed now: the same id, other evidence."""
    _, bad = pair
    pipeline = real.workspace(tmp_path / "ws-worse", skewed=True)
    labels = np.concatenate([np.zeros(45, int), np.ones(3, int), np.full(2, 2)])
    np.savez(pipeline.parent / "train.npz", X=np.zeros((labels.size, 4)), y=labels)
    worse = real.assessment_file(tmp_path / "worse", pipeline)
    assert cli.main(["diff", str(bad), str(worse), "--fail-on-regression"]) == 1
    out = capsys.readouterr().out
    assert "New failures" not in out
    assert "Failures whose evidence changed (1)\n\n  - R1/prepare/balance/train: fail -> fail (high, residual " in out
    assert "): artifact train changed; the metrics changed. smallest/largest class = 0.04\n" in out
    assert "Regression: 1 failing result with changed evidence" in out
    same = real.assessment_file(tmp_path / "again", pipeline)
    diff = diff_assessments(load_assessment(worse), load_assessment(same))
    assert (diff.changed_failures, diff.regression) == ([], False)  # a rerun on the same data is the same failure


def test_assessments_of_two_pipelines_are_refused_unless_allowed(pair, tmp_path, capsys):
    good, _ = pair
    other = tmp_path / "other.json"
    data = json.loads(good.read_text(encoding="utf-8"))
    data["pipeline"]["name"] = "fraud-model"
    other.write_text(json.dumps(data), encoding="utf-8")
    assert cli.main(["diff", str(good), str(other)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"diff: {good} assesses pipeline 'tiny' and {other} pipeline 'fraud-model'; their result ids would match by "
        "accident. Compare two assessments of the same pipeline, or pass --allow-different-pipelines\n")
    assert cli.main(["diff", str(good), str(other), "--allow-different-pipelines"]) == 0
    assert "Note: the assessments are of different pipelines (tiny and fraud-model)." in capsys.readouterr().out
