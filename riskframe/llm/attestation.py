"""Signing and verifying a supplier attestation (``kind: SupplierAttestation``).

The supplier signs the attestation file's exact bytes with its Ed25519 key (``riskframe keygen``
makes one) into a DSSE envelope written beside it as ``<file>.dsse.json``; the payload type says
what was signed, so the signature cannot be replayed as another kind of document. riskframe's
signing module (:mod:`riskframe.signing`) does the cryptography (the ``sign`` extra).

>>> sign_attestation(Path("supplier/attestation.yaml"), load_private_key("acme.key"))  # doctest: +SKIP
PosixPath('supplier/attestation.yaml.dsse.json')
"""

from __future__ import annotations

from pathlib import Path

from riskframe.signing.dsse import EnvelopeError, parse_envelope, sign_envelope, verify_envelope
from riskframe.signing.keys import PrivateKey, PublicKey

PAYLOAD_TYPE = "application/vnd.riskframe.supplier-attestation+yaml"
SUFFIX = ".dsse.json"
MAX_ENVELOPE_BYTES = 16 << 20


def envelope_path(attestation: Path) -> Path:
    return attestation.with_name(attestation.name + SUFFIX)


def sign_attestation(attestation: Path, key: PrivateKey) -> Path:
    """Sign ``attestation``'s bytes; write and return its envelope."""
    envelope = sign_envelope(attestation.read_bytes(), PAYLOAD_TYPE, key)
    path = envelope_path(attestation)
    path.write_text(envelope.to_json() + "\n", encoding="utf-8")
    return path


def verify_attestation(attestation: Path, key: PublicKey) -> str | None:
    """None when the envelope beside ``attestation`` is ``key``'s signature over its exact bytes;
    otherwise what is wrong, in a sentence."""
    path = envelope_path(attestation)
    if not path.is_file():
        return f"no signature: {path.name} is missing"
    if path.stat().st_size > MAX_ENVELOPE_BYTES:
        return f"{path.name} is over {MAX_ENVELOPE_BYTES >> 20} MiB: not a signature envelope"
    try:
        envelope = parse_envelope(path.read_text(encoding="utf-8"))
    except (EnvelopeError, UnicodeDecodeError) as exc:
        return f"{path.name} is not a DSSE envelope ({exc})"
    if envelope.payload_type != PAYLOAD_TYPE:
        return f"{path.name} signs a {envelope.payload_type!r}, not a supplier attestation"
    if not verify_envelope(envelope, key):
        return f"{path.name} is not signed by the supplier's key"
    if envelope.payload != attestation.read_bytes():
        return f"{attestation.name} was changed after it was signed"
    return None
