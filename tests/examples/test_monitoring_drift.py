"""The monitoring-drift example end to end, as its README runs it: twelve weekly windows, crafted
approvals injected into one class from week 8; the class-conditional drift requirement fails at week
8 and at no week before, and ``riskframe history`` shows it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from riskframe import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "monitoring-drift"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def assessed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("monitoring-drift")
    subprocess.run([sys.executable, str(EXAMPLE / "make_example.py"), "--out", str(folder)], check=True,
                   capture_output=True)
    code = cli.main(["assess", str(folder / "pipeline.yaml"), "--policy", str(ROOT / "policies" / "monitoring.yaml"),
                     "--out", str(folder / "reports"), "--format", "json", "-q"])
    return folder, code


def test_the_shipped_pipeline_and_profile_are_what_make_example_writes(assessed):
    folder, _ = assessed
    for name in ("pipeline.yaml", "profiles/train.json"):
        assert (folder / name).read_bytes() == (EXAMPLE / name).read_bytes(), name


def test_class_conditional_drift_fails_from_week_8_and_nothing_else_does(assessed):
    folder, code = assessed
    results = {r["id"].split("/")[0]: r for r in json.loads((folder / "reports" / "assessment.json").read_text())[
        "results"]}

    assert code == 1
    assert (results["MON-1"]["status"], results["MON-2"]["status"], results["MON-3"]["status"]) == (
        "pass", "fail", "pass")
    statuses = [w["status"] for w in results["MON-2"]["evidence"]["windows"]]
    assert statuses == ["pass"] * 7 + ["fail"] * 5
    first = results["MON-2"]["evidence"]["first_failing"]
    assert first["window"] == "2024-02-19"
    assert {(d["column"], d["pattern"], tuple(d["classes"])) for d in first["drifted"]} == {
        ("income", "class-conditional", (1,)), ("channel", "class-conditional", (1,))}


def test_history_marks_week_8_as_the_first_failing_window(assessed, capsys):
    folder, _ = assessed
    assert cli.main(["history", str(folder / "reports")]) == 0
    out = capsys.readouterr().out.splitlines()

    at = out.index("  MON-2/production/drift-screen/weekly-applications")
    assert out[at + 1] == "    2024-01-01 .......FFFFF 2024-03-18  first failing: 2024-02-19 (window 8 of 12)"
    assert cli.main(["history", str(folder / "reports"), "--format", "html", "--out", str(folder / "h.html")]) == 0
    page = (folder / "h.html").read_text()
    assert "First failing window: <strong>2024-02-19</strong> (window 8 of 12)." in page
    assert page.count('<img src="data:image/svg+xml;base64,') == 4  # the risk chart and one per monitoring series
