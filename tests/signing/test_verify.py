"""Verification: a clean signed assessment verifies; any edited byte of any report or input, a
file added to or removed from a folder artifact, another key, a broken envelope all fail, each
named."""

from __future__ import annotations

import base64
import json
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskframe.errors import UsageError
from riskframe.signing import generate_key, load_public_key, verify_assessment, write_key_pair
from riskframe.signing.statement import ENVELOPE_FILE


def _verify(signed, key=None, root=None):
    return verify_assessment(signed.out, key or load_public_key(signed.public), root)


def test_a_signed_assessment_verifies(signed):
    result = _verify(signed)

    assert result.ok and result.problems == []
    assert result.checked == 8
    assert result.predicate["gate"]["decision"] == "pass"


def _signed_files(signed):
    return [signed.out / "assessment.json", signed.out / "report.md", signed.root / "pipeline.yaml",
            signed.root / "policy.yaml", signed.root / "data/train.npz", signed.root / "docs/README.txt",
            signed.root / "docs/cards/model-card.md"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(min_value=0, max_value=6), where=st.floats(min_value=0, max_value=1),
       flip=st.integers(min_value=1, max_value=255))
def test_any_edited_byte_of_a_report_or_an_input_fails_naming_the_file(signed, which, where, flip):
    path = _signed_files(signed)[which]
    original = path.read_bytes()
    data = bytearray(original)
    index = min(int(where * len(data)), len(data) - 1)
    data[index] ^= flip
    path.write_bytes(bytes(data))
    try:
        result = _verify(signed)
    finally:
        path.write_bytes(original)

    assert not result.ok
    assert len(result.problems) == 1
    assert result.problems[0].startswith(f"{path.as_posix()}: edited after signing (signed sha256 ")


def test_a_removed_file_and_a_file_added_to_a_folder_artifact_fail(signed):
    (signed.root / "docs/cards/model-card.md").unlink()
    (signed.root / "docs/cards/injected.md").write_text("# not reviewed\n")
    (signed.out / "report.md").unlink()

    problems = _verify(signed).problems

    root = signed.root.as_posix()
    assert problems[0] == f"{signed.out.as_posix()}/report.md: missing (signed sha256 {problems[0].split()[-1]}"
    assert problems[1].startswith(f"{root}/docs/cards/model-card.md: missing (signed sha256 ")
    assert problems[2] == f"{root}/docs/cards/injected.md: added to the folder artifact {root}/docs after signing"


def test_a_file_in_the_assessment_directory_that_is_not_signed_fails(signed):
    (signed.out / "report.html").write_text("<p>not signed</p>\n")

    problems = _verify(signed).problems

    assert problems == [f"{signed.out.as_posix()}/report.html: not signed: added to the assessment directory "
                        "after signing (or left there by an earlier run)"]


def test_a_signature_by_another_key_fails_naming_both_keys(signed, tmp_path):
    _, other = write_key_pair(generate_key(), tmp_path / "other")
    other_key = load_public_key(other)

    result = _verify(signed, key=other_key)

    signer = load_public_key(signed.public).keyid
    assert result.problems == [f"{signed.envelope}: signed with another key (keyid {signer[:16]}; "
                               f"the given public key is {other_key.keyid[:16]})"]


def _edit_envelope(signed, change):
    data = json.loads(signed.envelope.read_text())
    change(data)
    signed.envelope.write_text(json.dumps(data) + "\n")


def test_an_edited_statement_fails_even_with_the_right_keyid(signed):
    def lie_about_the_gate(data):
        statement = json.loads(base64.b64decode(data["payload"]))
        statement["predicate"]["gate"]["decision"] = "pass"
        statement["predicate"]["summary"]["risk_score"] = 0
        data["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()

    _edit_envelope(signed, lie_about_the_gate)

    assert _verify(signed).problems == [f"{signed.envelope}: the signature does not match the signed statement "
                                        "(the envelope was edited after signing)"]


@pytest.mark.parametrize(("content", "message"), [
    ("", "malformed envelope: expected one JSON envelope on one line, found 0"),
    ("{broken\n", "malformed envelope: not JSON (Expecting property name enclosed in double quotes"),
    ('{"payloadType": "x", "payload": "", "signatures": []}\n',
     "malformed envelope: signatures: the envelope carries no signature"),
    ("{}\n{}\n", "malformed envelope: expected one JSON envelope on one line, found 2"),
])
def test_a_malformed_envelope_fails_with_what_is_wrong(signed, content, message):
    signed.envelope.write_text(content)

    problems = _verify(signed).problems

    assert len(problems) == 1 and problems[0].startswith(f"{signed.envelope}: {message}")


def test_a_missing_envelope_means_the_assessment_is_not_signed(signed):
    signed.envelope.unlink()

    assert _verify(signed).problems == [f"{signed.envelope}: missing: the assessment is not signed "
                                        "(run 'riskframe assess ... --sign KEY')"]


def test_a_missing_directory_is_a_usage_error(signed, tmp_path):
    with pytest.raises(UsageError, match=r"nowhere: no such assessment directory$"):
        verify_assessment(tmp_path / "nowhere", load_public_key(signed.public))


def test_relative_input_paths_are_resolved_against_the_root(tmp_path, monkeypatch, make_signed_project):
    monkeypatch.chdir(tmp_path)
    signed = make_signed_project(tmp_path / "project")
    assert _verify(signed).ok  # the working directory is the root by default

    moved = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "project", moved / "project")
    shutil.rmtree(tmp_path / "project")
    monkeypatch.chdir(moved / "project")  # the names are relative to tmp_path: from here they are missing
    here = moved / "project"
    copy = type(signed)(here, here / "reports", signed.private, here / "keys/signer.pub",
                        here / "reports" / ENVELOPE_FILE)
    problems = _verify(copy).problems
    assert problems[0].startswith("project/pipeline.yaml: missing (signed sha256 ")
    assert _verify(copy, root=moved).problems == []


def test_a_fifo_in_place_of_a_signed_file_or_the_envelope_is_reported_not_read(signed):
    import os

    (signed.out / "report.md").unlink()
    os.mkfifo(signed.out / "report.md")  # hashing it would block forever

    problems = _verify(signed).problems

    assert problems == [f"{signed.out.as_posix()}/report.md: is not a regular file (a FIFO, socket or device) now "
                        f"(signed sha256 {problems[0].split('signed sha256 ')[1]}"]
    (signed.out / ENVELOPE_FILE).unlink()
    os.mkfifo(signed.out / ENVELOPE_FILE)
    assert _verify(signed).problems == [f"{signed.out / ENVELOPE_FILE}: not a regular file (a FIFO, socket or device); "
                                        "not an envelope"]
