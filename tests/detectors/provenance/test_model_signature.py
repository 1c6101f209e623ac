"""model-signature with signatures made by OpenSSF model-signing itself: public-key and certificate
signatures verify; one changed byte in any signed file fails naming that file; an unsigned model
fails when required and passes, saying so, when not."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.provenance.model_signature import ModelSignatureVerification
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact, Stage

model_signing = pytest.importorskip("model_signing", reason="the model-signing extra is not installed")
from cryptography import x509  # noqa: E402  (after the skip: cryptography comes with model-signing)
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

FOLDER_FILES = {"config.json": b'{"layers": 2}\n', "weights/model.safetensors": bytes(range(256)) * 64,
                "tokenizer.txt": b"a b c\n"}


def _write_key(folder: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = folder / f"{name}.pem", folder / f"{name}.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def _model_folder(root: Path) -> Path:
    model = root / "bert"
    for name, content in FOLDER_FILES.items():
        (model / name).parent.mkdir(parents=True, exist_ok=True)
        (model / name).write_bytes(content)
    return model


def _ctx(root: Path, path: str, signature: object = None) -> RunContext:
    model = Artifact.model_validate({"name": "model", "type": "model", "path": path, "signature": signature})
    return RunContext(stage=Stage(name="adopt", kind="model-engineering", artifacts=[model]),
                      bindings={"model": (model,)}, store=ArtifactStore(root))


def _run(ctx: RunContext, **params):
    return ModelSignatureVerification().run(ctx, ModelSignatureVerification.Params(**params))


@pytest.fixture
def signed_folder(tmp_path) -> Path:
    """A model folder signed by its publisher's EC key with model-signing (bert.sig), and the public key."""
    private, _ = _write_key(tmp_path, "vendor")
    model = _model_folder(tmp_path)
    model_signing.signing.Config().use_elliptic_key_signer(private_key=private).sign(model, tmp_path / "bert.sig")
    return tmp_path


def test_a_key_signed_folder_verifies(signed_folder):
    result = _run(_ctx(signed_folder, "bert"), public_key="vendor.pub")

    assert result.status == "pass", result.summary
    assert result.summary == ("bert verifies against its signature bert.sig (vendor.pub): 3 files, every sha256 "
                              "digest as signed.")
    assert (result.evidence["method"], result.metrics["signed_files"]) == ("public-key", 3.0)


@pytest.mark.parametrize("changed", sorted(FOLDER_FILES))
def test_one_changed_byte_in_any_signed_file_fails_naming_that_file(signed_folder, changed):
    path = signed_folder / "bert" / changed
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0x01
    path.write_bytes(bytes(content))

    result = _run(_ctx(signed_folder, "bert"), public_key="vendor.pub")

    assert result.status == "fail"
    [problem] = result.evidence["files"]
    assert (problem["file"], problem["status"]) == (changed, "changed")
    assert result.summary == (f"bert does not match its signature bert.sig: {changed} changed (signed "
                              f"{problem['signed'][:8]}..., now {problem['actual'][:8]}...).")


def test_an_added_and_a_removed_file_are_named(signed_folder):
    (signed_folder / "bert" / "tokenizer.txt").unlink()
    (signed_folder / "bert" / "extra.py").write_text("import os\n")

    result = _run(_ctx(signed_folder, "bert"), public_key="vendor.pub")

    assert result.status == "fail"
    assert result.summary == ("bert does not match its signature bert.sig: tokenizer.txt is signed but missing; "
                              "extra.py is not signed.")


def test_another_publishers_key_does_not_verify(signed_folder):
    _write_key(signed_folder, "someone-else")

    result = _run(_ctx(signed_folder, "bert"), public_key="someone-else.pub")

    assert result.status == "fail" and result.evidence["outcome"] == "invalid"
    assert result.summary.startswith("The signature bert.sig of bert does not verify (someone-else.pub): Key mismatch")


def _certificate(subject: str, key, issuer_name: x509.Name, issuer_key, *, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                        critical=True)
    else:
        builder = (builder.add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                                         critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False))
    return builder.sign(issuer_key, hashes.SHA256())


def test_a_certificate_signed_single_file_verifies_and_one_changed_byte_fails(tmp_path):
    ca_key, signer_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Vendor Model Signing CA")])
    ca = _certificate("Example Vendor Model Signing CA", ca_key, ca_name, ca_key, ca=True)
    leaf = _certificate("release-bot@vendor.example", signer_key, ca_name, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "signer.crt").write_bytes(leaf.public_bytes(pem))
    (tmp_path / "signer.pem").write_bytes(signer_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                                   serialization.NoEncryption()))
    model = tmp_path / "model.onnx"
    model.write_bytes(b"\x08\x07" + bytes(4096))
    model_signing.signing.Config().use_certificate_signer(
        private_key=tmp_path / "signer.pem", signing_certificate=tmp_path / "signer.crt",
        certificate_chain=[tmp_path / "ca.pem"]).sign(model, tmp_path / "model.onnx.sig")
    ctx = _ctx(tmp_path, "model.onnx", {"path": "model.onnx.sig", "certificate_chain": ["ca.pem"]})

    verified = _run(ctx)
    model.write_bytes(b"\x08\x07" + bytes(2048) + b"\x01" + bytes(2047))
    tampered = _run(ctx)

    assert verified.status == "pass", verified.summary
    assert verified.summary == ("model.onnx verifies against its signature model.onnx.sig (ca.pem): 1 file, every "
                                "sha256 digest as signed.")
    assert tampered.status == "fail"
    assert tampered.summary.startswith("model.onnx does not match its signature model.onnx.sig: model.onnx changed "
                                       "(signed ")


def test_an_unsigned_model_fails_when_required_and_passes_saying_so_when_not(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"\x08\x07")
    ctx = _ctx(tmp_path, "model.onnx")

    required, optional = _run(ctx), _run(ctx, require_signature=False)

    assert required.status == "fail"
    assert required.summary == ("model.onnx carries no signature (no model.onnx.sig): who published it cannot be "
                                "verified.")
    assert optional.status == "pass"
    assert optional.summary == ("model.onnx carries no signature (no model.onnx.sig); none is required "
                                "(require_signature: false), so nothing vouches for who published it.")


def test_a_signature_nothing_is_configured_to_verify_fails(signed_folder):
    result = _run(_ctx(signed_folder, "bert"))

    assert result.status == "fail"
    assert result.summary == ("bert has a signature (bert.sig), but no public key, certificate chain or Sigstore "
                              "trust root is configured to verify it.")


def test_a_sigstore_bundle_is_verified_only_against_the_trust_root_given(signed_folder):
    (signed_folder / "trust.json").write_text("{}")
    params = {"identity": "release@vendor.example", "oidc_issuer": "https://issuer.example", "trust_config": "trust.json"}

    result = _run(_ctx(signed_folder, "bert"), **params)

    # A key-signed bundle is not a Sigstore bundle, and an empty trust root trusts nothing: no pass, no fetch.
    assert result.status == "fail" and result.evidence["outcome"] == "invalid"
    with pytest.raises(ValueError, match="needs identity, oidc_issuer and trust_config"):
        ModelSignatureVerification.Params(identity="release@vendor.example", oidc_issuer="https://issuer.example")
    with pytest.raises(ValueError, match="give one way to verify a signature, not public_key and sigstore"):
        ModelSignatureVerification.Params(public_key="vendor.pub", **params)


def test_key_and_signature_paths_stay_inside_the_pipelines_folders(signed_folder, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere")
    _write_key(outside, "planted")

    with pytest.raises(ArtifactError, match="outside the pipeline's folder"):
        _run(_ctx(signed_folder, "bert"), public_key=str(outside / "planted.pub"))
