"""ATLAS Navigator layers: the layer format (a schema written from MITRE's format document, checked
against a layer MITRE publishes), ATLAS ids and tactic short names from the catalog, and the numbers."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from riskframe.catalog import load_catalog
from riskframe.reports import render
from riskframe.reports.navigator import (
    COVERAGE_COLOURS,
    LEVEL_COLOURS,
    coverage_layer,
    risk_layer,
    with_parent_techniques,
)

FIXTURES = Path(__file__).parent / "fixtures" / "navigator"
SCHEMA = json.loads((FIXTURES / "layer-format-4.3.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


@pytest.fixture(scope="module")
def layers(assessment, tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("layers")
    written = render(assessment, out, ["navigator"])
    assert [p.name for p in written] == ["atlas-risk-layer.json", "atlas-coverage-layer.json"]
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in written}


def _errors(layer: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(layer)]


def test_the_schema_accepts_what_mitre_publishes_and_refuses_typos() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    official = json.loads((FIXTURES / "atlas-layer-matrix-excerpt.json").read_text(encoding="utf-8"))
    assert _errors(official) == []
    assert _errors({**official, "technique": []}) == [
        ": Additional properties are not allowed ('technique' was unexpected)"
    ]


def test_both_layers_follow_the_layer_format(layers, real_assessment) -> None:
    for layer in (*layers.values(), risk_layer(real_assessment), coverage_layer(real_assessment)):
        assert _errors(layer) == []
        assert layer["domain"] == "atlas-atlas"
        assert layer["versions"] == {"layer": "4.3", "navigator": "4.6.4"}  # as MITRE's own ATLAS layers
        assert {"name": "atlas_data_version", "value": "5.6.0"} in layer["metadata"]


def test_ids_and_tactic_short_names_are_those_of_atlas(layers) -> None:
    catalog = load_catalog()
    shortnames = {t.id: t.shortname for t in catalog.atlas.tactics}
    for layer in layers.values():
        for entry in layer["techniques"]:
            technique = catalog.technique(entry["techniqueID"])
            assert technique is not None, entry["techniqueID"]
            assert entry["tactic"] in {shortnames[t] for t in technique.tactics}, entry


def test_the_risk_layer_scores_residual_risk_with_the_evidence(layers) -> None:
    risk = layers["atlas-risk-layer.json"]
    by_key = {(t["techniqueID"], t.get("tactic")): t for t in risk["techniques"]}
    poison = by_key[("AML.T0020", "persistence")]
    assert by_key[("AML.T0020", "resource-development")]["score"] == poison["score"] == 72
    assert poison["color"] == LEVEL_COLOURS["high"]
    assert poison["comment"].startswith("Residual risk high (0.72), worst status failed.\nDP-1 / label-issues")
    metadata = [(m["name"], m["value"]) for m in poison["metadata"] if "name" in m]
    assert ("stage", "train") in metadata
    assert ("requirement", "DP-1: Training labels are not poisoned (label flips)") in metadata
    assert {"divider": True} in poison["metadata"]  # two results behind the technique
    assert by_key[("AML.T0019", "resource-development")]["score"] == 12
    assert by_key[("AML.T0059", "impact")]["score"] == 72
    # A technique named by the policy with no verdict is shown, unscored, and its parent unfolded.
    unverified = by_key[("AML.T0010.002", "initial-access")]
    assert "score" not in unverified and unverified["comment"].startswith("The policy names this technique")
    assert by_key[("AML.T0010", "initial-access")] == {
        "techniqueID": "AML.T0010",
        "tactic": "initial-access",
        "showSubtechniques": True,
    }
    assert risk["gradient"]["minValue"] == 0 and risk["gradient"]["maxValue"] == 100
    assert all(0 <= t.get("score", 0) <= 100 for t in risk["techniques"])


def test_annotated_sub_techniques_are_unfolded_under_each_of_their_tactics() -> None:
    entries = [
        {"techniqueID": "AML.T0010", "tactic": "initial-access", "score": 10},
        {"techniqueID": "AML.T0010.002", "tactic": "initial-access", "score": 80},
        {"techniqueID": "AML.T0010.001", "tactic": "initial-access"},
        {"techniqueID": "AML.T0018.000", "tactic": "persistence"},
        {"techniqueID": "AML.T0020"},
    ]
    before = json.dumps(entries)

    out = with_parent_techniques(entries)

    assert [(t["techniqueID"], t.get("tactic"), t.get("showSubtechniques")) for t in out] == [
        ("AML.T0010", "initial-access", True),  # annotated itself: unfolded, not repeated
        ("AML.T0010.002", "initial-access", None),
        ("AML.T0010.001", "initial-access", None),
        ("AML.T0018", "persistence", True),  # added just before its first sub-technique
        ("AML.T0018.000", "persistence", None),
        ("AML.T0020", None, None),
    ]
    assert out[0]["score"] == 10 and json.dumps(entries) == before  # copied, not modified in place


def test_the_coverage_layer_shows_covered_unverified_and_gaps(layers, assessment) -> None:
    coverage = layers["atlas-coverage-layer.json"]
    catalog = load_catalog()
    entries = {(t["techniqueID"], t["tactic"]): t for t in coverage["techniques"]}
    expected = {(t.id, catalog.tactics[tactic].shortname) for t in catalog.atlas.techniques for tactic in t.tactics}
    assert set(entries) == expected  # every technique of the matrix, under each of its tactics
    covered = entries[("AML.T0020", "persistence")]
    assert covered["color"] == COVERAGE_COLOURS["covered"] and covered["score"] == 2
    assert covered["comment"] == "Covered by class-outliers, label-issues."
    assert entries[("AML.T0010.002", "initial-access")]["color"] == COVERAGE_COLOURS["unverified"]
    gap = entries[("AML.T0051", "execution")]
    assert gap["color"] == COVERAGE_COLOURS["gap"] and gap["score"] == 0
    assert gap["comment"] == "No requirement of the policy addresses this technique."
    assert "(3 of 4 named techniques covered)" in coverage["description"]
    assert [item["label"].split(":")[0] for item in coverage["legendItems"]] == ["covered", "unverified", "gap"]


def test_without_a_catalog_the_layers_still_render_with_the_assessment_techniques(assessment, monkeypatch) -> None:
    from riskframe.reports import matrix

    monkeypatch.setattr(matrix, "installed_catalog", lambda: None)  # a broken or missing catalog
    layer = risk_layer(assessment)
    assert _errors(layer) == []
    assert {t["techniqueID"] for t in layer["techniques"]} == {
        "AML.T0020",
        "AML.T0059",
        "AML.T0019",
        "AML.T0010.002",
        "AML.T0010",
    }
    assert all("tactic" not in t for t in layer["techniques"])  # the Navigator applies them to every tactic


def test_a_newer_catalog_is_named_in_the_metadata(assessment) -> None:
    older = assessment.model_copy(update={"tool": assessment.tool.model_copy(update={"catalogs": {"atlas": "5.0.1"}})})
    metadata = {m["name"]: m["value"] for m in risk_layer(older)["metadata"]}
    assert metadata["atlas_data_version"] == "5.0.1" and metadata["matrix_from_atlas_version"] == "5.6.0"
