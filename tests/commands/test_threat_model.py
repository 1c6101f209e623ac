"""``riskframe threat-model``: files written, the terminal summary, the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from riskframe import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples/poisoned-digits/pipeline.yaml"
BASELINE = ROOT / "policies/data-poisoning.yaml"


def test_the_example_threat_model(tmp_path, capsys):
    out = tmp_path / "tm"
    assert cli.main(["threat-model", str(EXAMPLE), "--policy", str(BASELINE), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("Threat model of digits-classifier: 52 ATLAS techniques apply, 4 addressed by the policy, "
                        "48 gaps")
    assert lines[1] == "Attack paths: 1; the riskiest:"
    assert lines[2].startswith("  - ingest → deploy: high (0.64): ") and lines[2].endswith(" -> Impact")
    assert lines[3].startswith("Worst gaps: AML.T0010 AI Supply Chain Compromise (realized, 0.64)")
    assert sorted(p.name for p in out.iterdir()) == ["threat-model-layer.json", "threat-model.html",
                                                     "threat-model.json", "threat-model.md"]
    assert json.loads((out / "threat-model.json").read_text())["pipeline"]["name"] == "digits-classifier"


def test_fail_on_gates_on_the_riskiest_path(tmp_path, capsys):
    args = ["threat-model", str(EXAMPLE), "-p", str(BASELINE), "--out", str(tmp_path), "--format", "json"]
    assert cli.main([*args, "--fail-on", "high"]) == 1
    assert cli.main([*args, "--fail-on", "critical"]) == 0
    # Unaddressed techniques assumed critical: the riskiest path becomes critical.
    assert cli.main([*args, "--assume-severity", "critical", "--fail-on", "critical"]) == 1
    assert "Worst gaps: AML.T0010 AI Supply Chain Compromise (realized, 0.85)" in capsys.readouterr().out


def test_mistakes_are_located_or_one_line_and_exit_2(tmp_path, capsys):
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(EXAMPLE.read_text().replace("needs: [train]", "needs: [trian]"))
    assert cli.main(["threat-model", str(pipeline), "--out", str(tmp_path)]) == 2
    line = next(n for n, text in enumerate(pipeline.read_text().splitlines(), 1) if "trian" in text)
    assert capsys.readouterr().err.strip() == (
        f"{pipeline}:{line}:13: stages[3].needs[0]: no stage named 'trian' (did you mean 'train'?)")
    assert cli.main(["threat-model", str(EXAMPLE), "--format", "pdf"]) == 2
    assert capsys.readouterr().err.strip() == ("--format: unknown format 'pdf'; known formats: json, md, html, "
                                               "navigator")
