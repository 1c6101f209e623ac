"""Key pairs: written with the right modes, never overwritten by accident, read back with clear
messages for every wrong kind of file."""

from __future__ import annotations

import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from riskframe.errors import UsageError
from riskframe.signing.keys import generate_key, load_private_key, load_public_key, write_key_pair


def test_a_key_pair_round_trips_with_a_private_file_only_the_owner_reads(tmp_path):
    key = generate_key()

    private, public = write_key_pair(key, tmp_path / "ci")

    assert (private.name, public.name) == ("ci.key", "ci.pub")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    again = load_private_key(private)
    assert again.public.keyid == key.public.keyid == load_public_key(public).keyid
    assert load_public_key(public).verify(again.sign(b"m"), b"m")


def test_existing_files_are_kept_unless_forced(tmp_path):
    first, _ = write_key_pair(generate_key(), tmp_path / "ci")
    before = first.read_bytes()

    with pytest.raises(UsageError, match=r"ci\.key already exists; choose another --out prefix or pass --force"):
        write_key_pair(generate_key(), tmp_path / "ci")
    assert first.read_bytes() == before

    first.chmod(0o644)
    write_key_pair(generate_key(), tmp_path / "ci", force=True)
    assert first.read_bytes() != before
    assert stat.S_IMODE(first.stat().st_mode) == 0o600


def test_missing_folders_are_made_and_an_unwritable_prefix_is_a_usage_error(tmp_path):
    private, _ = write_key_pair(generate_key(), tmp_path / "keys" / "ci")
    assert private == tmp_path / "keys" / "ci.key"

    (tmp_path / "a-file").write_text("")
    with pytest.raises(UsageError, match=r"^cannot write the key pair .*a-file/ci\.key"):
        write_key_pair(generate_key(), tmp_path / "a-file" / "ci")


def _pem_private(key, password=None):
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def test_private_key_mistakes_are_named(tmp_path):
    _, public = write_key_pair(generate_key(), tmp_path / "k")
    rsa_key = tmp_path / "rsa.key"
    rsa_key.write_bytes(_pem_private(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    locked = tmp_path / "locked.key"
    locked.write_bytes(_pem_private(ec.generate_private_key(ec.SECP256R1()), b"secret"))
    garbage = tmp_path / "garbage.key"
    garbage.write_bytes(b"\x00\x01 not a key")

    cases = {
        tmp_path / "absent.key": "private key file not found",
        tmp_path: "is a directory, not a private key file",
        public: "not a PEM private key (this is a public key; --sign needs the private .key file)",
        rsa_key: "RSA key; riskframe signs with Ed25519 keys (make one with 'riskframe keygen')",
        locked: "the private key is encrypted; riskframe reads unencrypted keys",
        garbage: "not a PEM private key",
    }
    for path, message in cases.items():
        with pytest.raises(UsageError) as excinfo:
            load_private_key(path)
        assert str(excinfo.value).startswith(f"{path}: {message}")


def test_public_key_mistakes_are_named(tmp_path):
    private, _ = write_key_pair(generate_key(), tmp_path / "k")
    ec_pub = tmp_path / "ec.pub"
    ec_pub.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    cases = {
        tmp_path / "absent.pub": "public key file not found",
        private: "not a PEM public key (this is a private key; give the .pub file, and keep the private key secret)",
        ec_pub: "EC key; riskframe signatures are Ed25519",
    }
    for path, message in cases.items():
        with pytest.raises(UsageError) as excinfo:
            load_public_key(path)
        assert str(excinfo.value) == f"{path}: {message}"
