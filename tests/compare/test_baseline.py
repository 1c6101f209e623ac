"""--baseline: a failure is known when its id failed in the baseline with the same evidence; the
gate counts the rest, and the reports say how many they left out and why."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest

from riskframe import cli
from riskframe.assessment import GateReason
from riskframe.compare.baseline import RULE, Baseline, apply_baseline, compare, load_baseline, rebase, render_reports
from riskframe.errors import DocumentError, UsageError
from riskframe.reports.html_report import render_html
from riskframe.reports.json_report import load_assessment
from riskframe.reports.markdown_report import render_markdown

FLIP = "DP-1/train/label-issues/train"


@pytest.fixture
def older(assessment):
    """An earlier run in which DP-1 already failed and DP-4 did not exist, and a since-fixed failure."""
    results = [r for r in assessment.results if r.id != "DP-4/evaluate/label-issues/test"]
    gone = results[1].model_copy(update={"id": "DP-9/ingest/artifact-digest/old", "status": "fail"})
    return assessment.model_copy(update={"created_at": "2025-01-01T09:00:00+00:00", "results": [*results, gone]})


def _with_result(assessment, result_id, **changes):
    """``assessment`` with one result's fields (evidence and metrics merged key by key) changed."""
    result = assessment.result(result_id)
    for key in ("evidence", "metrics"):
        if key in changes:
            changes[key] = {**getattr(result, key), **changes[key]}
    results = [r.model_copy(update=changes) if r.id == result_id else r for r in assessment.results]
    return assessment.model_copy(update={"results": results})


def test_failures_are_matched_by_id_and_evidence(assessment, older) -> None:
    comparison = compare(assessment, Baseline("main/assessment.json", older))
    assert comparison.known == (FLIP,)
    assert comparison.new == ("DP-4/evaluate/label-issues/test",)
    assert comparison.fixed == ("DP-9/ingest/artifact-digest/old",)
    assert comparison.changed == {}
    assert comparison.sentence() == (
        "1 failing result was already failing in the baseline main/assessment.json (2025-01-01T09:00:00+00:00); "
        "the reports list it as known and the gate does not count it."
    )


def test_the_gate_counts_only_new_failures(assessment, older) -> None:
    rebased, comparison = rebase(assessment, Baseline("main/assessment.json", older))
    assert rebased.gate.decision == "fail"  # DP-4 is new and erred: the gate still fails closed
    assert rebased.gate.reasons[-2:] == [comparison.sentence(), RULE]
    assert [r.result for r in rebased.gate.failing] == ["DP-4/evaluate/label-issues/test"]
    assert [r.result for r in rebased.gate.known] == [FLIP]  # listed as known, not a reason it failed
    assert rebased.results == assessment.results  # assessment.json keeps every result


def test_with_every_failure_known_the_gate_passes_and_says_why(assessment) -> None:
    rebased, _ = rebase(assessment, Baseline("main.json", assessment))
    assert rebased.gate.decision == "pass"
    assert (rebased.gate.failing, rebased.gate.level) == ([], "medium")  # the highest the gate still counts
    assert rebased.gate.reasons == [
        "DP-1 at stage train: label-issues on train failed with high residual risk (0.72); already failing in the "
        "baseline main.json with the same evidence, not counted",
        "DP-4 at stage evaluate: label-issues on test ended in error; already failing in the baseline main.json "
        "with the same evidence, not counted",
        "2 failing results were already failing in the baseline main.json (2025-01-15T10:00:00+00:00); "
        "the reports list them as known and the gate does not count them.",
        "A failure counts as known only when its evidence fingerprint is the baseline's: the same digests of the "
        "artifacts it examined and the same findings.",
    ]


def test_a_larger_poisoned_share_at_a_known_place_is_new(assessment) -> None:
    """The reviewer's case: the label-flip check failed before on 1% and fails now on 30%."""
    worse = _with_result(assessment, FLIP, evidence={"flagged_indices": list(range(540))},
                         metrics={"estimated_poison_fraction": 0.30, "flagged_samples": 540.0})
    rebased, comparison = rebase(worse, Baseline("main.json", assessment))
    assert FLIP not in comparison.known and FLIP in comparison.new
    assert comparison.changed == {FLIP: "the flagged samples changed; the metrics changed"}
    assert rebased.gate.decision == "fail"
    assert any(r.text.startswith("DP-1 at stage train: label-issues on train failed") for r in rebased.gate.failing)
    assert rebased.gate.reasons[-1] == (
        "1 failing result was failing in the baseline too but counts as new because its evidence changed: "
        f"{FLIP} (the flagged samples changed; the metrics changed)."
    )


def test_new_data_at_a_known_place_is_new_even_with_the_same_findings(assessment) -> None:
    inputs = [f.model_copy(update={"sha256": "12" * 32}) if f.path.endswith("train.npz") else f
              for f in assessment.inputs]
    retrained = assessment.model_copy(update={"inputs": inputs})
    comparison = compare(retrained, Baseline("main.json", assessment))
    assert comparison.changed == {FLIP: "artifact train changed"}
    assert FLIP in comparison.new


def test_noise_below_the_fingerprints_precision_stays_known(assessment) -> None:
    result = assessment.result(FLIP)
    jittered = _with_result(assessment, FLIP, metrics={k: v * (1 + 1e-9) for k, v in result.metrics.items()},
                            evidence={"flagged_indices": list(reversed(result.evidence["flagged_indices"]))})
    assert compare(jittered, Baseline("main.json", assessment)).known == (FLIP, "DP-4/evaluate/label-issues/test")


def test_a_check_that_failed_and_now_errs_is_new(assessment) -> None:
    erring = _with_result(assessment, FLIP, status="error", summary="The detector ran out of memory.")
    comparison = compare(erring, Baseline("main.json", assessment))
    assert comparison.changed[FLIP] == "the status changed; the error changed"


def test_a_warning_at_the_gate_level_is_never_suppressed(assessment, make_result) -> None:
    risky_warning = make_result(id="W/train/x", status="warn", risk=assessment.results[0].risk)  # high residual
    current = assessment.model_copy(update={"results": [risky_warning]})
    rebased, _ = rebase(current, Baseline("main.json", current))
    assert rebased.gate.decision == "fail"


def test_a_requirement_without_a_verdict_still_fails_the_rebased_gate(assessment) -> None:
    """The gate fails closed on a requirement that produced no verdict; a baseline does not change that."""
    unassessed = GateReason(why="unassessed", requirement="DP-7", policy="data-poisoning",
                            text="DP-7 (data-poisoning) produced no verdict (spectral-signatures: no stage has a "
                                 "representations artifact); the gate fails closed (risk_appetite.unassessed: fail)")
    gate = assessment.gate.model_copy(update={"failing": [unassessed, *assessment.gate.failing]})
    current = assessment.model_copy(update={"gate": gate})
    rebased, _ = rebase(current, Baseline("main.json", current))  # every failure is known
    assert rebased.gate.decision == "fail"
    assert rebased.gate.failing == [unassessed]


def test_a_baseline_made_under_other_policy_content_is_refused(assessment) -> None:
    """The reviewer's case: a tightened policy must not count its failures as known."""
    tightened = assessment.model_copy(update={"policy_digest": "7a" * 32})
    with pytest.raises(UsageError, match=r"^--baseline: old.json was assessed under other policy content \(digest "
                       r"5e5e5e5e5e5e; now 7a7a7a7a7a7a\): a failure is comparable only under the same requirements"):
        compare(tightened, Baseline("old.json", assessment))


def test_no_baseline_changes_nothing(assessment) -> None:
    assert rebase(assessment, None) == (assessment, None)


def test_a_baseline_of_another_pipeline_is_refused(assessment) -> None:
    other = assessment.model_copy(update={"pipeline": assessment.pipeline.model_copy(update={"name": "fraud"})})
    with pytest.raises(
        UsageError,
        match=r"^--baseline: old.json assesses pipeline 'fraud', not 'digits-classifier'; "
        r"give an earlier assessment of the same pipeline$",
    ):
        compare(assessment, Baseline("old.json", other))


def test_a_baseline_that_is_not_an_assessment_is_a_located_error(tmp_path) -> None:
    bad = tmp_path / "policy.json"
    bad.write_text(json.dumps({"apiVersion": "riskframe/v1", "kind": "Policy"}))
    with pytest.raises(DocumentError, match=r"policy.json: not a riskframe assessment"):
        load_baseline(bad)


def test_markdown_and_html_leave_known_failures_out_and_count_them(assessment, older) -> None:
    rebased, comparison = rebase(assessment, Baseline("main/assessment.json", older))
    text = render_markdown(rebased, baseline=comparison)
    needs_attention = text.split("### Needs attention", 1)[1].split("####", 1)[0]
    table = [line for line in needs_attention.splitlines() if line.startswith("| DP-")]
    assert [row.split(" | ")[0] for row in table] == [
        "| DP-4: Test labels are trustworthy",
        "| DP-2: No class holds out-of-distribution samples",
    ]
    known = text.split("#### Known from the baseline main/assessment.json", 1)[1].split("\n\n", 2)[1]
    assert [row.split(" | ")[0] for row in known.splitlines()[2:]] == ["| DP-1: Training labels are not poisoned (label flips)"]
    assert f"- {comparison.sentence()}\n- {RULE}\n" in text  # among the gate's notes: how many, and why
    page = render_html(rebased, comparison)
    findings = page.split('id="findings"', 1)[1].split("</section>", 1)[0]
    attention, known_table = findings.split("Known from the baseline", 1)
    assert "DP-1: Training labels" not in attention and "DP-4: Test labels" in attention
    assert "DP-1: Training labels" in known_table
    assert comparison.sentence() in page


def test_the_written_assessment_keeps_the_rebased_gate(assessment, tmp_path) -> None:
    comparison = compare(assessment, Baseline("main.json", assessment))
    rebased = apply_baseline(assessment, comparison)
    [path, _] = render_reports(rebased, tmp_path, ["json", "md"], comparison)
    reread = load_assessment(path)
    assert reread.gate.decision == "pass" and len(reread.results) == len(assessment.results)
    # Rebasing again (riskframe report --baseline) gives the same gate, without repeating the reason.
    assert apply_baseline(reread, comparison).gate == reread.gate
    # The assessment read back has the fingerprints it had in memory.
    assert compare(reread, Baseline("main.json", assessment)).known == comparison.known


# ------------------------------------------------ end to end: the reviewer's third-party-model case

PIPELINE = """\
apiVersion: riskframe/v1
kind: Pipeline
metadata: {name: vendor-models, owner: ml-team@example.org, criticality: high}
stages:
  - name: adopt-models
    kind: model-engineering
    trust: untrusted
    artifacts:
      - {name: logreg, type: model, path: models/logreg.pkl, format: pickle}
      - {name: cnn, type: model, path: models/cnn.pkl, format: pickle}
"""
POLICY = """\
apiVersion: riskframe/v1
kind: Policy
metadata: {name: model-files, version: 1.0.0}
risk_appetite: {fail_on: high}
requirements:
  - id: SC-1
    title: Model files cannot run code when they are loaded
    severity: critical
    threats: [AML.T0011.000]
    controls:
      - control: unsafe-model-file-scan
"""


class _Payload:
    """Pickles as a call to os.system; written to disk, never loaded."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.fixture
def vendor(tmp_path, monkeypatch, capsys):
    """A workspace whose cnn.pkl runs a command on load, assessed once as the baseline."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "models" / "logreg.pkl").write_bytes(pickle.dumps({"coef": [0.5, -1.25], "classes": [0, 1]}))
    (tmp_path / "models" / "cnn.pkl").write_bytes(pickle.dumps(_Payload("touch CNN_PAYLOAD_RAN")))

    def assess(out: str, *extra: str) -> tuple[int, str]:
        code = cli.main(["assess", "pipeline.yaml", "--policy", "policy.yaml", "--out", out, "-q", *extra])
        return code, capsys.readouterr().out

    assert assess("main", "--format", "json")[0] == 1  # the baseline: SC-1 fails on cnn.pkl
    return assess


def test_an_unchanged_failure_is_known_end_to_end(vendor, tmp_path) -> None:
    code, out = vendor("pr", "--format", "json,sarif", "--baseline", "main/assessment.json")
    assert code == 0
    assert "1 failing result was already failing in the baseline main/assessment.json" in out
    [known] = json.loads((tmp_path / "pr" / "riskframe.sarif").read_text())["runs"][0]["results"]
    assert known["baselineState"] == "unchanged"  # still visible, as known


def test_a_baseline_under_a_tightened_policy_is_an_error_end_to_end(vendor, tmp_path, capsys) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY.replace("severity: critical", "severity: high"))
    code = cli.main(["assess", "pipeline.yaml", "--policy", "policy.yaml", "--out", "pr", "-q", "--format", "json",
                     "--baseline", "main/assessment.json"])
    assert code == 2
    assert "--baseline: main/assessment.json was assessed under other policy content" in capsys.readouterr().err


def test_a_second_unsafe_model_at_a_known_place_fails_the_gate(vendor, tmp_path) -> None:
    import jsonschema  # here: its import builds URI grammars (a second of CPU) in every worker that collects

    (tmp_path / "models" / "logreg.pkl").write_bytes(pickle.dumps(_Payload("touch LOGREG_PAYLOAD_RAN")))
    code, out = vendor("pr", "--format", "json,sarif,md", "--baseline", "main/assessment.json")
    assert code == 1
    assert ("  - SC-1 at stage adopt-models: unsafe-model-file-scan failed with critical residual risk (1.00), "
            "at or above fail_on: high\n") in out
    assert ("  - 1 failing result was failing in the baseline too but counts as new because its evidence changed: "
            "SC-1/adopt-models/unsafe-model-file-scan (artifact logreg changed; the metrics changed; the failing "
            "files changed).\n") in out
    log = json.loads((tmp_path / "pr" / "riskframe.sarif").read_text())
    schema = json.loads((Path(__file__).parents[1] / "reports" / "fixtures" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(log)
    [alert] = log["runs"][0]["results"]
    assert alert["baselineState"] == "updated"  # the same alert (same partialFingerprints), new evidence
    assert log["runs"][0]["properties"]["baseline"]["changedEvidence"] == 1
    assert len(alert["properties"]["evidenceFingerprint"]) == 64
    assert "counts as new because its evidence changed" in (tmp_path / "pr" / "report.md").read_text()
    assert not any(name.endswith("PAYLOAD_RAN") for name in os.listdir(tmp_path))  # nothing was unpickled
