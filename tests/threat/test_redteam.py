"""The red-team protocol generated from the third-party-llm example's threat model (no data needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskframe.threat import build_threat_model
from riskframe.threat.model import ThreatModel
from riskframe.threat.redteam import render_redteam
from riskframe.threat.report import FORMATS, write_threat_model

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "third-party-llm"


@pytest.fixture(scope="module")
def model() -> ThreatModel:
    return build_threat_model(EXAMPLE / "pipeline.yaml", [EXAMPLE / "policy.yaml"],
                              created_at="2030-01-01T00:00:00+00:00")


@pytest.fixture(scope="module")
def protocol(model) -> str:
    return render_redteam(model)


def test_targets_owner_and_monitoring(protocol):
    assert protocol.startswith("# Red-team protocol: third-party-llm\n")
    assert "- Owner of the system and of this protocol: ml-platform&#64;\u200dexample.org." in protocol
    assert "- stage `evaluate` (model-evaluation, untrusted): `acme-tiny` (endpoint)" in protocol
    assert "- stage `monitor` (monitoring, trusted): `acme-tiny-production` (endpoint)" in protocol
    assert "at every scheduled assessment of the monitoring stage (`monitor`)" in protocol


def test_each_llm_technique_with_its_controls_and_garak_probes(protocol):
    evaluate = protocol.split("### `evaluate`")[1].split("### `monitor`")[0]
    rows = {line.split(" | ")[0].lstrip("| ").split(" ")[0]: line for line in evaluate.splitlines()
            if line.startswith("| AML.")}
    assert "`llm-memorisation-probe`, `llm-garak-red-team`" in rows["AML.T0057"]
    assert "`leakreplay`" in rows["AML.T0057"] and "`dan`" in rows["AML.T0054"]
    assert "`llm-adversarial-prompts`" in rows["AML.T0018.000"]
    assert rows["AML.T0056"].endswith("| - | `sysprompt_extraction` |")  # garak tests it, no riskframe control
    assert "AML.T0052" not in rows  # phishing: opened by the stage's kind, not a red-team target
    assert "other techniques apply here through the stage's kind or trust; the threat model lists them." in evaluate


def test_it_is_a_renderer_of_the_threat_model_written_with_the_other_formats(model, protocol, tmp_path):
    assert FORMATS["redteam"].files == ("red-team-protocol.md",)
    written = write_threat_model(model, tmp_path, ["json", "redteam"])
    assert [p.name for p in written] == ["threat-model.json", "red-team-protocol.md"]
    assert (tmp_path / "red-team-protocol.md").read_text(encoding="utf-8") == protocol


SERVED = """\
apiVersion: riskframe/v1
kind: Pipeline
metadata: {name: served}
stages:
  - name: serve
    kind: deployment
    artifacts:
      - {name: classifier, type: model, path: model.pkl}
      - {name: model-card, type: files, path: card.md}
"""


def _without_artifact_refs(model: ThreatModel) -> ThreatModel:
    """The same threat model with each reason's text kept and its artifact record dropped."""
    stages = [stage.model_copy(update={"techniques": [
        t.model_copy(update={"reasons": [r.model_copy(update={"artifact": None}) for r in t.reasons]})
        for t in stage.techniques]}) for stage in model.stages]
    return model.model_copy(update={"stages": stages})


def test_a_technique_the_model_file_opens_is_listed_from_the_reason_s_artifact_record(tmp_path):
    (tmp_path / "pipeline.yaml").write_text(SERVED, encoding="utf-8")
    model = build_threat_model(tmp_path / "pipeline.yaml", created_at="2030-01-01T00:00:00+00:00")
    unsafe = next(t for t in model.stage("serve").techniques if t.id == "AML.T0011.000")
    assert [(r.artifact.type, r.artifact.name, r.text) for r in unsafe.reasons if r.artifact] == [
        ("model", "classifier", "model classifier: unpickling the model runs whatever code the file names: a "
                                "crafted file runs on load")]
    row = "| AML.T0011.000 Unsafe AI Artifacts | medium | monthly | manual: nothing runs it | - |"

    assert row in render_redteam(model).splitlines()
    # The text alone (as a threat-model.json without the record would give) opens nothing.
    assert row not in render_redteam(_without_artifact_refs(model)).splitlines()
