"""``--format cyclonedx``: a schema-valid CycloneDX 1.6 BOM of a real assessment, with the models'
model cards, the datasets' digests and DVC origins, and riskframe as the tool."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from riskframe.detectors.provenance.dvc_lock import DvcLock
from riskframe.detectors.registry import builtin_registry
from riskframe.engine.assess import assess
from riskframe.io.digests import sha256_file
from riskframe.reports import FORMATS, render
from riskframe.reports.cyclonedx import build_bom, dumps_bom

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "third-party-model"


def _registry():
    registry = builtin_registry()
    if "dvc-lock" not in registry:  # until the lead lists it in BUILTIN_DETECTORS
        registry.register(DvcLock)
    return registry


@pytest.fixture(scope="module")
def example_assessment(tmp_path_factory):
    """The third-party-model example assessed for digests and DVC provenance (no model loading)."""
    policy = tmp_path_factory.mktemp("policy") / "provenance.yaml"
    policy.write_text(textwrap.dedent("""\
        apiVersion: riskframe/v1
        kind: Policy
        metadata: {name: provenance}
        requirements:
          - id: P-1
            title: Data is the data DVC recorded
            severity: high
            controls: [{control: dvc-lock-integrity}]
            scope: {kinds: [data-understanding, data-preparation]}
          - id: P-2
            title: Third-party artifacts match their pins
            severity: high
            controls: [{control: artifact-integrity, with: {require_digest: true}}]
            scope: {trust: untrusted}
        """))
    return assess(EXAMPLE / "pipeline.yaml", [policy], registry=_registry())


def _errors(text: str) -> list[str]:
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    return [str(e) for e in errors] if errors else []


def test_the_bom_is_valid_cyclonedx_1_6(example_assessment):
    text = dumps_bom(example_assessment).decode()

    assert _errors(text) == []
    bom = json.loads(text)
    assert (bom["bomFormat"], bom["specVersion"], bom["version"]) == ("CycloneDX", "1.6", 1)
    assert bom["metadata"]["tools"]["components"][0]["name"] == "riskframe"
    assert bom["metadata"]["component"]["name"] == "third-party-digits"


def test_the_validator_does_reject_a_broken_bom(example_assessment):
    bom = build_bom(example_assessment)
    bom["components"][0]["type"] = "neural-network"

    assert _errors(json.dumps(bom))


def test_models_are_ml_components_with_a_model_card_naming_their_training_data(example_assessment):
    bom = build_bom(example_assessment)
    by_ref = {c["bom-ref"]: c for c in bom["components"]}

    cnn = by_ref["model:digits-cnn"]
    assert cnn["type"] == "machine-learning-model"
    assert cnn["hashes"] == [{"alg": "SHA-256", "content": sha256_file(EXAMPLE / "models/digits-cnn.pt")}]
    card = cnn["modelCard"]
    assert card["modelParameters"] == {"datasets": [{"ref": "dataset:train"}], "task": "image-classification"}
    assert {"ref": "model:digits-cnn", "dependsOn": ["dataset:train"]} in bom["dependencies"]
    assert card["considerations"]["technicalLimitations"] == [
        "riskframe found no failing, erroring or warning control about this model or its data "
        f"(gate {example_assessment.gate.decision}, risk score {example_assessment.summary.risk_score:g}/100)."]


def test_datasets_are_data_components_with_their_digest_and_dvc_origin(example_assessment):
    bom = build_bom(example_assessment)
    train = next(c for c in bom["components"] if c["bom-ref"] == "dataset:train")

    assert train["type"] == "data"
    assert train["hashes"][0]["content"] == sha256_file(EXAMPLE / "data/prepared/train.npz")
    assert train["data"] == [{"type": "dataset", "name": "train", "contents": {"url": "data/prepared/train.npz"}}]
    properties = {p["name"]: p["value"] for p in train["properties"]}
    assert properties["riskframe:dvc.stage"] == "prepare"
    assert properties["riskframe:dvc.relation"] == "out"
    assert properties["riskframe:dvc.status"] == "match"
    assert properties["riskframe:dvc.cmd"] == "python src/prepare.py"


def test_findings_land_under_the_model_card_considerations(example_assessment, make_result):
    failing = make_result(id="SC-1/adopt-models/unsafe-model-file-scan/digits-cnn", requirement="SC-1",
                          stage="adopt-models", control="unsafe-model-file-scan", artifact="digits-cnn",
                          status="fail", severity="critical", summary="posix.system is called on load.",
                          remediation="Do not load it.", atlas=["AML.T0011.000"])
    assessment = example_assessment.model_copy(update={"results": [*example_assessment.results, failing]})

    card = next(c for c in build_bom(assessment)["components"] if c["bom-ref"] == "model:digits-cnn")["modelCard"]

    assert card["considerations"]["technicalLimitations"] == [
        "FAIL (critical) SC-1 unsafe-model-file-scan at stage adopt-models [AML.T0011.000]: "
        "posix.system is called on load."]
    assert card["considerations"]["ethicalConsiderations"] == [
        {"name": f"SC-1 (critical): {failing.requirement_title}", "mitigationStrategy": "Do not load it."}]
    other = next(c for c in build_bom(assessment)["components"] if c["bom-ref"] == "model:digits-logreg")
    assert "FAIL" not in " ".join(other["modelCard"]["considerations"]["technicalLimitations"])
    assert _errors(json.dumps(build_bom(assessment))) == []


def test_a_stage_wide_finding_goes_to_the_model_its_evidence_names(example_assessment, make_result):
    scan = make_result(id="SC-1/adopt-models/unsafe-model-file-scan", requirement="SC-1", stage="adopt-models",
                       control="unsafe-model-file-scan", artifact=None, status="fail", severity="critical",
                       summary="models/digits-cnn.pt names posix.system (critical).",
                       evidence={"files": [{"artifact": "digits-logreg", "outcome": "pass"},
                                           {"artifact": "digits-cnn", "outcome": "fail"}]})
    assessment = example_assessment.model_copy(update={"results": [*example_assessment.results, scan]})
    cards = {c["bom-ref"]: c["modelCard"] for c in build_bom(assessment)["components"] if "modelCard" in c}

    assert any("posix.system" in line for line in cards["model:digits-cnn"]["considerations"]["technicalLimitations"])
    assert not any("posix.system" in line
                   for line in cards["model:digits-logreg"]["considerations"]["technicalLimitations"])


def test_the_format_is_registered_and_renders_the_same_bytes_twice(example_assessment, tmp_path):
    assert FORMATS["cyclonedx"].files == ("bom.cdx.json",)

    first = render(example_assessment, tmp_path / "a", ["cyclonedx"])[0].read_bytes()
    second = render(example_assessment, tmp_path / "b", ["cyclonedx"])[0].read_bytes()

    assert first == second
