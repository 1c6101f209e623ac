"""sha256sum manifests: read as coreutils writes them, and checked by ``artifact-digest``."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.provenance.artifact_digest import ArtifactDigest
from riskframe.errors import DocumentError
from riskframe.signing.manifest import check_manifest, parse_manifest
from riskframe.spec.pipeline import Artifact, Stage


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def release(tmp_path):
    """A model release folder with the publisher's SHA256SUMS, written by coreutils when present."""
    folder = tmp_path / "release"
    (folder / "tokenizer").mkdir(parents=True)
    files = {"weights.bin": b"\x00\x01weights", "config.json": b'{"layers": 2}\n', "tokenizer/vocab.txt": b"a\nb\n"}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    if shutil.which("sha256sum"):
        listing = subprocess.run(["sha256sum", "--binary", *files], cwd=folder, capture_output=True, check=True).stdout
        (folder / "SHA256SUMS").write_bytes(listing)
    else:
        (folder / "SHA256SUMS").write_text("".join(f"{_sha(d)} *{n}\n" for n, d in files.items()))
    return folder


def test_parse_reads_text_and_binary_modes_comments_and_escaped_names():
    digest = _sha(b"x")
    text = f"# published 2024-05-01\n{digest}  a.bin\n\n{digest} *dir/b.bin\n\\{digest}  c\\\\d\\nname\n"

    assert parse_manifest(text) == {"a.bin": digest, "dir/b.bin": digest, "c\\d\nname": digest}


def test_parse_locates_every_bad_line():
    digest = _sha(b"x")
    with pytest.raises(DocumentError) as excinfo:
        parse_manifest(f"{digest}  a\nnot a line\n{digest[:-1]}  b\n{digest}  a\n", "SHA256SUMS")

    assert str(excinfo.value).splitlines() == [
        "SHA256SUMS:2:1: not a sha256sum line: expected '<64 hex digits>  <path>' (as 'sha256sum FILE' prints)",
        "SHA256SUMS:3:1: not a sha256sum line: expected '<64 hex digits>  <path>' (as 'sha256sum FILE' prints)",
        "SHA256SUMS:4:67: 'a' is listed twice",
    ]


def test_a_release_matching_its_manifest_passes(release):
    result = check_manifest(release / "SHA256SUMS", release, "release/SHA256SUMS")

    assert result.ok and (result.listed, result.matched) == (3, 3)


def test_changed_missing_and_unlisted_files_are_each_named(release):
    (release / "weights.bin").write_bytes(b"\x00\x01weightZ")
    (release / "tokenizer/vocab.txt").unlink()
    (release / "payload.py").write_text("import os\n")

    result = check_manifest(release / "SHA256SUMS", release, "release/SHA256SUMS")

    assert not result.ok
    assert [m["path"] for m in result.mismatched] == ["weights.bin"]
    assert result.mismatched[0]["actual"] == _sha(b"\x00\x01weightZ")
    assert (result.missing, result.extra) == (["tokenizer/vocab.txt"], ["payload.py"])
    assert result.phrase() == ("3 files listed in release/SHA256SUMS: 1 changed (weights.bin), 1 missing "
                               "(tokenizer/vocab.txt), 1 not listed (payload.py)")


def test_a_file_artifact_is_checked_against_its_own_line_only(release):
    (release / "config.json").write_text("changed")

    result = check_manifest(release / "SHA256SUMS", release / "weights.bin", "release/SHA256SUMS")

    assert result.ok and result.listed == 1


def test_an_unreadable_or_malformed_manifest_is_an_error(release):
    assert check_manifest(release / "NOPE", release, "NOPE").error == "does not exist"
    (release / "SHA256SUMS").write_text("garbage\n")
    assert check_manifest(release / "SHA256SUMS", release, "SHA256SUMS").error == (
        "is malformed: SHA256SUMS:1:1: not a sha256sum line: expected '<64 hex digits>  <path>' "
        "(as 'sha256sum FILE' prints)")


def _digest_run(base, *artifacts):
    stage = Stage(name="adopt", kind="model-engineering", artifacts=list(artifacts))
    ctx = RunContext(stage=stage, bindings={"files": tuple(artifacts)}, store=ArtifactStore(base))
    return ArtifactDigest().run(ctx, ArtifactDigest.Params(require_digest=True))


def test_artifact_digest_accepts_a_pinned_manifest_in_place_of_a_pin(release):
    pin = hashlib.sha256((release / "SHA256SUMS").read_bytes()).hexdigest()
    artifact = Artifact(name="release", type="files", path="release", manifest="release/SHA256SUMS",
                        manifest_sha256=pin)

    result = _digest_run(release.parent, artifact)

    assert (result.status, result.summary) == (
        "pass", "The only artifact, release, matches its pinned manifest release/SHA256SUMS.")
    assert result.evidence["artifacts"][0]["manifest"]["matched"] == 3
    assert result.metrics["manifest_mismatched"] == 0.0


def test_artifact_digest_counts_an_unpinned_manifest_as_no_pin(release):
    artifact = Artifact(name="release", type="files", path="release", manifest="release/SHA256SUMS")

    result = _digest_run(release.parent, artifact)  # require_digest: true

    assert result.status == "fail" and result.evidence["artifacts"][0]["status"] == "undeclared"
    assert "release matches its manifest release/SHA256SUMS, which is not pinned" in result.summary


def test_artifact_digest_fails_an_artifact_that_breaks_its_manifest(release):
    (release / "payload.py").write_text("import os\n")
    artifact = Artifact(name="release", type="files", path="release", manifest="release/SHA256SUMS")

    result = _digest_run(release.parent, artifact)

    assert (result.status, result.score) == ("fail", 1.0)
    assert result.summary == ("0 of 1 artifact match their declared sha256; release does not match its manifest "
                              "(3 files listed in release/SHA256SUMS: 1 not listed (payload.py)).")
    assert result.evidence["artifacts"][0]["status"] == "manifest-mismatch"
