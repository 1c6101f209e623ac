"""``denylist-content``: records that copy or quote content the organisation's deny list forbids.

The deny list (``kind: DenyList``, :mod:`riskframe.spec.denylist`) names known documents
(hazardous instructions, copyrighted works, leaked internal text) and patterns. A record matches a
document when its normalised text is the document's (sha256: an exact copy), or when it shares at
least ``min_shared_ngrams`` word ``ngram``-grams with it (a quoted passage, reformatted or cut:
normalisation drops case, punctuation and spacing). A record matches a pattern when the regular
expression finds it. The deny list is named by ``denylist:`` (a path relative to the pipeline's
folder, inside it or its ``data_roots``); its sha256 is recorded in the evidence, and nothing of
the denied content is: matches are named by entry id and located by record, shard and line.
(ATLAS AML.T0019 / AML.T0020: content that should never have been collected; AML.T0057: a model
can reproduce it.)

Outcome: ``fail`` when more than ``max_matching_records`` records match; ``pass`` otherwise; a
result ``not_applicable`` when no deny list is configured (a policy that requires the control
then fails as unassessed, unless it allows that). Score: 1 when failing, 0 otherwise.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from riskframe.data.roots import DataRoots
from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.detectors.text.near_duplicates import normalise
from riskframe.errors import ArtifactError
from riskframe.io.digests import sha256_file
from riskframe.results import DetectorResult
from riskframe.spec.denylist import DeniedDocument, DeniedPattern, DenyListSpec

MAX_DOCUMENT_BYTES = 64 << 20
_WORD = re.compile(r"\w+")


class DenylistContentParams(DetectorParams):
    """Parameters of ``denylist-content``."""

    denylist: str | None = Field(default=None, min_length=1,
                                 description="the deny-list file (kind: DenyList), relative to the pipeline's folder")
    ngram: int = Field(default=8, ge=3, le=50, description="words per fingerprinted n-gram")
    min_shared_ngrams: int = Field(default=3, ge=1, description="n-grams a record must share with a document")
    max_matching_records: int = Field(default=0, ge=0, description="fail when more records match")
    samples: int = Field(default=5, ge=0, le=100, description="matching records shown per entry")
    batch_size: int = Field(default=1024, ge=1, le=65536, description="records read at a time")


class DenylistContent(Detector[DenylistContentParams]):
    """Records copying documents or matching patterns of an organisation's deny list."""

    name: ClassVar[str] = "denylist-content"
    title: ClassVar[str] = "Records that copy or quote deny-listed documents or match deny-listed patterns"
    requires = ("dataset",)
    dataset_kind = "text"
    Params = DenylistContentParams
    techniques = ("AML.T0019", "AML.T0020", "AML.T0057")

    def run(self, ctx: RunContext, params: DenylistContentParams) -> DetectorResult:
        corpus = ctx.text()  # read first: a damaged corpus is an error, whatever the configuration
        if params.denylist is None:
            return DetectorResult(status="not_applicable", score=0.0,
                                  summary="No deny list is configured (set denylist: to a kind: DenyList file).")
        path, index = load_index(params.denylist, ctx.store.roots, params.ngram)
        matches = _Matches()
        for batch in corpus.batches(params.batch_size):
            for record in batch:
                for entry, how in index.match(record.text, params.min_shared_ngrams):
                    matches.add(entry, record.index, record.where, how, params.samples)
        return matches.result(index, path, sha256_file(path), corpus.n_records, params)


@dataclass
class Index:
    """Fingerprints of a deny list: exact digests, n-gram -> documents, compiled patterns."""

    spec: DenyListSpec
    ngram: int
    exact: dict[bytes, str] = field(default_factory=dict)
    grams: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    patterns: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)

    def match(self, text: str, min_shared: int) -> Iterator[tuple[str, str]]:
        """(entry id, how) of every entry ``text`` matches."""
        normal = normalise(text)
        exact = self.exact.get(hashlib.sha256(normal.encode()).digest())
        if exact is not None:
            yield exact, "exact copy"
        shared: dict[str, int] = defaultdict(int)
        grams = fingerprints(normal, self.ngram)
        for gram in grams:
            for entry in self.grams.get(gram, ()):
                shared[entry] += 1
        for entry, count in shared.items():
            if count >= min_shared and entry != exact:
                share = count / max(1, len(grams))
                yield entry, f"{count} shared {self.ngram}-word passages ({share:.0%} of the record)"
        for entry, pattern in self.patterns:
            if pattern.search(text):
                yield entry, "pattern"


def fingerprints(normal: str, n: int) -> set[int]:
    """64-bit digests of every run of ``n`` words of a normalised text (fewer words: the whole text)."""
    words = _WORD.findall(normal)
    runs = [" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))] if words else []
    return {int.from_bytes(hashlib.blake2b(run.encode(), digest_size=8).digest(), "big") for run in runs}


def load_index(relative: str, roots: DataRoots, ngram: int) -> tuple[Path, Index]:
    """The deny list at ``relative`` (inside the roots), fingerprinted.

    Raises
    ------
    ArtifactError
        The file or a document it names is outside the roots, missing, not UTF-8, or too large.
    riskframe.errors.DocumentError
        The deny list is not a valid ``kind: DenyList`` document (located).
    """
    from riskframe.spec.load import load_document  # it imports every document model

    path = roots.existing(relative, "denylist", single="a deny list")
    spec = load_document(path, DenyListSpec)
    assert isinstance(spec, DenyListSpec)
    index = Index(spec, ngram)
    for document in spec.documents:
        if document.sha256 is not None:
            index.exact[bytes.fromhex(document.sha256)] = document.id
            continue
        text = document.text if document.text is not None else _read(path, document.path or "", roots)
        normal = normalise(text)
        index.exact[hashlib.sha256(normal.encode()).digest()] = document.id
        for gram in fingerprints(normal, ngram):
            index.grams[gram].add(document.id)
    index.patterns = [(p.id, re.compile(p.regex)) for p in spec.patterns]
    return path, index


def _read(denylist: Path, relative: str, roots: DataRoots) -> str:
    path = roots.existing(os.path.relpath(denylist.parent / relative, roots.base_dir), "denylist",
                          single="a deny-listed document")
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise ArtifactError(f"{relative} (named by {denylist.name}) is over {MAX_DOCUMENT_BYTES >> 20} MiB", "denylist")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ArtifactError(f"{relative} (named by {denylist.name}) is not UTF-8 text", "denylist") from None


class _Matches:
    def __init__(self) -> None:
        self.records: dict[str, set[int]] = defaultdict(set)
        self.samples: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.any: set[int] = set()

    def add(self, entry: str, index: int, where: str, how: str, keep: int) -> None:
        self.records[entry].add(index)
        self.any.add(index)
        if len(self.samples[entry]) < keep:
            self.samples[entry].append({"record": index, "where": where, "how": how})

    def result(self, index: Index, path: Path, digest: str, n: int, params: DenylistContentParams) -> DetectorResult:
        spec = index.spec
        listed: list[DeniedDocument | DeniedPattern] = [*spec.documents, *spec.patterns]
        entries = [{"id": e.id, "kind": "document" if isinstance(e, DeniedDocument) else "pattern", "title": e.title,
                    "reason": e.reason, "records": len(self.records[e.id]), "samples": self.samples.get(e.id, [])}
                   for e in listed]
        hit = [e for e in entries if e["records"]]
        failed = len(self.any) > params.max_matching_records
        evidence = {"denylist": {"path": params.denylist, "sha256": digest, "name": spec.metadata.name,
                                 "documents": len(spec.documents), "patterns": len(spec.patterns)},
                    "records_matched": len(self.any), "matched_entries": hit,
                    "entries_checked": [e["id"] for e in entries]}
        metrics = {"records": float(n), "records_matched": float(len(self.any)), "entries_matched": float(len(hit))}
        if hit:
            named = ", ".join(f"{e['id']} ({e['records']})" for e in hit[:5])
            summary = (f"{len(self.any)} of {n:,} records match the deny list {spec.metadata.name!r}: {named}"
                       f"{'' if failed else f'; within the {params.max_matching_records} allowed'}.")
        else:
            summary = (f"None of {n:,} records matches the {len(entries)} entries of the deny list "
                       f"{spec.metadata.name!r}.")
        return DetectorResult(status="fail" if failed else "pass", score=1.0 if failed else 0.0, summary=summary,
                              metrics=metrics, evidence=evidence)
