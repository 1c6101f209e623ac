"""riskframe.sarif: valid against the official SARIF 2.1.0 schema, and shaped as GitHub code scanning
reads it (rules, security-severity, file locations, stable fingerprints)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from riskframe.assessment import Location
from riskframe.compare.baseline import Baseline, rebase, render_reports
from riskframe.reports import render
from riskframe.reports.sarif import FINGERPRINT_KEY, SRCROOT, artifact_location, sarif_log

# The OASIS schema (errata 01), copied from https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/
SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


def _validate(log: dict) -> None:
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]


@pytest.fixture(scope="module")
def located(assessment):
    """The hand-built assessment with the locations the engine records (pipeline and policy lines)."""
    results = []
    for line, result in enumerate(assessment.results, start=10):
        places = [
            Location(path="policies/data-poisoning.yaml", line=line, column=9, what="requirement"),
            Location(path="examples/poisoned-digits/pipeline.yaml", line=line + 20, column=5, what="stage"),
        ]
        if result.artifact:
            places.append(
                Location(path="examples/poisoned-digits/pipeline.yaml", line=line + 21, column=9, what="artifact")
            )
        results.append(result.model_copy(update={"locations": places}))
    return assessment.model_copy(update={"results": results})


def _results(log: dict) -> dict[str, dict]:
    return {r["properties"]["resultId"]: r for r in log["runs"][0]["results"]}


def test_the_log_is_valid_sarif_2_1_0(located, real_assessment, tmp_path) -> None:
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    [path] = render(located, tmp_path, ["sarif"])
    assert path.name == "riskframe.sarif"
    log = json.loads(path.read_text(encoding="utf-8"))
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-schema-2.1.0.json")
    _validate(log)
    _validate(sarif_log(real_assessment))


def test_the_validator_is_not_vacuous(located) -> None:
    broken = sarif_log(located)
    broken["runs"][0]["results"][0]["level"] = "critical"  # not a SARIF level
    with pytest.raises(AssertionError, match="results/0/level"):
        _validate(broken)


def test_one_rule_per_control_with_what_github_reads(located) -> None:
    rules = sarif_log(located)["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["artifact-digest", "class-outliers", "label-issues", "model-file-scan"]
    label = rules[2]
    assert label["name"] == "LabelIssues"
    assert label["shortDescription"]["text"] == "Label flips found by cleanlab"
    assert label["fullDescription"]["text"] == (
        "Label flips found by cleanlab. Detector label-issues. Detects MITRE ATLAS AML.T0020, AML.T0059. "
        "Implements ATLAS mitigations AML.M0007, AML.M0014. Evidences NIST AI RMF MEASURE 2.7, MANAGE 1.3, MEASURE 2.5."
    )
    assert label["help"]["text"] == "Review the flagged samples; drop or relabel them and retrain."
    assert label["helpUri"] == "https://atlas.mitre.org/techniques/AML.T0020"
    assert label["defaultConfiguration"] == {"level": "error"}
    assert label["properties"]["tags"] == ["security", "machine-learning", "AML.T0020", "AML.T0059"]
    for rule in rules:
        severity = float(rule["properties"]["security-severity"])
        assert 7.0 <= severity < 9.0  # every requirement of the fixture is high: GitHub's "high" band
        assert len(rule["properties"]["tags"]) <= 20


def test_one_result_per_failing_erroring_or_waived_run(located) -> None:
    log = sarif_log(located)
    results = _results(log)
    assert sorted(results) == [
        "DP-1/train/label-issues/train",
        "DP-4/evaluate/label-issues/test",
        "DP-6/prepare/class-outliers/clean",
    ]
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    for result in results.values():
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] and result["kind"] == "fail"
    failed = results["DP-1/train/label-issues/train"]
    assert failed["level"] == "error"
    assert failed["message"]["text"] == (
        "DP-1 Training labels are not poisoned (label flips) (label-issues on stage train, artifact train) failed: "
        "18 of 1797 training samples look mislabelled (estimated poisoned share 0.94%, above the 1% threshold); "
        "most are 7s labelled 1. Severity high, residual risk high (0.72)."
    )
    error = results["DP-4/evaluate/label-issues/test"]
    assert error["message"]["text"].startswith(
        "DP-4 Test labels are trustworthy (label-issues on stage evaluate, "
        "artifact test) could not run: The detector did not finish"
    )
    [notification] = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert notification["associatedRule"] == {"id": "label-issues", "index": 2}
    waived = results["DP-6/prepare/class-outliers/clean"]
    assert waived["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "Known scanner artefacts; approved by ciso@example.org; until 2030-01-31",
        }
    ]


def test_results_point_at_the_artifact_line_relative_to_the_repository_root(located) -> None:
    run = sarif_log(located)["runs"][0]
    failed = _results({"runs": [run]})["DP-1/train/label-issues/train"]
    [primary] = failed["locations"]
    assert primary["physicalLocation"] == {
        "artifactLocation": {"uri": "examples/poisoned-digits/pipeline.yaml", "uriBaseId": SRCROOT},
        "region": {"startLine": 31, "startColumn": 9},
    }
    assert primary["message"]["text"] == "artifact train of stage train in the pipeline"
    related = [(r["id"], r["message"]["text"]) for r in failed["relatedLocations"]]
    assert related == [(1, "stage train in the pipeline"), (2, "requirement DP-1 in policy data-poisoning")]
    assert set(run["originalUriBaseIds"]) == {SRCROOT}
    assert "uri" not in run["originalUriBaseIds"][SRCROOT]  # the root is where CI checked out, not known here


def test_the_real_engine_locates_the_failing_stage(real_assessment) -> None:
    [result] = sarif_log(real_assessment)["runs"][0]["results"]
    assert result["properties"]["resultId"] == "INT-1/deploy/artifact-integrity"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "pipeline.yaml", "uriBaseId": SRCROOT}
    lines = (Path(__file__).parent / "fixtures" / "tiny-pipeline" / "pipeline.yaml").read_text().splitlines()
    assert lines[location["region"]["startLine"] - 1].strip() == "- name: deploy"
    requirement = result["relatedLocations"][0]["physicalLocation"]
    assert requirement["artifactLocation"]["uri"] == "policy.yaml"


def test_paths_become_uris(assessment) -> None:
    assert artifact_location("examples/poisoned digits/pipeline.yaml") == {
        "uri": "examples/poisoned%20digits/pipeline.yaml",
        "uriBaseId": SRCROOT,
    }
    assert artifact_location("./policy.yaml") == {"uri": "policy.yaml", "uriBaseId": SRCROOT}
    assert artifact_location("/srv/ml/pipeline.yaml") == {"uri": "file:///srv/ml/pipeline.yaml"}


def test_a_result_without_locations_falls_back_to_the_pipeline_file(assessment) -> None:
    result = _results(sarif_log(assessment))["DP-1/train/label-issues/train"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "examples/poisoned-digits/pipeline.yaml"
    )
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 1, "startColumn": 1}


def test_fingerprints_are_stable_across_runs_and_line_moves(assess_tiny, tmp_path) -> None:
    first = assess_tiny(tmp_path)
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text("# a comment added on top moves every line\n\n" + pipeline.read_text())
    second = assess_tiny(tmp_path)
    [before], [after] = (sarif_log(a)["runs"][0]["results"] for a in (first, second))
    assert before["partialFingerprints"] == after["partialFingerprints"]
    assert len(before["partialFingerprints"][FINGERPRINT_KEY]) == 64
    region = lambda r: r["locations"][0]["physicalLocation"]["region"]["startLine"]  # noqa: E731
    assert region(after) == region(before) + 2


def test_a_baseline_keeps_known_failures_visible_as_unchanged(located) -> None:
    older = located.model_copy(
        update={
            "created_at": "2025-01-01T00:00:00+00:00",
            "results": [r for r in located.results if r.status != "error"],
        }
    )
    current, comparison = rebase(located, Baseline("old/assessment.json", older))
    log = sarif_log(current, comparison)
    _validate(log)
    results = _results(log)
    assert sorted(results) == ["DP-1/train/label-issues/train", "DP-4/evaluate/label-issues/test",
                               "DP-6/prepare/class-outliers/clean"]
    assert results["DP-1/train/label-issues/train"]["baselineState"] == "unchanged"  # known: listed, not counted
    assert results["DP-4/evaluate/label-issues/test"]["baselineState"] == "new"
    assert results["DP-6/prepare/class-outliers/clean"]["baselineState"] == "unchanged"
    baseline = log["runs"][0]["properties"]["baseline"]
    assert (baseline["known"], baseline["new"], baseline["path"]) == (1, 1, "old/assessment.json")


def test_a_failure_whose_waiver_expired_is_new_not_unchanged(located) -> None:
    waived = "DP-6/prepare/class-outliers/clean"
    expired = [r.model_copy(update={"status": "fail", "waiver": None}) if r.id == waived else r
               for r in located.results]
    current, comparison = rebase(located.model_copy(update={"results": expired}), Baseline("old.json", located))
    assert comparison.before[waived] == "waived" and waived in comparison.new
    assert _results(sarif_log(current, comparison))[waived]["baselineState"] == "new"


def test_render_reports_hands_the_baseline_to_the_sarif_file(located, tmp_path) -> None:
    current, comparison = rebase(located, Baseline("old.json", located))
    [path] = render_reports(current, tmp_path, ["sarif"], comparison)
    results = json.loads(path.read_text(encoding="utf-8"))["runs"][0]["results"]
    assert [(r["properties"]["status"], r["baselineState"]) for r in results] == [
        ("fail", "unchanged"), ("error", "unchanged"), ("waived", "unchanged")]  # both failures were known


def test_hostile_text_stays_valid(located, make_result) -> None:
    nasty = make_result(
        status="fail",
        summary='"\x00\x1b[31m <b>|</b> ' + "ü" * 5000,
        control_title="x" * 3000,
        control="weird control/id",
        remediation="",
    )
    log = sarif_log(located.model_copy(update={"results": [nasty]}))
    _validate(log)
    json.loads(json.dumps(log))
    rule = log["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["name"] == "WeirdControlId" and len(rule["shortDescription"]["text"]) <= 1000
