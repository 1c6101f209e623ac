"""The files a security review walked past the scan (issue 11): every one is unsafe, in the API,
the command line and the detector, and every payload really runs when its own loader reads it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.scanning.corpus import Sample
from devtools.scanning.hostile import LOADERS, build_hostile
from riskframe import cli
from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.provenance.model_scan import ModelFileScan, ModelFileScanParams
from riskframe.scanning import scan_file, scan_path
from riskframe.spec.pipeline import Artifact, Stage

FAMILIES = {"npy-object-spelling", "joblib-duplicate-key", "joblib-shadowed-method", "joblib-frame",
            "joblib-as-pickle", "two-zips", "first-opcode", "looks-like", "legacy-torch-tar"}


@dataclass(frozen=True)
class Hostile:
    folder: Path
    ran: Path
    samples: list[tuple[Sample, str]]


@pytest.fixture(scope="session")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    root = tmp_path_factory.mktemp("hostile")
    return Hostile(root / "files", root / "ran", build_hostile(root / "files", root / "ran"))


def test_the_corpus_covers_every_class_the_review_found(hostile):
    assert {sample.family for sample, _ in hostile.samples} == FAMILIES
    first = {sample.name for sample, _ in hostile.samples if sample.family == "first-opcode"}
    assert first == {f"first-{op}.pkl" for op in ("frame", "newtrue", "newfalse", "long1", "long4", "short-binunicode",
                                                  "binunicode8", "binbytes8", "empty-set", "bytearray8")}
    assert {loader for _, loader in hostile.samples} == set(LOADERS)


def test_every_hostile_file_is_unsafe_with_its_findings_and_nothing_runs(hostile):
    missed = {}
    for sample, _ in hostile.samples:
        scan = scan_file(hostile.folder / sample.name)
        found = {(f.global_, f.severity) for f in scan.findings}
        if scan.verdict != "unsafe" or not set(sample.expect) <= found:
            missed[sample.name] = (scan.verdict, sorted(map(str, found)))

    assert not missed
    assert not list(hostile.ran.iterdir())


@pytest.mark.parametrize("name, reason", [
    ("two-zips.pt", "not exactly one zip archive: the central directory ends at byte"),
    ("joblib-frame.joblib", "it is built inside a frame, and joblib reads the array after the frame"),
    ("joblib-shadowed-method.joblib", "its state sets 'safe_get_numpy_array_alignment_bytes', which joblib does not"),
])
def test_what_the_scan_cannot_follow_is_named(hostile, name, reason):
    reasons = [f.reason for f in scan_file(hostile.folder / name).findings if f.global_ is None]

    assert any(reason in r for r in reasons), reasons


def test_scan_models_exits_1_for_the_hostile_folder_and_names_every_file(hostile, capsys):
    assert cli.main(["scan-models", str(hostile.folder), "--format", "json"]) == 1

    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["unsafe"] == report["summary"]["files"] == len(hostile.samples)


def test_the_detector_fails_on_each_inside_a_files_artifact(hostile):
    artifact = Artifact(name="vendor", type="files", path="files")
    stage = Stage(name="adopt", kind="model-engineering", trust="untrusted", artifacts=[artifact])
    ctx = RunContext(stage=stage, bindings={"files": (artifact,)}, store=ArtifactStore(hostile.folder.parent))

    result = ModelFileScan().run(ctx, ModelFileScanParams())

    assert result.status == "fail"
    assert {f["outcome"] for f in result.evidence["files"]} == {"fail"}


@pytest.mark.slow
def test_every_payload_really_runs_when_its_loader_reads_it(hostile, tmp_path):
    """The corpus cannot go stale: each file, read by its real loader in a throwaway process,
    creates its canary (numpy allow_pickle, joblib.load, pickle.load, torch.load weights_only=False)."""
    ran = tmp_path / "ran"
    samples = build_hostile(tmp_path / "files", ran)
    steps = []
    for sample, loader in samples:
        body = textwrap.indent(LOADERS[loader], "    ")
        steps.append(f"try:\n    path = {str(tmp_path / 'files' / sample.name)!r}\n{body}\n"
                     "except Exception:\n    pass  # many loaders fail once the payload has run\n")
    script = tmp_path / "load_all.py"
    script.write_text("import warnings\nwarnings.simplefilter('ignore')\n" + "".join(steps))

    subprocess.run([sys.executable, str(script)], cwd=tmp_path, check=True, timeout=300, capture_output=True)

    assert sorted(p.name for p in ran.iterdir()) == sorted(sample.name for sample, _ in samples)
    assert all(scan.verdict == "unsafe" for scan in scan_path(tmp_path / "files"))
