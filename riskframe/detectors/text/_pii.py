"""Personal data found by Microsoft Presidio's recognisers, offline, with their checksums.

Presidio's ``AnalyzerEngine`` wants a spaCy model (a download); riskframe calls Presidio's pattern
recognisers directly instead, so nothing is fetched and no language model runs. Each recogniser
keeps its own validation: Luhn for card numbers, ISO 13616 mod-97 and the country's length for
IBANs, the SSA's rules for SSNs, libphonenumber's for phone numbers. On top of them:

- ``US_SSN``: only the written forms ``123-45-6789`` / ``123 45 6789`` (a bare 9-digit number is
  as likely an order number), and the SSA ranges Presidio does not check: no area 900-999 (never
  issued as SSNs; ITINs live there), besides Presidio's 000, 666, group 00 and serial 0000;
- ``EMAIL_ADDRESS``: the domain's public suffix is checked against the list tldextract ships, never
  fetched (Presidio's own recogniser would try the network first);
- ``PHONE_NUMBER``: libphonenumber's strict grouping (digits grouped as the region writes them),
  not Presidio's "valid number" leniency, which reads ``2024-05-1234`` order numbers as phones;
- ``IP_ADDRESS``: not when ``version``, ``release``, ``build`` or ``v`` introduces it (version
  strings such as ``v1.2.3.4``);
- ``CREDIT_CARD``: not when the number is part of a longer grouped number (``FR07 3969 9686 1530
  5001 7704 861``: a group of digits on either side, with the same separator), such as an account
  number or an IBAN that fails its own check;
- ``PHONE_NUMBER``: a bare run of digits (``2084912530``) only with a leading ``+``: unformatted,
  purchase-order and account numbers are indistinguishable from it;
- ``CREDIT_CARD`` and ``PHONE_NUMBER``: not inside an IBAN-shaped code (``GB49 XWMB 4979 5216
  6448 59``), whether or not it passes mod-97.

Confidence scores are Presidio's and are not used for the decision: a match that passes its
checks is a finding.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from riskframe.errors import MissingDependencyError

Span = tuple[str, int, int]

PII_TYPES = ("CREDIT_CARD", "IBAN_CODE", "US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS")
_SSN_WRITTEN = re.compile(r"^\d{3}([- ])\d{2}\1\d{4}$")
# A group with a digit right before the number, or digits right after it, with the card's separator.
_GROUP_BEFORE = {sep: re.compile(rf"(?:^|[^\w])(?=[A-Z]{{0,5}}\d)[A-Z0-9]{{1,6}}{re.escape(sep)}$") for sep in " -"}
_GROUP_AFTER = {sep: re.compile(rf"^{re.escape(sep)}\d{{1,6}}\b") for sep in " -"}
_IBAN_SHAPE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_VERSION_BEFORE = re.compile(r"(?i)(?:\bversion|\brelease|\bbuild|\bv(?:er)?\.?)\s*$")
# A necessary condition of each type, checked before its (much slower) recogniser runs.
_NEEDS = {"CREDIT_CARD": re.compile(r"\d{4}"), "IBAN_CODE": re.compile(r"(?i)[a-z]{2}\d{2}"),
          "US_SSN": re.compile(r"\d{3}"), "EMAIL_ADDRESS": re.compile("@"),
          "PHONE_NUMBER": re.compile(r"\d(?:[\s().-]{0,3}\d){6}"),
          "IP_ADDRESS": re.compile(r"\d[.:]|:[0-9a-fA-F]")}
_lock = threading.Lock()
_recognisers: dict[str, Any] = {}


def find_pii(text: str, types: Sequence[str] = PII_TYPES) -> Iterator[Span]:
    """Every personal-data match in ``text`` that passes its checks, as (type, start, end).

    Raises
    ------
    MissingDependencyError
        Presidio is not installed (the ``text`` extra).
    """
    recognisers = _load()
    for kind in types:
        if not _NEEDS[kind].search(text):  # what every match holds: skip the recogniser when it is absent
            continue
        for result in recognisers[kind].analyze(text, [kind], None):
            if _keep(kind, text, result.start, result.end):
                yield kind, result.start, result.end


def _keep(kind: str, text: str, start: int, end: int) -> bool:
    value = text[start:end]
    if kind == "US_SSN":
        return _SSN_WRITTEN.match(value) is not None and value[0] != "9"
    if kind == "IP_ADDRESS":
        return _VERSION_BEFORE.search(text[max(0, start - 12):start]) is None
    if kind == "CREDIT_CARD":
        separator = next((c for c in value if c in " -"), None)
        if _in_iban_shape(text, start, end):
            return False
        return separator is None or not (_GROUP_BEFORE[separator].search(text[max(0, start - 8):start])
                                         or _GROUP_AFTER[separator].match(text[end:end + 8]))
    if kind == "PHONE_NUMBER":
        return (not value.isdigit() or text[max(0, start - 1):start] == "+") and not _in_iban_shape(text, start, end)
    return True


def _in_iban_shape(text: str, start: int, end: int) -> bool:
    offset = max(0, start - 40)
    return any(m.start() + offset <= start and end <= m.end() + offset
               for m in _IBAN_SHAPE.finditer(text[offset:end + 12]))


def _load() -> dict[str, Any]:
    with _lock:
        if not _recognisers:
            _recognisers.update(_build())
        return _recognisers


def _build() -> dict[str, Any]:
    try:
        import tldextract
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            EmailRecognizer,
            IbanRecognizer,
            IpRecognizer,
            PhoneRecognizer,
            UsSsnRecognizer,
        )
    except ImportError:
        raise MissingDependencyError("presidio-analyzer", "text", "pii-secrets") from None
    # The public-suffix list tldextract ships; an empty URL list means it never goes online.
    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return bool(offline(pattern_text).fqdn)

    strict_grouping = 2  # phonenumbers.Leniency.STRICT_GROUPING
    return {"CREDIT_CARD": CreditCardRecognizer(), "IBAN_CODE": IbanRecognizer(), "US_SSN": UsSsnRecognizer(),
            "EMAIL_ADDRESS": OfflineEmailRecognizer(), "PHONE_NUMBER": PhoneRecognizer(leniency=strict_grouping),
            "IP_ADDRESS": IpRecognizer()}
