"""The evidence fingerprint: canonical evidence, what counts as a change, and the same fingerprint
for an assessment in memory and read back from assessment.json (real engine, real files)."""

from __future__ import annotations

import json
import os
import pickle

from hypothesis import given
from hypothesis import strategies as st

from riskframe import assess
from riskframe.assessment import ArtifactInfo, Assessment, ControlResult, LineageEntry, PipelineInfo, StageInfo
from riskframe.compare.fingerprints import Evidence, canonical, evidence_fingerprint, evidence_of
from riskframe.reports import render
from riskframe.reports.json_report import load_assessment

JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=4), inner, max_size=4), max_leaves=20)


@given(JSON_VALUES)
def test_canonical_evidence_survives_a_trip_through_json(value) -> None:
    once = canonical(value)
    assert canonical(json.loads(json.dumps(once))) == once
    assert canonical(once) == once


@given(st.lists(st.integers(0, 2000), max_size=30, unique=True), st.randoms())
def test_the_order_of_flags_and_records_does_not_matter(flags, rng) -> None:
    records = [{"path": f"m{i}.pkl", "outcome": "fail", "findings": [{"global": "posix.system"}]} for i in range(3)]
    evidence = Evidence({"m": "aa"}, {"status": "fail", "flagged": sorted(flags)})
    shuffled_flags, shuffled_records = flags[:], records[:]
    rng.shuffle(shuffled_flags)
    rng.shuffle(shuffled_records)
    assert _finding_of(flags, records) == _finding_of(shuffled_flags, shuffled_records)
    assert evidence.fingerprint == Evidence({"m": "aa"}, {"flagged": sorted(flags), "status": "fail"}).fingerprint


def _finding_of(flags, records):
    from riskframe.compare.fingerprints import _finding

    result = ControlResult.model_construct(status="fail", summary="", metrics={"share": 0.25},
                                           evidence={"flagged_indices": flags, "files": records})
    return _finding(result)


def test_a_structural_findings_title_leaves_the_fingerprint_as_before_schema_1_2() -> None:
    """Assessments before 1.2 wrote no title beside a structural finding's reason."""
    finding = {"global": None, "offset": 9, "severity": "medium", "reason": "truncated pickle: no STOP"}
    before = [{"path": "m.pkl", "outcome": "unsafe", "findings": [finding]}]
    now = [{"path": "m.pkl", "outcome": "unsafe", "findings": [{**finding, "title": "truncated pickle"}]}]
    assert _finding_of([], now) == _finding_of([], before)
    assert _finding_of([], now) != _finding_of([], [{**before[0], "outcome": "unreadable"}])


def test_what_changed_is_named() -> None:
    before = Evidence({"logreg": "aa", "cnn": "bb"},
                      {"status": "fail", "metrics": {"unsafe_files": 1.0}, "failing": {"files": [{"path": "cnn"}]}})
    after = Evidence({"logreg": "cc", "cnn": "bb"},
                     {"status": "fail", "metrics": {"unsafe_files": 2.0},
                      "failing": {"files": [{"path": "cnn"}, {"path": "logreg"}]}})
    assert after.changes_since(before) == "artifact logreg changed; the metrics changed; the failing files changed"
    assert after.changes_since(after) == ""
    assert after.fingerprint != before.fingerprint and len(after.fingerprint) == 64


def test_sound_records_are_not_part_of_the_finding(tmp_path, monkeypatch) -> None:
    """A benign file that passes the scan adds no record; a second unsafe one does."""
    assessment = _assess_models(tmp_path, monkeypatch, {"a.pkl": [1, 2], "b.pkl": "payload"})
    [result] = [r for r in assessment.results if r.status == "fail"]
    evidence = evidence_of(result, assessment)
    assert [f["path"] for f in evidence.finding["failing"]["files"]] == ["models/b.pkl"]
    assert sorted(evidence.artifacts) == ["a", "b"] and all(len(d) == 64 for d in evidence.artifacts.values())


def test_an_assessment_read_back_has_the_same_fingerprints(tmp_path, monkeypatch) -> None:
    assessment = _assess_models(tmp_path, monkeypatch, {"a.pkl": {"w": [0.5, -1.0]}, "b.pkl": "payload"})
    [path] = render(assessment, tmp_path / "out", ["json"])
    reread = load_assessment(path)
    assert [evidence_fingerprint(r, reread) for r in reread.results] == [
        evidence_fingerprint(r, assessment) for r in assessment.results]


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch PAYLOAD_RAN",))


def _assess_models(root, monkeypatch, files):
    """Assess a stage of pickled model files with the bundled unsafe-model-file-scan control."""
    monkeypatch.chdir(root)
    (root / "models").mkdir()
    artifacts = []
    for name, content in files.items():
        (root / "models" / name).write_bytes(pickle.dumps(_Payload() if content == "payload" else content))
        artifacts.append(f"      - {{name: {name.split('.')[0]}, type: model, path: models/{name}, format: pickle}}")
    (root / "pipeline.yaml").write_text(
        "apiVersion: riskframe/v1\nkind: Pipeline\nmetadata: {name: models}\nstages:\n"
        "  - name: adopt\n    kind: model-engineering\n    artifacts:\n" + "\n".join(artifacts) + "\n")
    (root / "policy.yaml").write_text(
        "apiVersion: riskframe/v1\nkind: Policy\nmetadata: {name: p}\nrequirements:\n"
        "  - id: SC-1\n    title: Model files cannot run code\n    severity: critical\n"
        "    controls: [{control: unsafe-model-file-scan}]\n")
    assessment = assess("pipeline.yaml", ["policy.yaml"])
    assert not (root / "PAYLOAD_RAN").exists()
    return assessment


def test_a_run_bound_to_a_model_examines_the_model_it_records(tmp_path, monkeypatch) -> None:
    """The result records its bound model as data; its id (which names the model too) is never read apart."""
    assessment = _assess_models(tmp_path, monkeypatch, {"a.pkl": [1, 2], "b.pkl": [3]})
    [scan] = assessment.results
    bound = scan.model_copy(update={"id": "BD-2/adopt/trigger-screen/a+b", "artifact": "a", "model": "b"})
    assert sorted(evidence_of(bound, assessment).artifacts) == ["a", "b"]
    alone = scan.model_copy(update={"id": "BD-2/adopt/trigger-screen/a+b", "artifact": "a", "model": None})
    assert sorted(evidence_of(alone, assessment).artifacts) == ["a"]


def test_the_representations_of_the_primary_artifact_are_examined_too() -> None:
    """A replaced representations file (what the backdoor screens read) makes a known failure new."""
    def assessment(reps_sha256: str) -> Assessment:
        artifacts = [ArtifactInfo(name="train", type="dataset", path="train.npz", format="npz"),
                     ArtifactInfo(name="train-reps", type="representations", path="reps.npy", format="npy")]
        stage = StageInfo(name="train", kind="training", trust="untrusted", needs=[], artifacts=artifacts)
        lineage = [LineageEntry(artifact="train", stage="train", type="dataset", path="train.npz",
                                sha256="a" * 64, digest_status="undeclared"),
                   LineageEntry(artifact="train-reps", stage="train", type="representations", path="reps.npy",
                                sha256=reps_sha256, digest_status="undeclared", of="train")]
        return Assessment.model_construct(lineage=lineage, inputs=[], pipeline=PipelineInfo(
            name="p", path="pipeline.yaml", owner=None, criticality="high", stages=[stage]))

    screen = ControlResult.model_construct(id="BD-1/train/spectral-signature-screen/train", stage="train",
                                           artifact="train", status="fail", summary="", metrics={}, evidence={})
    before, after = evidence_of(screen, assessment("1" * 64)), evidence_of(screen, assessment("2" * 64))
    assert sorted(before.artifacts) == ["train", "train-reps"]
    assert after.changes_since(before) == "artifact train-reps changed"


def test_a_float_that_rounds_past_the_largest_double_is_none_as_in_json() -> None:
    assert canonical(1.7976e308) is None
    assert canonical(-1.7976e308) is None
    assert canonical(1.7e308) == 1.7e308
