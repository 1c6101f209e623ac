"""Credentials Presidio does not look for, each found by its published format and checked the way
its issuer built it, so that look-alikes (examples, placeholders, hashes) are not reported.

=========================  ==================================================================
type                        what is checked beyond the pattern
=========================  ==================================================================
AWS_ACCESS_KEY_ID           ``AKIA``/``ASIA``/``ABIA``/``ACCA`` + 16 base32 characters; AWS's
                            documentation example is not a key
AWS_SECRET_ACCESS_KEY       40 base64 characters, only where named as a secret access key or
                            within 200 characters of an access key id (the pair)
GITHUB_TOKEN                ``gh[pousr]_`` + 30 random base62 characters + their CRC32 in
                            base62 (GitHub's token format, 2021): a wrong checksum is no token;
                            ``github_pat_`` fine-grained tokens by their two-part format
PRIVATE_KEY                 a PEM ``BEGIN ... PRIVATE KEY`` block with its matching ``END`` line
                            and a body that decodes as base64 (an elided or truncated block is not)
JWT                         three base64url parts whose header decodes to a JSON object naming
                            ``alg`` and whose payload decodes to a JSON object
SECRET_ASSIGNMENT           a value assigned to a secret-like name (password, token, api_key...)
                            of 12+ characters, Shannon entropy of at least 3.5 bits per character
                            (0.8 x log2 of its length when shorter than 21: a short string cannot
                            reach 3.5), and no placeholder (``${VAR}``, ``<your-key>``, ``xxxx``)
=========================  ==================================================================

Written here rather than taken from detect-secrets: its plugins report hex and base64 strings by
entropy alone (every sha256 in a corpus is a finding) and check no issuer format; the benchmark
(benchmarks/text_audit.py) runs both on the same corpus.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import string
import zlib
from collections import Counter
from collections.abc import Iterator

Span = tuple[str, int, int]  # (type, start, end)

SECRET_TYPES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "PRIVATE_KEY", "JWT",
                "SECRET_ASSIGNMENT")

_AWS_ID = re.compile(r"(?<![A-Za-z0-9])((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})(?![A-Za-z0-9])")
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")
_AWS_SECRET_NAME = re.compile(r"(?i)(?:aws_?secret_?(?:access_?)?key|secret_?access_?key)[\"']?\s*[:=]\s*[\"']?$")
_AWS_EXAMPLES = frozenset({"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
_PAIR_WINDOW = 200

_GITHUB = re.compile(r"(?<![A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})"
                     r"(?![A-Za-z0-9_])")
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

_PEM = re.compile(r"-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----"
                  r"(.{0,16384}?)-----END \1-----", re.DOTALL)
_PEM_HEADER = re.compile(r"^[A-Za-z-]+:.*$", re.MULTILINE)

_JWT = re.compile(r"(?<![A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*)(?![A-Za-z0-9_.-])")

_ASSIGNMENT = re.compile(
    r"(?i)(?<![A-Za-z0-9])([A-Za-z0-9_.-]*(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"private[_-]?key|client[_-]?secret|auth[_-]?key|credentials?))[\"']?\s*(?::|=|:=|=>)\s*([\"']?)"
    r"([^\s\"'`,;]{12,256})\2")
_PLACEHOLDER = re.compile(r"(?i)^(?:\$\{.*\}|\$[A-Z_]+|<.*>|\{\{.*\}\}|%\(.*\)s|.*(?:changeme|example|placeholder|"
                          r"your[_-]|dummy|redacted|xxxx|\*\*\*\*|secret_here|not_?a_?secret|todo).*)$")
MIN_ENTROPY = 3.5


def find_secrets(text: str) -> Iterator[Span]:
    """Every credential in ``text`` as (type, start, end), checked as the module docstring says."""
    ids = [m for m in _AWS_ID.finditer(text) if m.group(1) not in _AWS_EXAMPLES]
    for match in ids:
        yield "AWS_ACCESS_KEY_ID", match.start(1), match.end(1)
    yield from _aws_secrets(text, [m.start(1) for m in ids])
    for match in _GITHUB.finditer(text):
        if _github_checksum_ok(match.group(1)):
            yield "GITHUB_TOKEN", match.start(1), match.end(1)
    for match in _PEM.finditer(text):
        if _pem_body_ok(match.group(2)):
            yield "PRIVATE_KEY", match.start(), match.end()
    for match in _JWT.finditer(text):
        if _jwt_ok(match.group(1)):
            yield "JWT", match.start(1), match.end(1)
    for match in _ASSIGNMENT.finditer(text):
        if secret_like(match.group(3)):
            yield "SECRET_ASSIGNMENT", match.start(3), match.end(3)


def _aws_secrets(text: str, id_starts: list[int]) -> Iterator[Span]:
    for match in _AWS_SECRET.finditer(text):
        value = match.group(1)
        if value in _AWS_EXAMPLES or not (any(c.isdigit() for c in value) and any(c.isupper() for c in value)):
            continue
        named = _AWS_SECRET_NAME.search(text[max(0, match.start() - 60):match.start()]) is not None
        paired = any(abs(match.start() - start) <= _PAIR_WINDOW for start in id_starts)
        if named or paired:
            yield "AWS_SECRET_ACCESS_KEY", match.start(1), match.end(1)


def github_checksum(random_part: str) -> str:
    """The 6 base62 characters GitHub appends to a token's 30 random characters: their CRC32."""
    value, out = zlib.crc32(random_part.encode("ascii")), ""
    while value:
        value, digit = divmod(value, 62)
        out = _BASE62[digit] + out
    return out.rjust(6, "0")


def _github_checksum_ok(token: str) -> bool:
    if token.startswith("github_pat_"):  # no published checksum: the format and some entropy
        return shannon_entropy(token[11:]) >= 4.0
    body = token[4:]
    return github_checksum(body[:30]) == body[30:]


def _pem_body_ok(body: str) -> bool:
    payload = "".join(_PEM_HEADER.sub("", body).split())
    if len(payload) < 64:
        return False
    try:
        base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _jwt_ok(token: str) -> bool:
    header, payload, _ = token.split(".")
    decoded = [_b64url_json(header), _b64url_json(payload)]
    return isinstance(decoded[0], dict) and "alg" in decoded[0] and isinstance(decoded[1], dict)


def _b64url_json(part: str) -> object:
    try:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return None


def secret_like(value: str) -> bool:
    """A value that reads as a real credential: long, high in entropy, no placeholder."""
    if len(value) < 12 or _PLACEHOLDER.match(value):
        return False
    return shannon_entropy(value) >= min(MIN_ENTROPY, 0.8 * math.log2(len(value)))


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s character distribution."""
    if not value:
        return 0.0
    counts, n = Counter(value), len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())
