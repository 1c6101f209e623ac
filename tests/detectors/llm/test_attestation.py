"""supplier-attestation: present, signed by the pinned key, current, consistent with the corpus, terms met."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.llm.attestation import SupplierAttestationCheck, SupplierAttestationParams
from riskframe.io.digests import sha256_path
from riskframe.spec.pipeline import Artifact, Stage

pytest.importorskip("cryptography")

TODAY = date.today()


def attestation(corpus_sha256: str, **changes: object) -> str:
    fields = {"issued": TODAY - timedelta(days=10), "expires": TODAY + timedelta(days=170), "notice": 48,
              "audit": "true", "signed_weights": "true", "licence": "CC-BY-4.0", **changes}
    return f"""apiVersion: riskframe/v1
kind: SupplierAttestation
metadata: {{name: acme-2026q1, supplier: Acme Models Ltd, contact: security@acme.example, issued: {fields['issued']}, expires: {fields['expires']}}}
corpora:
  - artifact: corpus
    sha256: "{corpus_sha256}"
    records: 2
    sources: [{{name: reviews, licence: "{fields['licence']}", share: 1.0}}]
model: {{name: acme-7b, version: "3.2", signed_weights: {fields['signed_weights']}, change_notice_days: 30}}
retention: {{training_data_days: 365, prompt_logs_days: 30}}
incident_notice_hours: {fields['notice']}
audit_right: {fields['audit']}
"""


@pytest.fixture
def stage(tmp_path):
    from riskframe.llm.attestation import sign_attestation
    from riskframe.signing.keys import generate_key, write_key_pair

    (tmp_path / "corpus.jsonl").write_text(json.dumps({"text": "a review"}) + "\n" + json.dumps({"text": "b"}) + "\n")
    key = generate_key()
    write_key_pair(key, tmp_path / "acme")

    def make(sign: bool = True, **changes: object) -> RunContext:
        (tmp_path / "attestation.yaml").write_text(attestation(sha256_path(tmp_path / "corpus.jsonl"), **changes))
        if sign:
            sign_attestation(tmp_path / "attestation.yaml", key)
        artifacts = (Artifact(name="corpus", type="dataset", path="corpus.jsonl"),
                     Artifact(name="attestation", type="files", path="attestation.yaml", format="supplier-attestation"))
        return RunContext(stage=Stage(name="ingest", kind="data-understanding", artifacts=list(artifacts)),
                          bindings={"files": artifacts}, store=ArtifactStore(tmp_path))

    return make


def run(ctx, **params):
    return SupplierAttestationCheck().run(ctx, SupplierAttestationParams(supplier_key="acme.pub", **params))


def failed(result) -> list[tuple[str, str]]:
    return [(c["check"], c["detail"]) for c in result.evidence["checks"] if c["status"] == "fail"]


def test_a_signed_current_consistent_attestation_passes(stage):
    result = run(stage())

    assert result.status == "pass" and failed(result) == []
    assert result.summary == "Supplier attestation: all 10 checks passed (present, signed, current, consistent, terms)."


def test_edited_after_signing(stage, tmp_path):
    ctx = stage()
    text = (tmp_path / "attestation.yaml").read_text().replace("incident_notice_hours: 48", "incident_notice_hours: 4")
    (tmp_path / "attestation.yaml").write_text(text)

    assert failed(run(ctx)) == [("signed", "attestation.yaml was changed after it was signed")]


def test_unsigned_and_expired_and_terms(stage):
    result = run(stage(sign=False, issued=TODAY - timedelta(days=400), expires=TODAY - timedelta(days=1),
                       notice=240, audit="false", signed_weights="false"))

    assert failed(result) == [
        ("signed", "no signature: attestation.yaml.dsse.json is missing"),
        ("current", f"expired on {TODAY - timedelta(days=1)}"),
        ("terms", "incidents notified within 240 h (at most 72 h allowed)"),
        ("terms", "no audit right"), ("terms", "weights not signed")]
    assert result.summary.startswith("Supplier attestation: 5 of 10 checks failed: signed (§7.2): no signature")


def test_a_corpus_that_is_not_the_one_attested(stage, tmp_path):
    ctx = stage()
    (tmp_path / "corpus.jsonl").write_text(json.dumps({"text": "swapped"}) + "\n")

    assert failed(run(ctx)) == [("consistent", "corpus is not the corpus attested (its sha256 differs)")]


def test_no_attestation(tmp_path):
    artifact = Artifact(name="corpus", type="files", path="c.txt")
    (tmp_path / "c.txt").write_text("x")
    ctx = RunContext(stage=Stage(name="s", kind="data-understanding", artifacts=[artifact]),
                     bindings={"files": (artifact,)}, store=ArtifactStore(tmp_path))
    result = run(ctx)

    assert result.status == "fail"
    assert failed(result) == [("present", "the stage declares no file of format supplier-attestation")]
