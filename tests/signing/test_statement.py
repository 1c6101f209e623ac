"""What is signed: an in-toto Statement v1 over the reports and every input, carrying the verdict."""

from __future__ import annotations

import base64
import json

import pytest

from riskframe.errors import UsageError
from riskframe.io.digests import sha256_file
from riskframe.signing import generate_key, sign_assessment
from riskframe.signing.statement import PREDICATE_TYPE, InputChangedError, build_statement


def _statement(signed):
    envelope = json.loads(signed.envelope.read_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    return json.loads(base64.b64decode(envelope["payload"]))


def test_the_statement_lists_reports_then_every_input_file(signed):
    statement = _statement(signed)

    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == PREDICATE_TYPE == "https://riskframe.dev/attestation/assessment/v1"
    names = [s["name"] for s in statement["subject"]]
    root = signed.root.as_posix()
    assert names[:2] == ["assessment.json", "report.md"]
    assert names[2:] == [f"{root}/pipeline.yaml", f"{root}/policy.yaml", *names[4:5], f"{root}/data/train.npz",
                         f"{root}/docs/README.txt", f"{root}/docs/cards/model-card.md"]
    assert names[4].endswith("controls/artifact-integrity.yaml")
    roles = [s["annotations"]["role"] for s in statement["subject"]]
    assert roles == ["report", "report", "pipeline", "policy", "control", "artifact", "artifact", "artifact"]
    for subject in statement["subject"][:2]:
        assert subject["digest"] == {"sha256": sha256_file(signed.out / subject["name"])}
    assert statement["subject"][5]["digest"]["sha256"] == sha256_file(signed.root / "data/train.npz")


def test_the_predicate_carries_the_gate_the_summary_and_the_folders(signed):
    predicate = _statement(signed)["predicate"]
    assessment = json.loads((signed.out / "assessment.json").read_text())

    assert predicate["gate"] == assessment["gate"] and predicate["gate"]["decision"] == "pass"
    assert predicate["summary"] == assessment["summary"]
    assert predicate["createdAt"] == assessment["created_at"]
    assert predicate["pipeline"]["name"] == "signed-demo"
    assert predicate["reports"] == ["assessment.json", "report.md"]
    docs = next(i for i in assessment["inputs"] if i["path"].endswith("/docs"))
    assert predicate["folders"] == [{"name": docs["path"], "digest": {"sha256": docs["sha256"]}, "files": 2}]


def test_an_input_that_changed_during_the_run_is_not_signed(signed):
    from riskframe.reports.json_report import load_assessment

    assessment = load_assessment(signed.out / "assessment.json")
    (signed.root / "data/train.npz").write_bytes(b"swapped after it was assessed")

    with pytest.raises(InputChangedError, match=r"data/train\.npz changed while it was being assessed .*"
                                                r"nothing was signed: assess again"):
        build_statement(assessment, signed.out, ["assessment.json"])


def test_signing_needs_the_json_report(signed):
    from riskframe.reports.json_report import load_assessment

    assessment = load_assessment(signed.out / "assessment.json")
    with pytest.raises(UsageError, match=r"^--sign needs the json format"):
        sign_assessment(assessment, signed.out, [signed.out / "report.md"], generate_key())
