"""``pii-secrets``: personal data and credentials in a text corpus, counted per type, never shown.

Every record is scanned (in batches; the corpus is never held whole) for personal data with
Microsoft Presidio's recognisers and their checksums, run offline (:mod:`._pii`), and for the
credentials Presidio does not know, each checked against its issuer's format (:mod:`._secrets`).
A model trained on the corpus can repeat what it holds (ATLAS AML.T0057, LLM Data Leakage), and a
credential in training data is a credential leaked.

Outcome: ``fail`` when any credential is found, or when the share of records holding personal data
exceeds ``max_pii_share`` (default 0: any); ``pass`` otherwise. The evidence counts findings,
records and distinct values per type and shows up to ``samples`` findings per type, each located
(record index, shard and line, character span) and masked (:func:`._scan.mask`): the value itself
appears nowhere in the result. Score: 1 with a credential; otherwise, when failing,
0.5 + 5 x the share of records with personal data (capped at 1); 0 when passing.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from typing import Any, ClassVar, Literal, get_args

from pydantic import Field

from riskframe.data.text import TextCorpus
from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.detectors.text._pii import PII_TYPES
from riskframe.detectors.text._scan import Finding, scan
from riskframe.detectors.text._secrets import SECRET_TYPES
from riskframe.results import DetectorResult

PiiType = Literal["CREDIT_CARD", "IBAN_CODE", "US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS"]
SecretType = Literal["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "PRIVATE_KEY", "JWT",
                     "SECRET_ASSIGNMENT"]
CHECKS = {
    "CREDIT_CARD": "Presidio pattern and Luhn; not inside a longer grouped number",
    "IBAN_CODE": "Presidio pattern, country length and ISO 13616 mod-97",
    "US_SSN": "Presidio pattern (written ddd-dd-dddd) and SSA ranges: area 001-899 but 666, group 01-99, serial "
              "0001-9999",
    "EMAIL_ADDRESS": "Presidio pattern and a public suffix from tldextract's bundled list (offline)",
    "PHONE_NUMBER": "libphonenumber with strict grouping (US, GB, DE, FR, IL, IN, CA, BR); bare digit runs only "
                    "with a leading +",
    "IP_ADDRESS": "Presidio IPv4/IPv6 pattern; not after version, release, build or v",
    "AWS_ACCESS_KEY_ID": "AKIA/ASIA/ABIA/ACCA and 16 base32 characters; AWS's documentation example excluded",
    "AWS_SECRET_ACCESS_KEY": "40 base64 characters named as a secret access key or within 200 characters of an "
                             "access key id",
    "GITHUB_TOKEN": "gh[pousr]_ tokens with a valid CRC32 checksum; github_pat_ fine-grained tokens by format",
    "PRIVATE_KEY": "PEM BEGIN/END PRIVATE KEY block with a base64 body",
    "JWT": "three base64url parts; header a JSON object naming alg, payload a JSON object",
    "SECRET_ASSIGNMENT": "a value of 12+ characters and 3.5 bits of entropy per character (0.8 x log2 of its "
                         "length when shorter) assigned to a secret-like name, no placeholder",
}


class PiiSecretsParams(DetectorParams):
    """Parameters of ``pii-secrets``."""

    pii: tuple[PiiType, ...] = Field(default=get_args(PiiType), description="personal-data types to look for")
    secrets: tuple[SecretType, ...] = Field(default=get_args(SecretType), description="credential types to look for")
    max_pii_share: float = Field(default=0.0, ge=0.0, le=1.0,
                                 description="fail when a larger share of the records holds personal data")
    samples: int = Field(default=5, ge=0, le=100, description="masked findings shown per type")
    batch_size: int = Field(default=1024, ge=1, le=65536, description="records read at a time")


class PiiSecrets(Detector[PiiSecretsParams]):
    """Personal data and credentials in a text corpus (Presidio, offline, plus issuer formats)."""

    name: ClassVar[str] = "pii-secrets"
    title: ClassVar[str] = "Personal data and credentials in a text corpus, counted per type and masked"
    requires = ("dataset",)
    dataset_kind = "text"
    Params = PiiSecretsParams
    techniques = ("AML.T0057", "AML.T0024", "AML.T0082")
    imports = ("presidio_analyzer",)

    def run(self, ctx: RunContext, params: PiiSecretsParams) -> DetectorResult:
        corpus = ctx.text()
        tally = scan_corpus(corpus, params)
        return tally.result(corpus, params)


class _Tally:
    """Counts per type, the records holding each kind of finding, and the first samples."""

    def __init__(self) -> None:
        self.findings: Counter[str] = Counter()
        self.records: dict[str, set[int]] = defaultdict(set)
        self.distinct: dict[str, set[bytes]] = defaultdict(set)  # digests of values, in memory only
        self.samples: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.with_pii: set[int] = set()
        self.with_secrets: set[int] = set()

    def add(self, index: int, where: str, found: list[Finding], keep: int) -> None:
        for finding in found:
            kind = finding.type
            self.findings[kind] += 1
            self.records[kind].add(index)
            self.distinct[kind].add(hashlib.sha256(finding.value.encode()).digest())
            (self.with_secrets if finding.secret else self.with_pii).add(index)
            if len(self.samples[kind]) < keep:
                self.samples[kind].append({"type": kind, "record": index, "where": where, "masked": finding.masked,
                                           "span": [finding.start, finding.end]})

    def result(self, corpus: TextCorpus, params: PiiSecretsParams) -> DetectorResult:
        n = corpus.n_records
        pii_share = len(self.with_pii) / n
        secrets = sum(self.findings[t] for t in SECRET_TYPES)
        failed = bool(self.with_secrets) or pii_share > params.max_pii_share
        score = 1.0 if self.with_secrets else (min(1.0, 0.5 + 5 * pii_share) if failed else 0.0)
        types = {t: {"kind": "credential" if t in SECRET_TYPES else "personal data", "findings": self.findings[t],
                     "records": len(self.records[t]), "distinct": len(self.distinct[t]), "check": CHECKS[t]}
                 for t in (*params.pii, *params.secrets)}
        evidence = {"records_scanned": n, "types": types,
                    "samples": [s for t in types for s in self.samples.get(t, [])],
                    "records_with_personal_data": len(self.with_pii),
                    "records_with_credentials": len(self.with_secrets),
                    "masking": "values are never recorded: each sample shows at most the public part of its format "
                               "(last four card digits, an e-mail's domain, a token's issuer prefix) and its length"}
        metrics = {"records_scanned": float(n), "findings": float(sum(self.findings.values())),
                   "credentials": float(secrets), "records_with_credentials": float(len(self.with_secrets)),
                   "records_with_personal_data": float(len(self.with_pii)), "personal_data_share": pii_share}
        return DetectorResult(status="fail" if failed else "pass", score=score, summary=self._summary(n, params),
                              metrics=metrics, evidence=evidence)

    def _summary(self, n: int, params: PiiSecretsParams) -> str:
        def listed(types: tuple[str, ...]) -> str:
            return ", ".join(f"{self.findings[t]} {t}" for t in types if self.findings[t])

        parts = []
        if self.with_secrets:
            parts.append(f"{sum(self.findings[t] for t in SECRET_TYPES)} credentials in {len(self.with_secrets)} "
                         f"records ({listed(SECRET_TYPES)})")
        if self.with_pii:
            share = len(self.with_pii) / n
            allowed = f", over the {params.max_pii_share:.1%} allowed" if share > params.max_pii_share else \
                f", within the {params.max_pii_share:.1%} allowed"
            parts.append(f"personal data in {len(self.with_pii)} of {n:,} records ({share:.1%}{allowed}: "
                         f"{listed(PII_TYPES)})")
        if not parts:
            return (f"No personal data or credential of the {len(params.pii) + len(params.secrets)} types checked in "
                    f"{n:,} records.")
        return f"Found {' and '.join(parts)}; the evidence shows them masked."


def scan_corpus(corpus: TextCorpus, params: PiiSecretsParams) -> _Tally:
    """Scan every record of ``corpus`` for the types ``params`` names."""
    tally = _Tally()
    for batch in corpus.batches(params.batch_size):
        for record in batch:
            found = scan(record.text, params.pii, params.secrets)
            if found:
                tally.add(record.index, record.where, found, params.samples)
    return tally
