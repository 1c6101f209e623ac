"""DSSE envelopes (Dead Simple Signing Envelope, v1.0): sign and open a payload.

A signature covers the *pre-authentication encoding* of the payload and its type, never the bare
payload, so a signature over one kind of document cannot be replayed as another::

    PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body

where ``LEN`` is the byte length in ASCII decimal. The envelope is JSON: the base64 payload, its
type and the signatures, each with an optional ``keyid`` hint (never trusted for a decision).

>>> pae("http://example.com/HelloWorld", b"hello world")
b'DSSEv1 29 http://example.com/HelloWorld 11 hello world'
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from riskframe.signing.keys import PrivateKey, PublicKey

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


class EnvelopeError(ValueError):
    """The envelope is not a DSSE JSON envelope (the message says what is wrong)."""


@dataclass(frozen=True)
class Signature:
    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]

    def to_json(self) -> str:
        """One line of JSON (the ``.intoto.jsonl`` convention: one envelope per line)."""
        return json.dumps({
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "payloadType": self.payload_type,
            "signatures": [{"keyid": s.keyid, "sig": base64.b64encode(s.sig).decode("ascii")}
                           for s in self.signatures],
        }, separators=(",", ":"))


def pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE v1 pre-authentication encoding of ``payload`` and its type."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def sign_envelope(payload: bytes, payload_type: str, key: PrivateKey) -> Envelope:
    """Sign ``payload`` with an Ed25519 key.

    Examples
    --------
    >>> from riskframe.signing.keys import generate_key
    >>> key = generate_key()
    >>> envelope = sign_envelope(b"{}", IN_TOTO_PAYLOAD_TYPE, key)
    >>> verify_envelope(envelope, key.public)
    True
    """
    signature = key.sign(pae(payload_type, payload))
    return Envelope(payload_type, payload, (Signature(key.public.keyid, signature),))


def verify_envelope(envelope: Envelope, key: PublicKey) -> bool:
    """True when one of the envelope's signatures is ``key``'s over the PAE of its payload.

    Every signature is tried whatever its ``keyid`` says: the hint is not authenticated.
    """
    message = pae(envelope.payload_type, envelope.payload)
    return any(key.verify(s.sig, message) for s in envelope.signatures)


def parse_envelope(text: str) -> Envelope:
    """Read a JSON envelope (standard or URL-safe base64, as the spec requires of verifiers).

    Raises
    ------
    EnvelopeError
        Not JSON, a required field missing or of the wrong type, or base64 that does not decode.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EnvelopeError(f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(data, dict):
        raise EnvelopeError("not a DSSE envelope: expected a JSON object with payload, payloadType and signatures")
    payload_type = _field(data, "payloadType", str)
    payload = _b64(_field(data, "payload", str), "payload")
    raw_signatures = _field(data, "signatures", list)
    if not raw_signatures:
        raise EnvelopeError("signatures: the envelope carries no signature")
    signatures = []
    for index, entry in enumerate(raw_signatures):
        if not isinstance(entry, dict):
            raise EnvelopeError(f"signatures[{index}]: must be an object with sig (and keyid)")
        sig = _b64(_field(entry, "sig", str, f"signatures[{index}]."), f"signatures[{index}].sig")
        keyid = entry.get("keyid") or ""
        if not isinstance(keyid, str):
            raise EnvelopeError(f"signatures[{index}].keyid: must be a string")
        signatures.append(Signature(keyid, sig))
    return Envelope(payload_type, payload, tuple(signatures))


def _field(data: dict[str, Any], name: str, kind: type, prefix: str = "") -> Any:
    if name not in data:
        raise EnvelopeError(f"{prefix}{name}: required field is missing")
    value = data[name]
    if not isinstance(value, kind):
        raise EnvelopeError(f"{prefix}{name}: must be a {'string' if kind is str else 'list'}")
    return value


def _b64(text: str, where: str) -> bytes:
    # The spec allows either alphabet; normalise URL-safe to standard and restore dropped padding.
    normalised = text.replace("-", "+").replace("_", "/")
    normalised += "=" * (-len(normalised) % 4)
    try:
        return base64.b64decode(normalised, validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeError(f"{where}: not valid base64") from None
