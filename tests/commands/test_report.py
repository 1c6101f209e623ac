"""``riskframe report`` and ``--baseline``, through the command line, on a real assessed workspace."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from riskframe import cli
from riskframe.reports import FORMATS
from riskframe.reports.json_report import load_assessment
from riskframe.reports.sarif import dumps_sarif, sarif_log

TINY_PIPELINE = Path(__file__).resolve().parents[1] / "reports" / "fixtures" / "tiny-pipeline"


@pytest.fixture
def riskframe(capsys):
    """``riskframe(*argv) -> (exit code, stdout, stderr)``, in process."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return code, captured.out, captured.err

    return run


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """The tiny pipeline, copied and made the working directory (paths relative to it, as in CI)."""
    root = tmp_path / "repo"
    shutil.copytree(TINY_PIPELINE, root)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def assessed(workspace, riskframe) -> Path:
    code, _, _ = riskframe(
        "assess", "pipeline.yaml", "--policy", "policy.yaml", "--out", "out", "--format", "json", "-q"
    )
    assert code == 1  # the model's digest does not match: the gate fails
    return workspace / "out" / "assessment.json"


def test_report_renders_other_formats_without_running_detectors(assessed, riskframe, workspace) -> None:
    shutil.rmtree(workspace / "data")  # no detector could run now: the reports come from the JSON alone
    code, out, _ = riskframe("report", "out/assessment.json", "--format", "sarif,junit,navigator", "--out", "ci")
    assert code == 0
    assert out.splitlines() == [
        "Gate: FAIL (fail_on: high), as recorded in out/assessment.json",
        "Reports: ci/riskframe.sarif, ci/junit.xml, ci/atlas-risk-layer.json, ci/atlas-coverage-layer.json",
    ]
    assert (workspace / "ci" / "riskframe.sarif").read_bytes() == dumps_sarif(sarif_log(load_assessment(assessed)))


def test_by_default_it_writes_markdown_and_html_beside_the_assessment(assessed, riskframe) -> None:
    code, out, _ = riskframe("report", "out/assessment.json")
    assert code == 0 and out.splitlines()[-1] == "Reports: out/report.md, out/report.html"
    assert (assessed.parent / "report.md").read_text(encoding="utf-8").startswith("## riskframe: gate FAILED")


def test_a_file_that_is_not_json_is_refused(riskframe, workspace) -> None:
    code, _, err = riskframe("report", "policy.yaml")
    assert code == 2
    assert err == (
        "policy.yaml:1:1: not valid JSON (Expecting value); expected an assessment.json written by 'riskframe assess'\n"
    )


def test_json_that_is_not_an_assessment_is_refused(riskframe, workspace) -> None:
    (workspace / "results.json").write_text(json.dumps({"results": [], "gate": "fail"}))
    code, _, err = riskframe("report", "results.json")
    assert code == 2
    assert err.startswith("results.json: not a riskframe assessment: expected a JSON object with schema_version")


def test_an_assessment_of_a_newer_schema_is_refused(assessed, riskframe) -> None:
    text = assessed.read_text(encoding="utf-8").replace('"schema_version": "1.2"', '"schema_version": "9.0"', 1)
    assessed.write_text(text, encoding="utf-8")
    code, _, err = riskframe("report", "out/assessment.json", "--format", "sarif")
    assert code == 2
    assert re.fullmatch(
        r"out/assessment\.json:\d+:\d+: schema_version: this assessment uses schema 9\.0, newer than the 1\.2 "
        r"this riskframe reads; upgrade riskframe to read it\n",
        err,
    )
    assert not (assessed.parent / "riskframe.sarif").exists()


def test_a_missing_file_is_a_one_line_error(riskframe, workspace) -> None:
    assert riskframe("report", "nope.json") == (2, "", "nope.json: file not found\n")


def test_an_unknown_format_lists_the_known_ones(assessed, riskframe) -> None:
    code, _, err = riskframe("report", "out/assessment.json", "--format", "sarif,pdf")
    assert code == 2
    assert err == f"--format: unknown report format 'pdf'; known formats: {', '.join(sorted(FORMATS))}\n"
    assert {"sarif", "junit", "navigator", "md", "html", "json"} <= set(FORMATS)
    code, _, err = riskframe("report", "out/assessment.json", "--format", "junt")
    assert code == 2 and err.startswith("--format: unknown report format 'junt' (did you mean 'junit'?)")


def test_the_help_names_every_format_the_registry_has() -> None:
    from riskframe.commands.report import FORMAT_NAMES

    assert tuple(sorted(FORMATS)) == FORMAT_NAMES


def test_assess_with_a_baseline_gates_only_on_new_failures(assessed, riskframe, workspace) -> None:
    args = ("assess", "pipeline.yaml", "--policy", "policy.yaml", "--baseline", "out/assessment.json", "-q")
    code, out, _ = riskframe(*args, "--out", "same", "--format", "json,sarif,junit,md")
    assert code == 0  # the only failure is known
    assert "Gate: PASS (fail_on: high)" in out
    assert "1 failing result was already failing in the baseline out/assessment.json" in out
    alerts = json.loads((workspace / "same" / "riskframe.sarif").read_text())["runs"][0]["results"]
    known = [a["baselineState"] for a in alerts if a["properties"]["status"] == "fail"]
    assert known == ["unchanged"] * len(known) and known  # still visible, as known
    assert "#### Known from the baseline out/assessment.json" in (workspace / "same" / "report.md").read_text()
    assert len(load_assessment(workspace / "same" / "assessment.json").results) == 2  # all kept

    (workspace / "data" / "train.csv").write_text("x1,x2,label\n9,9,1\n")  # the training data changes
    code, out, _ = riskframe(*args, "--out", "changed", "--format", "sarif")
    assert code == 1
    alerts = json.loads((workspace / "changed" / "riskframe.sarif").read_text())["runs"][0]["results"]
    assert sorted((a["properties"]["resultId"], a["baselineState"]) for a in alerts) == [
        ("INT-1/deploy/artifact-integrity", "unchanged"), ("INT-1/ingest/artifact-integrity", "new")]


def test_report_with_a_baseline(assessed, riskframe) -> None:
    code, out, _ = riskframe("report", "out/assessment.json", "--baseline", "out/assessment.json", "--format", "md")
    assert code == 0
    assert out.splitlines()[:2] == [
        "Gate: PASS (fail_on: high), counting only failures new since the baseline",
        "Baseline: 1 failing result was already failing in the baseline out/assessment.json "
        f"({load_assessment(assessed).created_at}); the reports list it as known and the gate does not count it.",
    ]


def test_report_says_which_known_failures_count_as_new_because_their_evidence_changed(assessed, riskframe) -> None:
    older = json.loads(assessed.read_text(encoding="utf-8"))
    for entry in [*older["inputs"], *older["lineage"]]:  # the baseline examined other bytes at the same paths
        entry["sha256"] = "1" * 64
    Path("older.json").write_text(json.dumps(older), encoding="utf-8")
    code, out, _ = riskframe("report", "out/assessment.json", "--baseline", "older.json", "--format", "md")
    assert code == 0
    lines = out.splitlines()
    assert lines[:3] == [
        "Gate: FAIL (fail_on: high), counting only failures new since the baseline",
        f"Baseline: No failing result was already failing in the baseline older.json ({older['created_at']}); "
        "the reports list every one and the gate counts every one.",
        "Changed: 1 failing result was failing in the baseline too but counts as new because its evidence changed: "
        "INT-1/deploy/artifact-integrity (artifact model changed).",
    ]


def test_a_baseline_of_another_pipeline_or_a_bad_file_is_refused(assessed, riskframe, workspace) -> None:
    other = json.loads(assessed.read_text(encoding="utf-8"))
    other["pipeline"]["name"] = "fraud-model"
    (workspace / "other.json").write_text(json.dumps(other))
    code, _, err = riskframe("report", "out/assessment.json", "--baseline", "other.json")
    assert (code, err) == (
        2,
        "--baseline: other.json assesses pipeline 'fraud-model', not 'tiny-digests'; give an earlier assessment "
        "of the same pipeline\n",
    )
    code, _, err = riskframe("assess", "pipeline.yaml", "--policy", "policy.yaml", "--baseline", "policy.yaml")
    assert code == 2 and err.startswith("policy.yaml:1:1: not valid JSON")  # before any detector runs
    assert not (workspace / "reports").exists()


def test_the_command_is_in_the_help(riskframe, capsys) -> None:
    with pytest.raises(SystemExit):
        riskframe("report", "--help")
    help_text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert f"comma-separated report formats: {', '.join(sorted(FORMATS))} (default: md,html)" in help_text
    assert "cyclonedx" in FORMATS


def test_no_output_holds_an_absolute_path_when_the_inputs_are_given_relatively(workspace, riskframe) -> None:
    code, _, _ = riskframe("assess", "pipeline.yaml", "--policy", "policy.yaml", "--out", "out", "-q",
                           "--format", ",".join(sorted(FORMATS)))
    assert code == 1
    root = str(workspace.resolve())
    written = sorted(p for p in (workspace / "out").iterdir() if p.is_file())
    assert len(written) >= len(FORMATS)
    for path in written:
        assert root not in path.read_text(encoding="utf-8"), path.name
