"""artifact-digest on real files: digests computed independently with hashlib (and coreutils)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.provenance.artifact_digest import ArtifactDigest
from riskframe.errors import NotApplicableError
from riskframe.results import DetectorResult
from riskframe.spec.pipeline import Artifact, Stage


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _folder_sha256(folder: Path) -> str:
    """The documented folder digest, computed here the obvious (whole-file) way."""
    files = sorted((p for p in folder.rglob("*") if p.is_file()),
                   key=lambda p: p.relative_to(folder).as_posix().encode())
    listing = "".join(f"{_sha256(p)}  {p.relative_to(folder).as_posix()}\n" for p in files)
    return hashlib.sha256(listing.encode()).hexdigest()


@pytest.fixture
def stage_dir(tmp_path: Path) -> Path:
    """An ingest stage's files: a real npz dataset, a model file and a folder of documents."""
    (tmp_path / "data").mkdir()
    np.savez(tmp_path / "data" / "raw.npz", X=np.arange(64.0).reshape(8, 8), y=np.arange(8) % 2)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "model.onnx").write_bytes(bytes(range(256)) * 40)
    docs = tmp_path / "docs"
    (docs / "nested").mkdir(parents=True)
    (docs / "card.md").write_text("# Model card\n")
    (docs / "nested" / "licence.txt").write_text("Apache-2.0\n")
    return tmp_path


def _artifacts(stage_dir: Path, pinned: bool = True) -> list[Artifact]:
    declared = {
        "raw": ("dataset", "data/raw.npz", _sha256(stage_dir / "data/raw.npz")),
        "model": ("model", "models/model.onnx", _sha256(stage_dir / "models/model.onnx")),
        "docs": ("files", "docs", _folder_sha256(stage_dir / "docs")),
    }
    return [Artifact(name=name, type=kind, path=path, sha256=digest if pinned else None)  # type: ignore[arg-type]
            for name, (kind, path, digest) in declared.items()]


def _run(stage_dir: Path, artifacts: list[Artifact], **params: object) -> DetectorResult:
    stage = Stage(name="ingest", kind="data-understanding", trust="untrusted", artifacts=artifacts)
    ctx = RunContext(stage=stage, bindings={"files": tuple(artifacts)}, store=ArtifactStore(stage_dir))
    return ArtifactDigest().run(ctx, ArtifactDigest.Params(**params))


def test_every_artifact_matching_its_declared_digest_passes(stage_dir):
    artifacts = _artifacts(stage_dir)

    result = _run(stage_dir, artifacts)

    assert (result.status, result.score) == ("pass", 0.0)
    assert result.summary == "All 3 artifacts match their declared sha256."
    assert result.metrics == {"artifacts": 3.0, "matched": 3.0, "mismatched": 0.0, "missing": 0.0,
                              "unreadable": 0.0, "undeclared": 0.0}
    assert result.evidence["artifacts"] == [
        {"name": a.name, "type": a.type, "path": a.path, "kind": kind, "declared": a.sha256,
         "actual": a.sha256, "status": "match"}
        for a, kind in zip(artifacts, ["file", "file", "folder"], strict=True)
    ]
    assert result.evidence["digests"] == {a.name: a.sha256 for a in artifacts}
    json.dumps(result.model_dump(mode="json"), allow_nan=False)


def test_a_changed_file_fails_with_both_digests_in_the_summary(stage_dir):
    artifacts = _artifacts(stage_dir)
    with np.load(stage_dir / "data/raw.npz") as data:
        X, y = data["X"], data["y"].copy()
    y[3] = 1 - y[3]  # one flipped label is enough
    np.savez(stage_dir / "data/raw.npz", X=X, y=y)
    declared, found = artifacts[0].sha256, _sha256(stage_dir / "data/raw.npz")

    result = _run(stage_dir, artifacts)

    assert (result.status, result.score) == ("fail", 1.0)
    assert result.summary == (f"2 of 3 artifacts match their declared sha256; data/raw.npz does not "
                              f"(declared {declared[:8]}..., found {found[:8]}...).")
    entry = result.evidence["artifacts"][0]
    assert (entry["status"], entry["declared"], entry["actual"]) == ("mismatch", declared, found)
    assert result.evidence["digests"]["raw"] == found
    assert result.metrics["mismatched"] == 1.0


def test_a_file_added_to_a_folder_changes_its_digest(stage_dir):
    artifacts = _artifacts(stage_dir)
    (stage_dir / "docs" / "nested" / "extra.py").write_text("import os\n")

    result = _run(stage_dir, artifacts)

    assert result.status == "fail"
    assert result.evidence["artifacts"][2]["status"] == "mismatch"
    assert result.evidence["digests"]["docs"] == _folder_sha256(stage_dir / "docs")


def test_a_renamed_file_in_a_folder_changes_its_digest(stage_dir):
    artifacts = _artifacts(stage_dir)
    (stage_dir / "docs" / "card.md").rename(stage_dir / "docs" / "card.txt")

    assert _run(stage_dir, artifacts).evidence["artifacts"][2]["status"] == "mismatch"


def test_a_missing_file_fails(stage_dir):
    artifacts = _artifacts(stage_dir)
    (stage_dir / "models" / "model.onnx").unlink()

    result = _run(stage_dir, artifacts)

    assert (result.status, result.score) == ("fail", pytest.approx(1 / 3))
    assert result.summary == "2 of 3 artifacts match their declared sha256; models/model.onnx is missing."
    entry = result.evidence["artifacts"][1]
    assert (entry["status"], entry["actual"], entry["kind"]) == ("missing", None, None)
    assert "model" not in result.evidence["digests"]


def test_a_dangling_symlink_is_missing(stage_dir):
    artifacts = _artifacts(stage_dir)
    target = stage_dir / "models" / "model.onnx"
    target.rename(stage_dir / "models" / "elsewhere.onnx")
    target.symlink_to(stage_dir / "models" / "gone.onnx")

    assert _run(stage_dir, artifacts).evidence["artifacts"][1]["status"] == "missing"


def test_a_symlink_loop_is_missing(stage_dir):
    artifacts = _artifacts(stage_dir)
    model = stage_dir / "models" / "model.onnx"
    model.unlink()
    model.symlink_to(stage_dir / "models" / "loop.onnx")
    (stage_dir / "models" / "loop.onnx").symlink_to(model)

    assert _run(stage_dir, artifacts).evidence["artifacts"][1]["status"] == "missing"


def test_an_unreadable_artifact_fails_with_the_reason(stage_dir, monkeypatch):
    artifacts = _artifacts(stage_dir)
    # A unix socket exists but cannot be opened, even by root (chmod 000 would not stop root).
    (stage_dir / "models" / "model.onnx").unlink()
    monkeypatch.chdir(stage_dir / "models")  # bind a short relative path: socket paths are limited
    with socket.socket(socket.AF_UNIX) as server:
        server.bind("model.onnx")
        result = _run(stage_dir, artifacts)

    assert result.status == "fail"
    entry = result.evidence["artifacts"][1]
    assert (entry["status"], entry["error"]) == ("unreadable", "No such device or address")
    assert result.summary == ("2 of 3 artifacts match their declared sha256; models/model.onnx cannot be "
                              "read (No such device or address).")


def test_an_undeclared_digest_warns_and_reports_the_digest_to_pin(stage_dir):
    artifacts = _artifacts(stage_dir)
    artifacts[1] = artifacts[1].model_copy(update={"sha256": None})
    found = _sha256(stage_dir / "models/model.onnx")

    result = _run(stage_dir, artifacts)

    assert (result.status, result.score) == ("warn", pytest.approx(1 / 3))
    assert result.summary == (f"2 of 3 artifacts match their declared sha256; models/model.onnx declares none "
                              f"(found {found[:8]}...): pin the sha256 recorded in the evidence.")
    entry = result.evidence["artifacts"][1]
    assert (entry["status"], entry["declared"], entry["actual"]) == ("undeclared", None, found)
    assert result.evidence["digests"]["model"] == found


def test_require_digest_fails_an_undeclared_digest(stage_dir):
    artifacts = _artifacts(stage_dir)
    artifacts[1] = artifacts[1].model_copy(update={"sha256": None})

    result = _run(stage_dir, artifacts, require_digest=True)

    assert (result.status, result.score) == ("fail", pytest.approx(1 / 3))
    assert result.evidence["artifacts"][1]["status"] == "undeclared"


def test_nothing_pinned_warns_with_the_lowest_confidence(stage_dir):
    result = _run(stage_dir, _artifacts(stage_dir, pinned=False))

    assert (result.status, result.score) == ("warn", 1.0)
    raw, model, docs = (digest[:8] for digest in result.evidence["digests"].values())
    assert result.summary == (
        f"0 of 3 artifacts match their declared sha256; data/raw.npz declares none (found {raw}...); "
        f"models/model.onnx declares none (found {model}...); docs declares none (found {docs}...): "
        "pin the sha256 recorded in the evidence.")
    assert set(result.evidence["digests"]) == {"raw", "model", "docs"}


def test_failures_are_named_before_missing_pins_and_the_rest_are_counted(stage_dir):
    artifacts = _artifacts(stage_dir, pinned=False)
    (stage_dir / "extra").mkdir()
    for i in range(3):
        (stage_dir / "extra" / f"shard-{i}.bin").write_bytes(b"shard %d" % i)
        artifacts.append(Artifact(name=f"shard-{i}", type="files", path=f"extra/shard-{i}.bin", sha256="f" * 64))

    result = _run(stage_dir, artifacts)

    assert result.status == "fail" and result.score == 1.0
    assert result.summary.startswith("0 of 6 artifacts match their declared sha256; extra/shard-0.bin does not "
                                     "(declared ffffffff..., found ")
    assert result.summary.endswith("; and 3 more (see the evidence): pin the sha256 recorded in the evidence.")
    assert result.summary.count("does not") == 3
    assert [e["status"] for e in result.evidence["artifacts"]] == ["undeclared"] * 3 + ["mismatch"] * 3


def test_the_only_artifact(stage_dir):
    raw = _artifacts(stage_dir)[0]

    assert _run(stage_dir, [raw]).summary == "The only artifact, data/raw.npz, matches its declared sha256."


def test_a_stage_without_artifacts_is_not_applicable(stage_dir):
    with pytest.raises(NotApplicableError, match=r"^stage 'ingest' declares no artifacts to digest$"):
        _run(stage_dir, [])


# Manifests vouch only when pinned ------------------------------------------------------------------


@pytest.fixture
def release(stage_dir: Path) -> Path:
    """A vendor's delivery: a model and the SHA256SUMS shipped beside it."""
    models = stage_dir / "models"
    (models / "SHA256SUMS").write_text(f"{_sha256(models / 'model.onnx')}  model.onnx\n")
    return models


def _vendor_model(release: Path, pin_manifest: bool) -> Artifact:
    pin = _sha256(release / "SHA256SUMS") if pin_manifest else None
    return Artifact(name="model", type="model", path="models/model.onnx", manifest="models/SHA256SUMS",
                    manifest_sha256=pin)


def _swap_model_and_rewrite_the_manifest(release: Path) -> None:
    """The security review's attack: tamper with the model, and make the shipped manifest agree."""
    (release / "model.onnx").write_bytes(b"a model with a payload")
    (release / "SHA256SUMS").write_text(f"{_sha256(release / 'model.onnx')}  model.onnx\n")


def test_a_match_against_an_unpinned_manifest_is_undeclared(stage_dir, release):
    artifact = _vendor_model(release, pin_manifest=False)
    sums = _sha256(release / "SHA256SUMS")

    result = _run(stage_dir, [artifact])

    assert (result.status, result.score) == ("warn", 1.0)
    assert result.summary == (f"0 of 1 artifact match their declared sha256; models/model.onnx matches its manifest "
                              f"models/SHA256SUMS, which is not pinned (found {sums[:8]}...): pin the sha256 "
                              "recorded in the evidence.")
    manifest = result.evidence["artifacts"][0]["manifest"]
    assert (manifest["pinned"], manifest["declared"], manifest["actual"], manifest["matched"]) == (False, None, sums, 1)
    assert _run(stage_dir, [artifact], require_digest=True).status == "fail"


def test_a_tampered_model_with_a_rewritten_unpinned_manifest_is_not_called_a_match(stage_dir, release):
    _swap_model_and_rewrite_the_manifest(release)

    result = _run(stage_dir, [_vendor_model(release, pin_manifest=False)], require_digest=True)

    assert result.status == "fail" and result.evidence["artifacts"][0]["status"] == "undeclared"
    assert "match their declared sha256" not in result.summary.split(";")[1]


def test_a_pinned_manifest_vouches_for_the_artifact(stage_dir, release):
    result = _run(stage_dir, [_vendor_model(release, pin_manifest=True)], require_digest=True)

    assert (result.status, result.score) == ("pass", 0.0)
    assert result.summary == "The only artifact, models/model.onnx, matches its pinned manifest models/SHA256SUMS."
    raw = _artifacts(stage_dir)[0]
    assert _run(stage_dir, [raw, _vendor_model(release, pin_manifest=True)]).summary == (
        "Both artifacts match their declared sha256 or pinned manifest.")


def test_a_pinned_manifest_that_was_rewritten_fails(stage_dir, release):
    artifact = _vendor_model(release, pin_manifest=True)
    _swap_model_and_rewrite_the_manifest(release)
    found = _sha256(release / "SHA256SUMS")

    result = _run(stage_dir, [artifact])

    assert (result.status, result.score) == ("fail", 1.0)
    assert result.summary == (f"0 of 1 artifact match their declared sha256; models/model.onnx's manifest "
                              f"models/SHA256SUMS is not the pinned one (declared {artifact.manifest_sha256[:8]}..., "
                              f"found {found[:8]}...).")
    assert result.evidence["artifacts"][0]["status"] == "manifest-mismatch"


def test_a_manifest_pin_needs_a_manifest():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"`manifest_sha256:` pins a manifest; name it with `manifest:`"):
        Artifact(name="m", type="model", path="m.onnx", manifest_sha256="a" * 64)


def test_the_techniques_are_what_a_digest_check_evidences():
    from riskframe.spec.yaml_source import load_yaml

    control = load_yaml(Path(__file__).resolve().parents[3] / "controls" / "artifact-integrity.yaml").data
    detects = set(control["atlas"]["detects"])

    # change after pinning: supply-chain compromise of data (and of models: they are digested too),
    # published datasets replaced; never poison that was there when the digest was taken
    assert detects <= set(ArtifactDigest.techniques) <= detects | {"AML.T0010.003"}
    assert not {"AML.T0020", "AML.T0058", "AML.T0059"} & set(ArtifactDigest.techniques)


# The digest itself ------------------------------------------------------------------------------


@pytest.mark.skipif(not all(map(shutil.which, ["find", "sort", "xargs", "sha256sum"])),
                    reason="needs GNU find, sort, xargs and sha256sum")
def test_folder_digest_is_reproducible_with_coreutils(tmp_path):
    folder = tmp_path / "dataset"
    for relative, content in [("a.txt", "a"), ("Z.txt", "Z"), ("b/c d.txt", "space"), (".hidden/x", "h"),
                              ("b/é.txt", "accent"), ("b/a/z.bin", "deep"), ("empty", "")]:
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(content)
    artifact = Artifact(name="dataset", type="files", path="dataset")
    ctx_digest = _run(tmp_path, [artifact]).evidence["digests"]["dataset"]

    # The command the docstring promises: listing sorted bytewise, in sha256sum's line format.
    shell = "find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum"
    out = subprocess.run(["sh", "-c", shell], cwd=folder, capture_output=True, text=True, check=True)

    assert ctx_digest == out.stdout.split()[0] == _folder_sha256(folder)


def test_large_files_are_hashed_in_constant_memory(tmp_path):
    big = tmp_path / "weights.bin"
    with big.open("wb") as handle:  # sparse: 64 MiB on paper, nothing on disk
        handle.truncate(64 * 2**20)
    expected = hashlib.sha256(bytes(64 * 2**20)).hexdigest()
    artifact = Artifact(name="weights", type="model", path="weights.bin", sha256=expected)

    tracemalloc.start()
    try:
        result = _run(tmp_path, [artifact])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert result.status == "pass"
    assert peak < 4 * 2**20, f"hashing a 64 MiB file peaked at {peak / 2**20:.1f} MiB"


def test_the_fallback_for_python_before_3_11_streams_too(tmp_path, monkeypatch):
    monkeypatch.delattr(hashlib, "file_digest", raising=False)
    big = tmp_path / "weights.bin"
    with big.open("wb") as handle:
        handle.truncate(16 * 2**20 + 5)
    expected = hashlib.sha256(bytes(16 * 2**20 + 5)).hexdigest()

    tracemalloc.start()
    try:
        result = _run(tmp_path, [Artifact(name="weights", type="model", path="weights.bin", sha256=expected)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert result.status == "pass"
    assert peak < 4 * 2**20


def test_digests_are_computed_once_per_assessment(stage_dir):
    artifacts = _artifacts(stage_dir)
    stage = Stage(name="ingest", kind="data-understanding", artifacts=artifacts)
    store = ArtifactStore(stage_dir)
    ctx = RunContext(stage=stage, bindings={"files": tuple(artifacts)}, store=store)
    first = ArtifactDigest().run(ctx, ArtifactDigest.Params())
    os.remove(stage_dir / "models" / "model.onnx")  # a missing file is still checked afresh

    second = ArtifactDigest().run(ctx, ArtifactDigest.Params())

    assert first.status == "pass"
    assert second.evidence["artifacts"][1]["status"] == "missing"
    assert second.evidence["digests"]["raw"] == first.evidence["digests"]["raw"]
