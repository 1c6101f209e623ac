"""``supplier-attestation``: the supplier's signed provenance and integrity statement, checked.

A stage declares the supplier's attestation (``kind: SupplierAttestation``,
:mod:`riskframe.spec.attestation`) as a ``files`` artifact of ``format: supplier-attestation``,
signed into ``<file>.dsse.json`` beside it (:mod:`riskframe.llm.attestation`). Each check maps to a
clause of the provenance SLA (docs/sla-template.md):

``present`` (§7.1)
    the stage holds an attestation, and it is a valid document;
``signed`` (§7.2)
    its envelope verifies against the supplier's public key (``supplier_key``, a PEM file
    relative to the pipeline's folder; pin it with an artifact's ``sha256:``) over its exact bytes;
``current`` (§7.3)
    today lies between its ``issued`` and ``expires`` dates;
``consistent`` (§2.2, §6.1)
    every corpus it attests is an artifact of the stage whose digest (or manifest's digest) is the
    attested one, and an attested weights digest matches a model artifact of the stage;
``terms`` (§2.3, §3, §4, §5, §6.2-6.3)
    every source names a licence, incidents are notified within ``max_incident_notice_hours``,
    training data is kept at most ``max_retention_days`` (when set), the organisation has an audit
    right, weights are signed, and changes to the served model come with ``min_change_notice_days``.

Outcome: ``fail`` when a check fails, ``pass`` otherwise. Score: the share of checks failed.
(ATLAS AML.T0010 AI Supply Chain Compromise, AML.T0019 Publish Poisoned Datasets, AML.T0058 Publish
Poisoned Models; NIST AI RMF GOVERN 6.1, MAP 4.1.)
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.errors import ArtifactError, DocumentError
from riskframe.io.digests import sha256_file
from riskframe.results import DetectorResult
from riskframe.spec.attestation import SupplierAttestation
from riskframe.spec.pipeline import Artifact

Check = Literal["present", "signed", "current", "consistent", "terms"]
CLAUSES = {"present": "7.1", "signed": "7.2", "current": "7.3", "consistent": "2.2, 6.1", "terms": "2.3, 3-5, 6.2-6.3"}
FORMAT = "supplier-attestation"


class SupplierAttestationParams(DetectorParams):
    """Parameters of ``supplier-attestation``."""

    checks: tuple[Check, ...] = Field(default=("present", "signed", "current", "consistent", "terms"),
                                      description="which checks to make")
    supplier_key: str | None = Field(default=None, min_length=1,
                                     description="the supplier's Ed25519 public key (PEM), relative to the pipeline")
    max_incident_notice_hours: int = Field(default=72, ge=0)
    max_retention_days: int | None = Field(default=None, ge=0, description="longest training-data retention allowed")
    min_change_notice_days: int = Field(default=30, ge=0)


class SupplierAttestationCheck(Detector[SupplierAttestationParams]):
    """A supplier attestation present, signed, current, consistent with the artifacts and its terms met."""

    name: ClassVar[str] = "supplier-attestation"
    title: ClassVar[str] = "A supplier's signed attestation: present, signed, current, consistent, terms met"
    requires = ("files",)
    Params = SupplierAttestationParams
    techniques = ("AML.T0010", "AML.T0019", "AML.T0058")

    def run(self, ctx: RunContext, params: SupplierAttestationParams) -> DetectorResult:
        declared = [a for a in ctx.artifacts("files") if a.format == FORMAT]
        results: list[dict[str, Any]] = []
        attestation = path = None
        if not declared:
            results.append(_check("present", False, "the stage declares no file of format supplier-attestation"))
        else:
            path = ctx.store.check(declared[0])
            attestation = _load(path)  # a broken attestation is the user's to fix: located, exit 2
            results.append(_check("present", True, f"{declared[0].path}: {attestation.metadata.name} from "
                                                   f"{attestation.metadata.supplier}"))
        if attestation is not None and path is not None:
            if "signed" in params.checks:
                results.append(_signed(ctx, path, params))
            if "current" in params.checks:
                results.append(_current(attestation, date.today()))
            if "consistent" in params.checks:
                results += _consistent(ctx, attestation)
            if "terms" in params.checks:
                results += _terms(attestation, params)
        results = [r for r in results if r["check"] in params.checks]
        failed = [r for r in results if r["status"] == "fail"]
        evidence: dict[str, Any] = {"checks": results}
        if attestation is not None and path is not None:
            evidence["attestation"] = {"name": attestation.metadata.name, "supplier": attestation.metadata.supplier,
                                       "issued": attestation.metadata.issued.isoformat(),
                                       "expires": attestation.metadata.expires.isoformat(), "sha256": sha256_file(path)}
        summary = (f"Supplier attestation: {len(failed)} of {len(results)} checks failed: "
                   + "; ".join(f"{r['check']} (§{r['clause']}): {r['detail']}" for r in failed[:4]) + "."
                   if failed else f"Supplier attestation: all {len(results)} checks passed "
                                  f"({', '.join(dict.fromkeys(r['check'] for r in results))}).")
        return DetectorResult(status="fail" if failed else "pass", score=len(failed) / max(1, len(results)),
                              summary=summary, metrics={"checks": float(len(results)), "failed": float(len(failed))},
                              evidence=evidence)


def _check(check: str, ok: bool, detail: str) -> dict[str, Any]:
    return {"check": check, "clause": CLAUSES[check], "status": "pass" if ok else "fail", "detail": detail}


def _load(path: Path) -> SupplierAttestation:
    from riskframe.spec.load import load_document  # it imports every document model

    document = load_document(path, SupplierAttestation)
    if not isinstance(document, SupplierAttestation):  # load_document checks the kind; this is for mypy
        raise DocumentError.single(str(path), "not a supplier attestation")
    return document


def _signed(ctx: RunContext, path: Path, params: SupplierAttestationParams) -> dict[str, Any]:
    if params.supplier_key is None:
        return _check("signed", False, "no supplier_key is configured to verify the signature against")
    from riskframe.llm.attestation import verify_attestation
    from riskframe.signing.keys import load_public_key

    key = load_public_key(ctx.store.roots.existing(params.supplier_key, "supplier_key", single="a public key"))
    problem = verify_attestation(path, key)
    return _check("signed", problem is None, problem or f"signed by the key in {params.supplier_key}")


def _current(attestation: SupplierAttestation, today: date) -> dict[str, Any]:
    meta = attestation.metadata
    ok = meta.issued <= today <= meta.expires
    detail = (f"valid {meta.issued} to {meta.expires}" if ok else
              f"expired on {meta.expires}" if today > meta.expires else f"not valid before {meta.issued}")
    return _check("current", ok, detail)


def _consistent(ctx: RunContext, attestation: SupplierAttestation) -> list[dict[str, Any]]:
    stage = {a.name: a for a in ctx.artifacts("files")}
    out = []
    for corpus in attestation.corpora:
        artifact = stage.get(corpus.artifact)
        if artifact is None:
            out.append(_check("consistent", False, f"corpus {corpus.artifact!r} is not an artifact of this stage"))
            continue
        out.append(_check("consistent", *_matches(ctx, artifact, corpus.sha256, corpus.manifest_sha256)))
    models = [a for a in stage.values() if a.type == "model"]
    weights = attestation.model.weights_sha256
    if weights is not None and models:
        found = any(ctx.store.digest(m) == weights for m in models)
        out.append(_check("consistent", found, f"model weights {'match' if found else 'match no model artifact of'} "
                                               f"the attested digest"))
    return out


def _matches(ctx: RunContext, artifact: Artifact, sha256: str | None, manifest_sha256: str | None) -> tuple[bool, str]:
    if sha256 is not None and ctx.store.digest(artifact) != sha256:
        return False, f"{artifact.name} is not the corpus attested (its sha256 differs)"
    if manifest_sha256 is not None:
        if artifact.manifest is None:
            return False, f"{artifact.name} declares no manifest to compare with the attested one"
        manifest = ctx.store.locate(artifact.manifest, "manifest")
        try:
            actual = sha256_file(manifest)
        except OSError:
            raise ArtifactError(f"{artifact.manifest} cannot be read", "manifest") from None
        if actual != manifest_sha256:
            return False, f"{artifact.name}'s manifest is not the one attested"
    return True, f"{artifact.name} is the corpus attested"


def _terms(attestation: SupplierAttestation, params: SupplierAttestationParams) -> list[dict[str, Any]]:
    unlicensed = [s.name for c in attestation.corpora for s in c.sources if not s.licence.strip()]
    model = attestation.model
    retention = attestation.retention.training_data_days
    checks = [
        (not unlicensed, "every source names its licence" if not unlicensed else
         f"sources without a licence: {', '.join(unlicensed)}"),
        (attestation.incident_notice_hours <= params.max_incident_notice_hours,
         f"incidents notified within {attestation.incident_notice_hours} h (at most {params.max_incident_notice_hours} "
         "h allowed)"),
        (params.max_retention_days is None or retention <= params.max_retention_days,
         f"training data kept {retention} days" + (f" (at most {params.max_retention_days} allowed)"
                                                    if params.max_retention_days is not None else "")),
        (attestation.audit_right, "audit right granted" if attestation.audit_right else "no audit right"),
        (model.signed_weights, "weights signed" if model.signed_weights else "weights not signed"),
        (model.change_notice_days >= params.min_change_notice_days,
         f"{model.change_notice_days} days' notice of model changes (at least {params.min_change_notice_days} "
         "required)"),
    ]
    return [_check("terms", ok, detail) for ok, detail in checks]
