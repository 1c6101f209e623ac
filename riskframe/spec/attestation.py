"""The supplier attestation (``kind: SupplierAttestation``): what a model supplier states, and signs,
about its training data and its model, in the terms of the provenance SLA (docs/sla-template.md).

The supplier signs the file's bytes with an Ed25519 key into a DSSE envelope beside it
(``<file>.dsse.json``, :func:`riskframe.llm.attestation.sign_attestation`); the organisation pins
the supplier's public key in its pipeline. The ``supplier-attestation`` detector checks that the
attestation is there, signed by that key, current, consistent with the artifacts assessed, and that
its terms meet the policy's.

>>> SupplierAttestation.model_json_schema()["title"]
'SupplierAttestation'
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from riskframe.spec.common import Document, Name, Sha256, Spec


class AttestationMetadata(Spec):
    name: Name
    supplier: str = Field(min_length=1)
    contact: str = Field(min_length=1, description="where incidents are reported")
    issued: date
    expires: date

    @model_validator(mode="after")
    def _ordered(self) -> AttestationMetadata:
        if self.expires <= self.issued:
            raise ValueError("expires must come after issued")
        return self


class Source(Spec):
    """Where part of a corpus came from, and under which licence."""

    name: str = Field(min_length=1)
    licence: str = Field(min_length=1, description="an SPDX id, or the contract that grants the right")
    share: float | None = Field(default=None, ge=0.0, le=1.0, description="share of the corpus's records")
    url: str | None = None


class AttestedCorpus(Spec):
    """A corpus the model was trained or fine-tuned on, as delivered."""

    artifact: Name = Field(description="the name of the pipeline artifact holding it")
    sha256: Sha256 | None = Field(default=None, description="digest of the delivered file or folder (riskframe's)")
    manifest_sha256: Sha256 | None = Field(default=None, description="digest of its sha256sum manifest")
    records: int | None = Field(default=None, ge=0)
    sources: list[Source] = Field(min_length=1)
    collected: str = Field(default="", description="when and how it was collected")

    @model_validator(mode="after")
    def _pinned(self) -> AttestedCorpus:
        if self.sha256 is None and self.manifest_sha256 is None:
            raise ValueError("pin the corpus with sha256 or manifest_sha256")
        return self


class Retention(Spec):
    training_data_days: int = Field(ge=0)
    prompt_logs_days: int = Field(ge=0)


class ModelIntegrity(Spec):
    """What the supplier commits to about the model it serves."""

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    weights_sha256: Sha256 | None = None
    signed_weights: bool = Field(description="each release's weights are signed, and the signature published")
    change_notice_days: int = Field(ge=0, description="days of notice before the served model changes")
    poisoning_screens: list[str] = Field(default_factory=list,
                                         description="screens run on the training data (dedup, PII, backdoor...)")


class SupplierAttestation(Document):
    """A supplier's signed statement of provenance and integrity."""

    kind: Literal["SupplierAttestation"]
    metadata: AttestationMetadata
    corpora: list[AttestedCorpus] = Field(min_length=1)
    model: ModelIntegrity
    retention: Retention
    incident_notice_hours: int = Field(ge=0, description="hours within which a data or model incident is notified")
    audit_right: bool = Field(description="the organisation may audit the supplier's data handling")
    subprocessors: list[str] = Field(default_factory=list)
