"""Personal data and credentials in a text, overlaps resolved, and how each is shown masked.

Two recognisers can claim the same characters (``aws_secret_access_key = ...`` is an AWS secret
and a secret assignment; a valid IBAN holds sixteen digits that may pass Luhn; a token in a URL,
``https://ghp_...@github.com``, reads as an e-mail address): a credential of a known format wins,
then any credential, then the longer span (the IBAN, not the card inside it), then the more
specific type. What a person reads in evidence is :func:`mask` of a
finding: the public part of its format at most (a card's last four digits, an e-mail's domain, a
token's issuer prefix) and its length, never the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from riskframe.detectors.text._pii import PII_TYPES, find_pii
from riskframe.detectors.text._secrets import SECRET_TYPES, find_secrets

# Most specific first: an overlap goes to the type earlier in this list.
_PRIORITY = ("PRIVATE_KEY", "JWT", "GITHUB_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "CREDIT_CARD",
             "IBAN_CODE", "US_SSN", "EMAIL_ADDRESS", "IP_ADDRESS", "PHONE_NUMBER", "SECRET_ASSIGNMENT")
ALL_TYPES = (*PII_TYPES, *SECRET_TYPES)


@dataclass(frozen=True, slots=True)
class Finding:
    """One match: its type, where it is in the text, and the value (kept in memory, never reported)."""

    type: str
    start: int
    end: int
    value: str

    @property
    def secret(self) -> bool:
        return self.type in SECRET_TYPES

    @property
    def masked(self) -> str:
        return mask(self.type, self.value)


def scan(text: str, pii: Sequence[str] = PII_TYPES, secrets: Sequence[str] = SECRET_TYPES) -> list[Finding]:
    """The findings of the requested types in ``text``, in text order, no two overlapping."""
    spans = list(find_pii(text, pii)) if pii else []
    if secrets:
        wanted = set(secrets)
        spans += [s for s in find_secrets(text) if s[0] in wanted]
    spans.sort(key=lambda s: (s[0] == "SECRET_ASSIGNMENT", s[0] not in SECRET_TYPES, -(s[2] - s[1]),
                              _PRIORITY.index(s[0]), s[1]))
    kept: list[tuple[str, int, int]] = []
    for kind, start, end in spans:
        if all(end <= s or start >= e for _, s, e in kept):
            kept.append((kind, start, end))
    return [Finding(kind, start, end, text[start:end]) for kind, start, end in sorted(kept, key=lambda s: s[1])]


def mask(kind: str, value: str) -> str:
    """``value`` as evidence may show it (see the module docstring)."""
    length = f"({len(value)} chars)"
    if kind == "CREDIT_CARD":
        digits = [c for c in value if c.isdigit()]
        return "*" * (len(digits) - 4) + "".join(digits[-4:])
    if kind == "IBAN_CODE":
        return value[:2] + "** " + "*" * 4 + " … " + length
    if kind == "US_SSN":
        return "***-**-****"
    if kind == "EMAIL_ADDRESS":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if kind == "PHONE_NUMBER":
        digits = [c for c in value if c.isdigit()]
        return "*" * max(0, len(digits) - 2) + "".join(digits[-2:])
    if kind == "IP_ADDRESS":
        return value.split(".")[0] + ".*.*.*" if "." in value else value.split(":")[0] + ":*"
    if kind == "PRIVATE_KEY":
        return value.split("-----")[1].strip() + " block " + length
    if kind == "GITHUB_TOKEN":  # ghp_, github_pat_: the issuer's prefix
        return ("github_pat_" if value.startswith("github_pat_") else value[:4]) + "…" + length
    return value[:{"AWS_ACCESS_KEY_ID": 4, "JWT": 3}.get(kind, 0)] + "…" + length


def redact(text: str) -> str:
    """``text`` with every finding replaced by its masked form, for excerpts in evidence."""
    out, at = [], 0
    for finding in scan(text):
        out += [text[at:finding.start], f"[{finding.type}: {finding.masked}]"]
        at = finding.end
    return "".join([*out, text[at:]])
