"""Verifying a model file or folder against its OpenSSF model-signing signature, offline.

The verdict is model-signing's own (:meth:`model_signing.verifying.Config.verify`): the signature
bundle verifies with the configured public key, certificate chain or Sigstore trust root, and every
file's digest is the one signed. When it does not verify, the files to blame are found by comparing
the manifest the bundle lists with the digests model-signing's hashing computes now (same
serialization, algorithm and ignored paths as signed), so a reviewer reads which file changed
rather than the library's message. When every file still matches what the bundle lists, the
signature itself is what does not verify (another signer, an edited bundle, an untrusted
certificate), and model-signing's reason is reported.

Nothing is fetched: a Sigstore bundle is verified against the trust root the user supplies
(``trust_config``), never Sigstore's public-good instance, and certificates chain only to the
certificates given (never the operating system's store).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from riskframe.errors import MissingDependencyError

MAX_SIGNATURE_BYTES = 16 << 20  # a model-signing bundle is a few KiB; the manifest of a huge folder, a few MiB

Method = Literal["public-key", "certificate", "sigstore"]
Outcome = Literal["verified", "mismatch", "invalid"]


@dataclass(frozen=True)
class Material:
    """What verifies a signature: exactly one method, paths already resolved."""

    method: Method
    public_key: Path | None = None
    certificate_chain: tuple[Path, ...] = ()
    identity: str | None = None
    oidc_issuer: str | None = None
    trust_config: Path | None = None


@dataclass(frozen=True)
class FileProblem:
    file: str
    status: Literal["changed", "missing", "not-signed"]
    signed: str | None = None
    actual: str | None = None

    def phrase(self) -> str:
        if self.status == "changed":
            return f"{self.file} changed (signed {_short(self.signed)}, now {_short(self.actual)})"
        if self.status == "missing":
            return f"{self.file} is signed but missing"
        return f"{self.file} is not signed"


@dataclass(frozen=True)
class SignatureCheck:
    outcome: Outcome
    files: int = 0  # files the signature lists
    algorithm: str | None = None
    problems: tuple[FileProblem, ...] = field(default=())
    reason: str | None = None


def verify(model: Path, signature: Path, material: Material) -> SignatureCheck:
    """Verify ``model`` against ``signature`` with ``material``.

    Raises
    ------
    MissingDependencyError
        model-signing is not installed (the ``model-signing`` extra).
    """
    try:
        import model_signing
    except ImportError:
        raise MissingDependencyError("model-signing", "model-signing") from None
    signed = _signed_manifest(signature)
    try:
        _config(model_signing, material).verify(model, signature)
    except Exception as exc:  # model-signing raises ValueError, cryptography's and OpenSSL's errors alike
        problems = _file_problems(model_signing, model, signed) if signed is not None else ()
        return SignatureCheck("mismatch" if problems else "invalid", _count(signed), _algorithm(signed),
                              problems, _reason(exc))
    return SignatureCheck("verified", _count(signed), _algorithm(signed))


def _config(model_signing: Any, material: Material) -> Any:
    config = model_signing.verifying.Config()
    if material.method == "public-key":
        return config.use_elliptic_key_verifier(public_key=material.public_key)
    if material.method == "certificate":
        return config.use_certificate_verifier(certificate_chain=material.certificate_chain)
    return config.use_sigstore_verifier(identity=material.identity, oidc_issuer=material.oidc_issuer,
                                        trust_config=material.trust_config)


def _signed_manifest(signature: Path) -> dict[str, Any] | None:
    """The in-toto statement the bundle carries (unverified: used only to name files), or None."""
    try:
        bundle = json.loads(signature.read_bytes())
        statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"], validate=True))
        predicate = statement["predicate"]
        if isinstance(predicate.get("resources"), list) and isinstance(predicate.get("serialization"), dict):
            return dict(predicate)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        pass
    return None


def _file_problems(model_signing: Any, model: Path, signed: dict[str, Any]) -> tuple[FileProblem, ...]:
    serialization = signed["serialization"]
    try:
        actual = _hash(model_signing, model, serialization)
    except Exception:  # a serialization this version of model-signing cannot reproduce: nothing to name
        return ()
    expected = {str(r.get("name")): str(r.get("digest")) for r in signed["resources"] if isinstance(r, dict)}
    named = {_file_name(k, model): v for k, v in expected.items()}
    found = {_file_name(k, model): v for k, v in actual.items()}
    problems = [FileProblem(f, "changed", named[f], found[f]) for f in sorted(named.keys() & found.keys())
                if named[f] != found[f]]
    problems += [FileProblem(f, "missing", named[f]) for f in sorted(named.keys() - found.keys())]
    problems += [FileProblem(f, "not-signed", actual=found[f]) for f in sorted(found.keys() - named.keys())]
    return tuple(problems)


def _hash(model_signing: Any, model: Path, serialization: dict[str, Any]) -> dict[str, str]:
    ignored = list(serialization.get("ignore_paths", ()))
    hashing = model_signing.hashing.Config()
    options = {"hashing_algorithm": serialization["hash_type"], "allow_symlinks": serialization["allow_symlinks"],
               "ignore_paths": ignored}
    if serialization["method"] == "shards":
        hashing.use_shard_serialization(shard_size=serialization["shard_size"], **options)
    else:
        hashing.use_file_serialization(**options)
    hashing.add_ignored_paths(model_path=model, paths=ignored)
    return {str(rd.identifier): rd.digest.digest_hex for rd in hashing.hash(model).resource_descriptors()}


def _file_name(identifier: str, model: Path) -> str:
    """A manifest identifier as a file: shards (``file:start:end``) by their file, ``.`` as the model file."""
    parts = identifier.rsplit(":", 2)
    name = parts[0] if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit() else identifier
    return model.name if name == "." else name


def _count(signed: dict[str, Any] | None) -> int:
    return len({_file_name(str(r.get("name")), Path(".")) for r in signed["resources"] if isinstance(r, dict)}) \
        if signed else 0


def _algorithm(signed: dict[str, Any] | None) -> str | None:
    return str(signed["serialization"].get("hash_type")) if signed else None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 300 else text[:299] + "…"


def _short(digest: str | None) -> str:
    return f"{digest[:8]}..." if digest else "nothing"
