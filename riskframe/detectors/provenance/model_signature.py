"""``model-signature``: a model file or folder is what its publisher signed (OpenSSF model-signing).

Each model is verified against its signature bundle: the artifact's ``signature:`` (a path, or a
mapping with the verification material), else ``<model path>.sig`` beside it. What verifies it is
one of a public key (``public_key``), a certificate chain (``certificate_chain``: the signing
certificate must chain to these, never to the operating system's store) or a Sigstore trust root
(``identity``, ``oidc_issuer`` and ``trust_config``, a ClientTrustConfig file the user supplies);
the artifact's material overrides the control's. Paths are relative to the pipeline file and stay
inside its folders. Nothing is fetched; how files are blamed is in
:mod:`riskframe.detectors.provenance._signatures`.

Outcomes: *verified* (pass); *mismatch*, naming every changed, missing or unsigned file (fail);
*invalid*, the signature does not verify with the material given (fail); *unsigned*, no bundle
(fail with ``require_signature``, the default; otherwise a pass that says so); a bundle with no
material configured to verify it (fail when signatures are required, else a warning).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from riskframe.data.roots import file_kind
from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.detectors.provenance._signatures import (
    MAX_SIGNATURE_BYTES,
    Material,
    SignatureCheck,
    verify,
)
from riskframe.errors import ArtifactError
from riskframe.results import DetectorResult
from riskframe.spec.pipeline import Artifact, ModelSignature, signature_method

_SHOWN = 3


class ModelSignatureParams(DetectorParams):
    require_signature: bool = Field(
        default=True, description="fail when a model has no signature (false: pass, saying it is unsigned)")
    public_key: str | None = Field(default=None, min_length=1,
                                   description="PEM public key of the signer, relative to the pipeline file")
    certificate_chain: tuple[str, ...] = Field(
        default=(), description="PEM certificates the signing certificate must chain to (relative paths)")
    identity: str | None = Field(default=None, min_length=1, description="Sigstore: the signer's identity")
    oidc_issuer: str | None = Field(default=None, min_length=1, description="Sigstore: its OIDC issuer")
    trust_config: str | None = Field(default=None, min_length=1,
                                     description="Sigstore: the trust root, a ClientTrustConfig JSON file")

    @model_validator(mode="after")
    def _one_method(self) -> ModelSignatureParams:
        signature_method(self.public_key, self.certificate_chain, self.identity, self.oidc_issuer, self.trust_config)
        return self


class ModelSignatureVerification(Detector[ModelSignatureParams]):
    """Verify a model against its model-signing signature, naming the files that do not match.

    Examples
    --------
    >>> from riskframe.detectors.registry import builtin_registry
    >>> detector = builtin_registry()["model-signature"]  # doctest: +SKIP
    >>> print(detector().run(ctx, detector.Params(public_key="keys/vendor.pub")).summary)  # doctest: +SKIP
    models/bert does not match its signature models/bert.sig: model.safetensors changed (signed 1a2b3c4d...,
    now 9f8e7d6c...).
    """

    name = "model-signature"
    title = "A model file or folder matches its publisher's model-signing signature"
    requires = ("model",)
    Params = ModelSignatureParams
    # A model that is not what its publisher signed was swapped or altered on its way (T0010.003),
    # possibly with a payload in it (T0018.002) or already poisoned when it was handed over (T0058:
    # the signature names who published it, so a model from an unknown publisher does not verify).
    techniques = ("AML.T0010.003", "AML.T0018.002", "AML.T0058")
    imports = ("model_signing",)

    def run(self, ctx: RunContext, params: ModelSignatureParams) -> DetectorResult:
        model = ctx.artifact("model")
        declared = model.signature
        relative = declared.path if declared else f"{model.path}.sig"
        signature = ctx.store.roots.resolve(relative, "signature.path")
        kind = file_kind(signature)
        if kind == "missing":
            return _unsigned(model, relative, params.require_signature)
        if kind != "file" or signature.stat().st_size > MAX_SIGNATURE_BYTES:
            raise ArtifactError(f"signature {relative} must be a regular file of at most {MAX_SIGNATURE_BYTES >> 20} "
                                "MiB", "signature.path")
        material, shown = _material(ctx, declared, params)
        evidence: dict[str, object] = {"model": model.name, "path": model.path, "signature": relative,
                                       "method": material.method if material else None, "material": shown}
        if material is None:
            status = "fail" if params.require_signature else "warn"
            return DetectorResult(status=status, score=1.0 if status == "fail" else 0.5, evidence=evidence,
                                  summary=f"{model.path} has a signature ({relative}), but no public key, certificate "
                                          "chain or Sigstore trust root is configured to verify it.",
                                  metrics={"signed": 1.0, "verified": 0.0})
        check = verify(ctx.store.path(model), signature, material)
        return _result(model, relative, check, shown, evidence)


def _material(ctx: RunContext, declared: ModelSignature | None,
              params: ModelSignatureParams) -> tuple[Material | None, list[str]]:
    """The artifact's verification material if it gives any, else the control's; paths resolved."""
    source = declared if declared is not None and signature_method(
        declared.public_key, declared.certificate_chain, declared.identity, declared.oidc_issuer,
        declared.trust_config) else params
    field = "signature" if source is declared else "with"
    method = signature_method(source.public_key, tuple(source.certificate_chain), source.identity,
                              source.oidc_issuer, source.trust_config)
    if method is None:
        return None, []

    def located(relative: str, name: str) -> Path:
        return ctx.store.roots.existing(relative, f"{field}.{name}", single="a key or certificate file")

    if method == "public-key":
        assert source.public_key is not None
        return Material("public-key", public_key=located(source.public_key, "public_key")), [source.public_key]
    if method == "certificate":
        chain = tuple(located(c, "certificate_chain") for c in source.certificate_chain)
        return Material("certificate", certificate_chain=chain), list(source.certificate_chain)
    assert source.trust_config is not None
    trust = located(source.trust_config, "trust_config")
    return (Material("sigstore", identity=source.identity, oidc_issuer=source.oidc_issuer, trust_config=trust),
            [source.trust_config, f"identity {source.identity}", f"issuer {source.oidc_issuer}"])


def _result(model: Artifact, relative: str, check: SignatureCheck, shown: list[str],
            evidence: dict[str, object]) -> DetectorResult:
    evidence.update(outcome=check.outcome, signed_files=check.files, algorithm=check.algorithm,
                    files=[vars(p) for p in check.problems], reason=check.reason)
    metrics = {"signed": 1.0, "verified": float(check.outcome == "verified"), "signed_files": float(check.files),
               "mismatched_files": float(len(check.problems))}
    by = f" ({', '.join(shown)})"
    if check.outcome == "verified":
        files = "1 file" if check.files == 1 else f"{check.files} files"
        return DetectorResult(status="pass", score=0.0, metrics=metrics, evidence=evidence,
                              summary=f"{model.path} verifies against its signature {relative}{by}: {files}, every "
                                      f"{check.algorithm} digest as signed.")
    if check.outcome == "mismatch":
        named = "; ".join(p.phrase() for p in check.problems[:_SHOWN])
        more = len(check.problems) - _SHOWN
        return DetectorResult(status="fail", score=1.0, metrics=metrics, evidence=evidence,
                              summary=f"{model.path} does not match its signature {relative}: {named}"
                                      + (f"; and {more} more (see the evidence)" if more > 0 else "") + ".")
    return DetectorResult(status="fail", score=1.0, metrics=metrics, evidence=evidence,
                          summary=f"The signature {relative} of {model.path} does not verify{by}: {check.reason}.")


def _unsigned(model: Artifact, relative: str, required: bool) -> DetectorResult:
    evidence = {"model": model.name, "path": model.path, "signature": relative, "outcome": "unsigned"}
    metrics = {"signed": 0.0, "verified": 0.0}
    if required:
        return DetectorResult(status="fail", score=1.0, metrics=metrics, evidence=evidence,
                              summary=f"{model.path} carries no signature (no {relative}): who published it cannot be "
                                      "verified.")
    return DetectorResult(status="pass", score=0.0, metrics=metrics, evidence=evidence,
                          summary=f"{model.path} carries no signature (no {relative}); none is required "
                                  "(require_signature: false), so nothing vouches for who published it.")
