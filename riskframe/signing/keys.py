"""Ed25519 key pairs as PEM files: make them, read them, sign and verify with them.

Keys are PKCS#8 (private) and SubjectPublicKeyInfo (public) PEM, the formats ``openssl genpkey
-algorithm ed25519`` and ``openssl pkey -pubout`` write, so either tool can make or read them.
The private key file is created with mode 0600 and never overwritten by accident. A key's id is
the sha256 of its public key's DER encoding: a hint in envelopes, never trusted for a decision.

The ``cryptography`` package does the cryptography (the ``sign`` extra); it is imported when a
key is first used, so ``import riskframe`` does not need it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskframe.errors import MissingDependencyError, UsageError

PRIVATE_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub"


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise MissingDependencyError("cryptography", "sign") from None
    return serialization, ed25519


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key."""

    key: Any

    @property
    def der(self) -> bytes:
        serialization, _ = _crypto()
        return bytes(self.key.public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo))

    @property
    def keyid(self) -> str:
        return hashlib.sha256(self.der).hexdigest()

    def pem(self) -> bytes:
        serialization, _ = _crypto()
        return bytes(self.key.public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo))

    def verify(self, signature: bytes, message: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature

        try:
            self.key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class PrivateKey:
    """An Ed25519 private key."""

    key: Any

    @property
    def public(self) -> PublicKey:
        return PublicKey(self.key.public_key())

    def sign(self, message: bytes) -> bytes:
        return bytes(self.key.sign(message))

    def pem(self) -> bytes:
        serialization, _ = _crypto()
        return bytes(self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))


def generate_key() -> PrivateKey:
    """A new random Ed25519 private key."""
    _, ed25519 = _crypto()
    return PrivateKey(ed25519.Ed25519PrivateKey.generate())


def write_key_pair(key: PrivateKey, prefix: str | Path, *, force: bool = False) -> tuple[Path, Path]:
    """Write ``PREFIX.key`` (mode 0600) and ``PREFIX.pub``; return their paths.

    Raises
    ------
    UsageError
        A file exists already (and ``force`` is false), or the folder cannot be written.

    Examples
    --------
    >>> private, public = write_key_pair(generate_key(), tmp_path / "evidence")  # doctest: +SKIP
    >>> oct(private.stat().st_mode & 0o777)  # doctest: +SKIP
    '0o600'
    """
    private, public = Path(f"{prefix}{PRIVATE_SUFFIX}"), Path(f"{prefix}{PUBLIC_SUFFIX}")
    if not force:
        taken = [p for p in (private, public) if p.exists() or p.is_symlink()]
        if taken:
            raise UsageError(f"{taken[0]} already exists; choose another --out prefix or pass --force to replace it")
    try:
        private.parent.mkdir(parents=True, exist_ok=True)
        _write_private(private, key.pem())
        public.write_bytes(key.public.pem())
    except OSError as exc:
        raise UsageError(f"cannot write the key pair {private} / {public}: {exc.strerror or exc}") from None
    return private, public


def _write_private(path: Path, pem: bytes) -> None:
    # Created 0600 from the start (never world-readable, even for an instant); an existing file is
    # replaced only under --force, and unlinked first so that its old mode does not carry over.
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def load_private_key(path: str | Path) -> PrivateKey:
    """Read an unencrypted Ed25519 private key (PKCS#8 PEM).

    Raises
    ------
    UsageError
        The file is missing, unreadable, not a PEM private key, encrypted, or not Ed25519.
    """
    serialization, ed25519 = _crypto()
    data = _read(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise UsageError(f"{path}: the private key is encrypted; riskframe reads unencrypted keys "
                         "(make one with 'riskframe keygen')") from None
    except ValueError:
        hint = " (this is a public key; --sign needs the private .key file)" if b"PUBLIC KEY" in data else ""
        raise UsageError(f"{path}: not a PEM private key{hint}") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise UsageError(f"{path}: {_algorithm(key)} key; riskframe signs with Ed25519 keys "
                         "(make one with 'riskframe keygen')")
    return PrivateKey(key)


def load_public_key(path: str | Path) -> PublicKey:
    """Read an Ed25519 public key (SubjectPublicKeyInfo PEM).

    Raises
    ------
    UsageError
        The file is missing, unreadable, not a PEM public key, or not Ed25519.
    """
    serialization, ed25519 = _crypto()
    data = _read(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        hint = (" (this is a private key; give the .pub file, and keep the private key secret)"
                if b"PRIVATE KEY" in data else "")
        raise UsageError(f"{path}: not a PEM public key{hint}") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise UsageError(f"{path}: {_algorithm(key)} key; riskframe signatures are Ed25519")
    return PublicKey(key)


def _read(path: str | Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: {what} file not found") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a {what} file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def _algorithm(key: Any) -> str:
    return type(key).__name__.removeprefix("_").replace("PrivateKey", "").replace("PublicKey", "") or "non-Ed25519"
