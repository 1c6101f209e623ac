"""riskframe.oscal: an OSCAL assessment-results document that compliance-trestle loads back, with one
observation per run, one finding per assessed NIST AI RMF subcategory and one risk per failing ATLAS
technique, every reference resolving, and the same UUIDs for the same assessment."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from riskframe import cli
from riskframe.errors import MissingDependencyError
from riskframe.reports import render, unavailable
from riskframe.reports.oscal import FILE_NAME, nist_control_id, nist_statement_id, render_bytes

trestle_ar = pytest.importorskip("trestle.oscal.assessment_results", reason="the oscal extra is not installed")
TrestleError = pytest.importorskip("trestle.common.err").TrestleError
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TINY_PIPELINE = Path(__file__).parent / "fixtures" / "tiny-pipeline"


def _load(path: Path):
    """The file as trestle reads an OSCAL document: the real consumer's validation."""
    return trestle_ar.AssessmentResults.oscal_read(path)


@pytest.fixture(scope="module")
def written(assessment, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("oscal")
    render(assessment, out, ["json", "oscal"])
    return out / FILE_NAME


@pytest.fixture(scope="module")
def document(written) -> dict:
    """The document as trestle loaded it (validated), back in OSCAL's JSON shape."""
    return _plain(_load(written))


def _plain(model) -> dict:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def test_trestle_loads_it_back_with_one_entry_per_run_subcategory_and_failing_technique(assessment, document) -> None:
    [result] = document["results"]
    assessed = [n for n in assessment.nist if n.status != "not-assessed"]
    failing = [t for t in assessment.atlas if t.status in ("fail", "error")]
    assert len(result["observations"]) == len(assessment.results)
    assert len(result["findings"]) == len(assessed) > 0
    assert len(result["risks"]) == len(failing) > 0
    assert tuple(int(p) for p in document["metadata"]["oscal-version"].split(".")) >= (1, 1, 2)


def test_findings_target_the_subcategory_statements_with_the_assessment_verdicts(assessment, document) -> None:
    expected = {nist_statement_id(n.id): n.status for n in assessment.nist if n.status != "not-assessed"}
    findings = document["results"][0]["findings"]
    assert {f["target"]["target-id"]: f["target"]["status"]["state"] for f in findings} == expected
    assert {f["target"]["type"] for f in findings} == {"statement-id"}
    selections = document["results"][0]["reviewed-controls"]["control-selections"][0]["include-controls"]
    selected = {s for c in selections for s in c["statement-ids"]}
    assert set(expected) <= selected  # every finding targets a reviewed statement


def test_every_observation_is_a_test_with_its_evidence_and_artifact_digests(assessment, document) -> None:
    observations = {
        p["value"]: o for o in document["results"][0]["observations"] for p in o["props"] if p["name"] == "result-id"
    }
    assert set(observations) == {r.id for r in assessment.results}
    assert all(o["methods"] == ["TEST"] for o in observations.values())
    flip = next(r for r in assessment.results if "estimated_poison_fraction" in r.metrics)
    observation = observations[flip.id]
    summary, *artifacts = observation["relevant-evidence"]
    assert summary["href"] == f"assessment.json#/results/{assessment.results.index(flip)}"
    assert "estimated_poison_fraction" in summary["description"] and flip.summary in summary["description"]
    first = ", ".join(str(i) for i in flip.evidence["flagged_indices"][:10])
    assert (
        f"- flagged samples: {len(flip.evidence['flagged_indices'])} (most suspicious first: {first}"
        in summary["description"]
    )
    assert {p["name"]: p["value"] for p in observation["props"]}["metric-estimated_poison_fraction"] == (
        f"{flip.metrics['estimated_poison_fraction']:g}"
    )
    resources = {r["uuid"]: r for r in document["back-matter"]["resources"]}
    cited = [resources[e["href"].removeprefix("#")] for e in artifacts]
    assert cited and all(f"stage {flip.stage}" in r["title"] for r in cited)


def test_every_reference_resolves_and_every_uuid_is_unique(written) -> None:
    doc = json.loads(written.read_text(encoding="utf-8"))["assessment-results"]
    result = doc["results"][0]
    uuids = [v for k, v in _walk(doc) if k == "uuid"]
    assert len(uuids) == len(set(uuids)) and all(UUID.match(u) for u in uuids)
    observations = {o["uuid"] for o in result["observations"]}
    risks = {r["uuid"] for r in result["risks"]}
    resources = {r["uuid"] for r in doc["back-matter"]["resources"]}
    assets = result["local-definitions"]["assessment-assets"]
    components = {c["uuid"] for c in result["local-definitions"]["components"] + assets["components"]}
    assert {v for k, v in _walk(doc) if k == "observation-uuid"} <= observations
    assert {v for k, v in _walk(doc) if k == "risk-uuid"} <= risks
    assert {v for k, v in _walk(doc) if k in ("actor-uuid", "subject-uuid", "component-uuid")} <= components
    fragments = {v[1:] for k, v in _walk(doc) if k == "href" and v.startswith("#")}
    assert doc["import-ap"]["href"][1:] in fragments and fragments == resources  # every resource referenced
    files = [link["href"] for r in doc["back-matter"]["resources"] for link in r.get("rlinks", [])
             if not link["href"].startswith("http")]
    assert len(files) == len(set(files))  # each file once


def test_risks_are_open_with_the_residual_risk_and_the_atlas_technique(assessment, document) -> None:
    failing = {t.id: t for t in assessment.atlas if t.status in ("fail", "error")}
    for risk in document["results"][0]["risks"]:
        technique = failing[risk["title"].split(" ")[0]]
        assert risk["status"] == "open"
        assert risk["threat-ids"][0]["id"] == f"https://atlas.mitre.org/techniques/{technique.id}"
        facets = {f["name"]: f["value"] for f in risk["characterizations"][0]["facets"]}
        assert facets["residual-risk"] == f"{round(technique.max_residual, 4):g}"
        assert facets["risk-level"] == technique.level


def test_the_same_assessment_gives_the_same_document_apart_from_timestamps(assessment) -> None:
    later = assessment.model_copy(update={"created_at": "2025-03-01T08:30:00+00:00"})
    first, second = render_bytes(assessment), render_bytes(later)
    assert first == render_bytes(assessment)
    assert _without_times(first) == _without_times(second) and first != second


def test_two_engine_runs_of_one_pipeline_give_the_same_uuids(assess_tiny, tmp_path) -> None:
    first, second = assess_tiny(tmp_path), assess_tiny(tmp_path)  # durations and maybe timestamps differ
    assert _without_times(render_bytes(first)) == _without_times(render_bytes(second))


def test_a_real_assessment_cites_the_mismatched_model_digest(real_assessment, tmp_path) -> None:
    [path] = render(real_assessment, tmp_path, ["oscal"])
    result = _plain(_load(path))["results"][0]
    deploy = next(o for o in result["observations"] if o["title"].startswith("artifact-integrity at stage deploy"))
    summary, model = deploy["relevant-evidence"]
    assert "href" not in summary  # no assessment.json beside it to point into
    assert model["description"].startswith("data/model.bin (artifact model, stage deploy): sha256 b311896a")
    assert model["description"].endswith("does NOT match the digest the pipeline declares.")
    [finding] = result["findings"]
    assert (finding["target"]["target-id"], finding["target"]["status"]["state"]) == ("map-4_smt.1", "not-satisfied")
    assert {r["title"] for r in result["risks"]} == {"AML.T0010.002 Data", "AML.T0019 Publish Poisoned Datasets"}


def test_a_failing_technique_with_no_run_behind_it_is_still_an_open_risk(assessment, tmp_path) -> None:
    # An assessment.json edited by hand (or by an older tool) may point at no run.
    atlas = [t.model_copy(update={"results": []}) if t.status == "fail" else t for t in assessment.atlas]
    path = tmp_path / FILE_NAME
    path.write_bytes(render_bytes(assessment.model_copy(update={"atlas": atlas})))
    risks = _plain(_load(path))["results"][0]["risks"]
    bare = [r for r in risks if "the worst run" not in r["statement"]]
    assert bare and all("related-observations" not in r for r in bare)
    facets = [{f["name"] for f in r["characterizations"][0]["facets"]} for r in bare]
    assert all(names == {"residual-risk", "risk-level"} for names in facets)


def test_trestle_refuses_a_document_that_breaks_the_schema(written, tmp_path) -> None:
    data = json.loads(written.read_text(encoding="utf-8"))
    data["assessment-results"]["results"][0]["findings"][0]["target"]["type"] = "control-id"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(TrestleError):
        _load(broken)


@pytest.mark.parametrize(
    ("subcategory", "control", "statement"),
    [
        ("MEASURE 2.7", "measure-2", "measure-2_smt.7"),
        ("GOVERN 1.1", "govern-1", "govern-1_smt.1"),
        ("MANAGE 4.3", "manage-4", "manage-4_smt.3"),
        ("Custom 9.a", "custom-9", "custom-9.a_smt"),
    ],
)
def test_nist_ids_map_to_oscal_control_and_statement_ids(subcategory, control, statement) -> None:
    assert (nist_control_id(subcategory), nist_statement_id(subcategory)) == (control, statement)


def test_without_trestle_the_format_names_the_extra(assessment, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "trestle", None)  # as if compliance-trestle were not installed
    with pytest.raises(MissingDependencyError, match=r"Install riskframe's 'oscal' extra; in a checkout: pip install -e '\.\[oscal\]'"):
        render(assessment, tmp_path, ["json", "oscal"])
    assert list(unavailable(["json", "oscal"])) == ["oscal"] and unavailable(["json"]) == {}


def test_without_trestle_assess_writes_the_other_formats_and_exits_2(tmp_path, monkeypatch, capsys) -> None:
    shutil.copytree(TINY_PIPELINE, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "trestle", None)
    code = cli.main(["assess", "pipeline.yaml", "-p", "policy.yaml", "-o", "out", "-f", "json,oscal", "-q"])
    captured = capsys.readouterr()
    assert code == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["assessment.json"]
    assert "Gate: FAIL (fail_on: high)" in captured.out
    assert captured.err == (
        "riskframe: error: --format oscal: needs compliance-trestle (Python 3.11 or later), which is not "
        "installed. Install riskframe's 'oscal' extra; in a checkout: pip install -e '.[oscal]'\n"
    )


def _walk(value, key=None):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, key)
    else:
        yield key, value


def _without_times(content: bytes) -> str:
    data = json.loads(content)
    times = {"published", "last-modified", "version", "start", "collected"}
    for key, _ in list(_walk(data)):
        assert key not in ("end", "expires")  # no other timestamp to blank out
    return json.dumps(_blank(data, times), sort_keys=True)


def _blank(value, keys):
    if isinstance(value, dict):
        return {k: ("<time>" if k in keys else _blank(v, keys)) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v, keys) for v in value]
    return value
