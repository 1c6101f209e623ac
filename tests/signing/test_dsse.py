"""DSSE envelopes: the spec's PAE vector, round trips, and every way an envelope can be broken."""

from __future__ import annotations

import base64
import json

import pytest

from riskframe.signing.dsse import (
    IN_TOTO_PAYLOAD_TYPE,
    EnvelopeError,
    pae,
    parse_envelope,
    sign_envelope,
    verify_envelope,
)
from riskframe.signing.keys import generate_key


def test_pae_matches_the_spec_test_vector():
    # protocol.md, "Test Vectors"
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world")


def test_pae_counts_bytes_not_characters():
    assert pae("t", "é".encode()) == b"DSSEv1 1 t 2 \xc3\xa9"


def test_sign_parse_verify_round_trip():
    key = generate_key()
    envelope = sign_envelope(b'{"a": 1}', IN_TOTO_PAYLOAD_TYPE, key)

    again = parse_envelope(envelope.to_json())

    assert again == envelope
    assert verify_envelope(again, key.public)
    assert again.signatures[0].keyid == key.public.keyid
    assert json.loads(envelope.to_json())["payloadType"] == "application/vnd.in-toto+json"


def test_another_key_a_changed_payload_or_a_changed_type_do_not_verify():
    key = generate_key()
    envelope = sign_envelope(b"payload", IN_TOTO_PAYLOAD_TYPE, key)

    assert not verify_envelope(envelope, generate_key().public)
    assert not verify_envelope(type(envelope)(envelope.payload_type, b"payloaD", envelope.signatures), key.public)
    assert not verify_envelope(type(envelope)("application/json", envelope.payload, envelope.signatures), key.public)


def test_url_safe_unpadded_base64_is_accepted():
    key = generate_key()
    envelope = sign_envelope(b"\xfb\xff\xfe" * 5 + b"?", IN_TOTO_PAYLOAD_TYPE, key)
    data = json.loads(envelope.to_json())
    data["payload"] = base64.urlsafe_b64encode(envelope.payload).decode().rstrip("=")
    data["signatures"][0]["sig"] = base64.urlsafe_b64encode(envelope.signatures[0].sig).decode().rstrip("=")

    assert verify_envelope(parse_envelope(json.dumps(data)), key.public)


def test_the_keyid_hint_is_not_trusted():
    key = generate_key()
    envelope = sign_envelope(b"x", IN_TOTO_PAYLOAD_TYPE, key)
    data = json.loads(envelope.to_json())
    data["signatures"][0]["keyid"] = "someone-else"

    assert verify_envelope(parse_envelope(json.dumps(data)), key.public)


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "not JSON (Expecting value at line 1 column 1)"),
    ("[]", "not a DSSE envelope: expected a JSON object with payload, payloadType and signatures"),
    ('{"payload": "", "signatures": []}', "payloadType: required field is missing"),
    ('{"payloadType": 3, "payload": "", "signatures": []}', "payloadType: must be a string"),
    ('{"payloadType": "t", "payload": "%%%", "signatures": []}', "payload: not valid base64"),
    ('{"payloadType": "t", "payload": "", "signatures": {}}', "signatures: must be a list"),
    ('{"payloadType": "t", "payload": "", "signatures": []}', "signatures: the envelope carries no signature"),
    ('{"payloadType": "t", "payload": "", "signatures": ["x"]}', "signatures[0]: must be an object with sig"),
    ('{"payloadType": "t", "payload": "", "signatures": [{}]}', "signatures[0].sig: required field is missing"),
    ('{"payloadType": "t", "payload": "", "signatures": [{"sig": "!!"}]}', "signatures[0].sig: not valid base64"),
    ('{"payloadType": "t", "payload": "", "signatures": [{"sig": "", "keyid": 1}]}',
     "signatures[0].keyid: must be a string"),
])
def test_malformed_envelopes_say_what_is_wrong(text, message):
    with pytest.raises(EnvelopeError) as excinfo:
        parse_envelope(text)

    assert str(excinfo.value).startswith(message)
