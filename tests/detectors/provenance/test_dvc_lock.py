"""``dvc-lock``: every entry DVC wrote re-computed, every tampering found and named, DVC 2 entries
never passing, an invalid lock failing the run, and the lineage the assessment records."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.provenance._dvc import load_dvc_file
from riskframe.detectors.provenance.dvc_lock import DvcLock, check_entry
from riskframe.detectors.registry import Registry
from riskframe.errors import NotApplicableError
from riskframe.spec.pipeline import Artifact, Stage
from riskframe.testing import parametrize_detector_checks

FIXTURE = Path(__file__).parent / "dvc_lock_fixture"

_registry = Registry()
_registry.register(DvcLock)


@pytest.mark.slow  # the fast lane runs these very cases in tests/detectors/test_contract.py (dvc-lock-*)
@parametrize_detector_checks(_registry)
def test_dvc_lock_honours_the_detector_contract(detector, check, tmp_path):
    check(detector, tmp_path)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the DVC-made project (tests edit it)."""
    shutil.copytree(FIXTURE, tmp_path / "project")
    return tmp_path / "project"


# Digests equal to real DVC's ---------------------------------------------------------------------

def test_every_entry_dvc_wrote_is_recomputed_exactly(project):
    stages = load_dvc_file(project / "dvc.lock", "dvc.lock") + load_dvc_file(project / "data/raw.dvc", "data/raw.dvc")

    checks = [check_entry(e) for s in stages for e in (*s.deps, *s.outs)]

    assert [(c.entry.stage, c.entry.relation, c.entry.path, c.status) for c in checks] == [
        ("prepare", "dep", "data/raw/images", "match"),
        ("prepare", "dep", "data/raw/labels.csv", "match"),
        ("prepare", "dep", "src/prepare.py", "match"),
        ("prepare", "out", "data/prepared", "match"),
        ("prepare", "out", "data/summary.txt", "match"),
        ("raw.dvc", "out", "raw", "match"),
    ]


# The detector on a stage -------------------------------------------------------------------------

def _run(project: Path, *artifacts: Artifact, **params):
    stage = Stage(name="prepare", kind="data-preparation", artifacts=list(artifacts))
    ctx = RunContext(stage=stage, bindings={"files": tuple(artifacts)}, store=ArtifactStore(project))
    return DvcLock().run(ctx, DvcLock.Params(**params))


PREPARED = Artifact(name="prepared", type="dataset", path="data/prepared/cats.txt", format="csv", labels="y")
SUMMARY = Artifact(name="summary", type="files", path="data/summary.txt")


def test_an_artifact_produced_by_a_dvc_stage_is_verified_with_the_stage_deps(project):
    result = _run(project, PREPARED, SUMMARY)

    assert (result.status, result.score) == ("pass", 0.0)
    assert result.summary == "All 5 DVC entries behind stage 'prepare' match dvc.lock."
    assert result.metrics == {"entries": 5.0, "match": 5.0, "mismatch": 0.0, "missing": 0.0, "unreadable": 0.0,
                              "unverifiable": 0.0, "untracked": 0.0}
    lineage = result.evidence["lineage"]
    assert [(o["artifact"], o["dvc_stage"], o["relation"], o["path"]) for o in lineage] == [
        ("prepared", "prepare", "out", "data/prepared"), ("summary", "prepare", "out", "data/summary.txt")]
    assert lineage[0]["cmd"] == "python src/prepare.py"
    assert [(d["path"], d["status"]) for d in lineage[0]["deps"]] == [
        ("data/raw/images", "match"), ("data/raw/labels.csv", "match"), ("src/prepare.py", "match")]


def test_an_edited_dependency_fails_and_is_named(project):
    (project / "data/raw/images/dogs/001.txt").write_bytes(b"cat\n")  # same size, one label swapped

    result = _run(project, PREPARED)

    assert (result.status, result.score) == ("fail", 1.0)
    assert result.summary == ("3 of 4 DVC entries behind stage 'prepare' match; data/raw/images (prepare): md5 "
                              "recorded 5f45101c..., found " + result.evidence["entries"][1]["actual"]["md5"][:8]
                              + "....")
    entry = next(e for e in result.evidence["entries"] if e["path"] == "data/raw/images")
    assert entry["status"] == "mismatch" and entry["recorded"]["size"] == entry["actual"]["size"] == 71


def test_an_added_file_changes_count_and_size_and_a_deleted_one_is_missing(project):
    (project / "data/prepared/birds.txt").write_text("tweet\n")
    (project / "src/prepare.py").unlink()

    result = _run(project, PREPARED)

    assert result.status == "fail"
    problems = {e["path"]: e.get("problem") for e in result.evidence["entries"] if e["status"] != "match"}
    assert problems["data/prepared"].endswith("; size recorded 40, found 46; nfiles recorded 2, found 3")
    assert problems["src/prepare.py"] == "does not exist"


def test_dvc2_entries_without_hash_are_unverifiable_never_passing(project):
    lock = project / "dvc.lock"
    lock.write_text(lock.read_text().replace("      hash: md5\n", ""))

    result = _run(project, SUMMARY)

    assert result.status == "warn" and result.score == 1.0
    assert result.metrics["unverifiable"] == 4.0
    assert "data/summary.txt (prepare): recorded by DVC 2 (no `hash: md5`), whose MD5 normalised text line ends" \
        in result.summary


def test_an_untracked_dataset_fails_and_other_untracked_artifacts_are_listed(project):
    (project / "extra.csv").write_text("x,y\n1,2\n")
    extra = Artifact(name="extra", type="dataset", path="extra.csv", format="csv", labels="y")
    notes = Artifact(name="notes", type="files", path="dvc.yaml")

    result = _run(project, SUMMARY, extra, notes)

    assert result.status == "fail"
    assert "extra.csv is tracked by no DVC entry" in result.summary
    assert [(a["name"], a["tracked"], a["required"]) for a in result.evidence["artifacts"]] == [
        ("summary", True, False), ("extra", False, True), ("notes", False, False)]
    assert _run(project, SUMMARY, extra, require_tracked=()).status == "pass"


def test_a_stage_the_lock_does_not_cover_is_not_applicable(project):
    notes = Artifact(name="notes", type="files", path="dvc.yaml")

    expected = r"^dvc\.lock tracks none of stage 'prepare''s artifacts \(dvc\.yaml\)"
    with pytest.raises(NotApplicableError, match=expected):
        _run(project, notes)


def test_dvc_files_are_read_through_glob_patterns(project):
    raw = Artifact(name="raw", type="files", path="data/raw")

    result = _run(project, raw, lock_files=("dvc.lock", "data/*.dvc"))

    assert result.status == "pass"
    assert result.summary == "All 3 DVC entries behind stage 'prepare' match dvc.lock, data/raw.dvc."
    assert result.evidence["lock_files"] == ["dvc.lock", "data/raw.dvc"]
    assert {(o["dvc_stage"], o["relation"]) for o in result.evidence["lineage"]} == {
        ("prepare", "dep"), ("raw.dvc", "out")}


def test_a_single_entry_is_counted_in_the_singular(project):
    result = _run(project, Artifact(name="raw", type="files", path="data/raw"), lock_files=("data/raw.dvc",))

    assert result.summary == "The one DVC entry behind stage 'prepare' matches data/raw.dvc."


def test_no_lock_file_fails(tmp_path):
    (tmp_path / "data.csv").write_text("y\n1\n")
    data = Artifact(name="data", type="dataset", path="data.csv", format="csv", labels="y")

    result = _run(tmp_path, data)

    assert (result.status, result.score) == ("fail", 1.0)
    assert result.summary == ("No DVC lock file found (dvc.lock, relative to the pipeline file): the provenance of "
                              "stage 'prepare''s artifacts is not recorded.")


def test_an_invalid_lock_fails_the_run_with_the_located_message(project):
    (project / "dvc.lock").write_text(textwrap.dedent("""\
        schema: '2.0'
        stages:
          prepare:
            cmd: python src/prepare.py
            outs:
            - path: data/summary.txt
              md5: 12
        """))

    result = _run(project, SUMMARY)

    assert (result.status, result.score) == ("fail", 1.0)
    assert result.summary == ("The DVC lock file is invalid, so provenance cannot be verified: dvc.lock:7:7: "
                              "stages.prepare.outs[0].md5: must be 32 lower-case hex digits, with '.dir' for a "
                              "directory. Got 12 instead.")
    assert result.evidence["lock_problems"] == [result.summary.split("verified: ")[1].rstrip(".") + "."]
