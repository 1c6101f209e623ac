"""The third-party-llm example: built from scratch, assessed, failing for exactly what was planted,
with no planted credential anywhere in its reports."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from riskframe.detectors.text._scan import scan
from riskframe.engine.assess import assess
from riskframe.reports import render

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "third-party-llm"

# Checked without importing them: importing Presidio takes seconds, which a collection that deselects
# these slow tests (pytest -m "not slow") should not pay.
pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in ("presidio_analyzer", "datasketch", "cryptography")),
    reason="the text and sign extras (presidio-analyzer, datasketch, cryptography) are not installed")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("example") / "third-party-llm"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("data", "models", "attestation.yaml*", "acme.pub"))
    subprocess.run([sys.executable, str(folder / "make_example.py")], check=True, cwd=folder, timeout=300)
    return folder


@pytest.mark.slow
def test_the_assessment_fails_for_exactly_its_planted_reasons(built, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assessment = assess(built / "pipeline.yaml", [built / "policy.yaml"])

    outcome = {(r.requirement, r.stage, r.control): r.status for r in assessment.results}
    assert outcome == {
        ("LLM-1", "ingest", "corpus-pii-secrets-screen"): "fail",
        ("LLM-2", "ingest", "corpus-near-duplicates"): "fail",
        ("LLM-3", "ingest", "corpus-denylist-screen"): "fail",
        ("LLM-4", "ingest", "text-backdoor-screen"): "fail",
        ("LLM-8", "ingest", "supplier-attestation-signed"): "pass",
        ("LLM-8", "ingest", "supplier-attestation-consistent"): "pass",
        ("LLM-8", "ingest", "supplier-attestation-terms"): "fail",
        ("LLM-5", "evaluate", "llm-memorisation-probe"): "fail",
        ("LLM-6", "evaluate", "llm-adversarial-prompts"): "pass",
        ("LLM-7", "evaluate", "llm-garak-red-team"): "fail",
        ("LLM-5", "monitor", "llm-memorisation-probe"): "fail",
        ("LLM-6", "monitor", "llm-adversarial-prompts"): "pass",
        ("LLM-7", "monitor", "llm-garak-red-team"): "not_applicable",
    }
    by_control = {(r.control, r.stage): r for r in assessment.results}
    pii = by_control["corpus-pii-secrets-screen", "ingest"]
    assert {t: v["findings"] for t, v in pii.evidence["types"].items() if v["findings"]} == {
        "CREDIT_CARD": 1, "IBAN_CODE": 1, "US_SSN": 1, "EMAIL_ADDRESS": 1, "AWS_ACCESS_KEY_ID": 1,
        "AWS_SECRET_ACCESS_KEY": 2, "GITHUB_TOKEN": 1, "PRIVATE_KEY": 1}
    assert by_control["corpus-near-duplicates", "ingest"].evidence["largest_clusters"][0]["size"] == 25
    (trigger,) = by_control["text-backdoor-screen", "ingest"].evidence["triggers"]
    assert (trigger["trigger"], trigger["target_label"], trigger["carrying_records"]) == (
        "i watched this 3d movie", "positive", 40)
    (canary,) = by_control["llm-memorisation-probe", "evaluate"].evidence["canaries"]
    assert (canary["name"], canary["extracted"], canary["rank"]) == ("vault-code", True, 1.0)
    terms = by_control["supplier-attestation-terms", "ingest"]
    assert terms.summary == ("Supplier attestation: 1 of 7 checks failed: terms (§2.3, 3-5, 6.2-6.3): incidents "
                             "notified within 120 h (at most 72 h allowed).")

    written = render(assessment, tmp_path / "reports", ["json", "md", "html"])
    for path in written:  # the reports show the findings, and no credential or personal data of the corpus
        text = path.read_text(encoding="utf-8")
        assert "i watched this 3d movie" in text and "vault-code" in text
        leaked = [f for f in scan(text) if f.type in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN",
                                                      "PRIVATE_KEY", "CREDIT_CARD", "IBAN_CODE", "US_SSN")]
        assert leaked == [], (path.name, [f.type for f in leaked])


@pytest.mark.slow
def test_history_lists_each_probe_run_over_scheduled_assessments(built, tmp_path, monkeypatch, capsys):
    from riskframe import cli
    from riskframe.reports.json_report import dumps_assessment

    monkeypatch.chdir(tmp_path)
    assessment = assess(built / "pipeline.yaml", [built / "policy.yaml"])
    for day in ("2030-01-01", "2030-01-08"):  # two weekly runs of the monitoring job
        folder = tmp_path / "runs" / day
        folder.mkdir(parents=True)
        dated = assessment.model_copy(update={"created_at": f"{day}T02:00:00+00:00"})
        (folder / "assessment.json").write_bytes(dumps_assessment(dated))

    assert cli.main(["history", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out.splitlines()
    probes = out[out.index("  probes (a model's behaviour over time):") + 1:]
    assert probes == [
        "    evaluate/llm-adversarial-prompts: 2 runs, last 2030-01-08T02:00:00+00:00 pass; pass pass",
        "    evaluate/llm-garak-red-team: 2 runs, last 2030-01-08T02:00:00+00:00 fail; fail fail",
        "    evaluate/llm-memorisation-probe: 2 runs, last 2030-01-08T02:00:00+00:00 fail; fail fail",
        "    monitor/llm-adversarial-prompts: 2 runs, last 2030-01-08T02:00:00+00:00 pass; pass pass",
        "    monitor/llm-memorisation-probe: 2 runs, last 2030-01-08T02:00:00+00:00 fail; fail fail"]
