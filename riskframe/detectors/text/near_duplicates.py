"""``near-duplicates``: exact and near-duplicate records, clustered, with datasketch's MinHash LSH.

Duplicated records matter twice: a phrase an attacker injects is usually repeated, with variations,
so that training weighs it (ATLAS AML.T0020, Poison Training Data); and a model repeats what it saw
many times far more readily than what it saw once (Kandpal et al., 2022), so duplicated personal
data or secrets are the ones most likely to leak (AML.T0057).

Each record is normalised (Unicode NFKC, lower case, whitespace collapsed). Records with the same
normalised text are exact duplicates (sha256). For the rest, each record's character ``shingle``-grams
go into a MinHash of ``num_perm`` permutations and an LSH index tuned to ``threshold`` (datasketch);
every candidate pair the index returns is checked against the MinHash estimate of its Jaccard
similarity, and the pairs at or above ``threshold`` join their records into clusters (union-find).
Records shorter than ``min_chars`` are compared exactly only: a few words share most of their
shingles by chance. The MinHash signatures are held in memory (``num_perm`` x 8 bytes a record) and
checked against the dataset memory budget before the pass starts.

Outcome: ``fail`` when a cluster holds ``max_cluster_size`` records or more, or when the records
beyond the first of each cluster exceed ``max_duplicate_share`` of the corpus; ``pass`` otherwise,
with every cluster still listed. Score: the larger of the two ratios to their limits, capped at 1,
when failing; 0 when passing.
"""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from riskframe.data.text import TextCorpus, TextRecord
from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.detectors.text._scan import redact
from riskframe.errors import MissingDependencyError
from riskframe.results import DetectorResult


class NearDuplicatesParams(DetectorParams):
    """Parameters of ``near-duplicates``."""

    threshold: float = Field(default=0.6, ge=0.3, le=1.0, description="Jaccard similarity of shingles at which two "
                                                                      "records are near-duplicates")
    num_perm: int = Field(default=128, ge=16, le=512, description="MinHash permutations")
    shingle: int = Field(default=5, ge=2, le=20, description="characters per shingle")
    min_chars: int = Field(default=30, ge=1, le=10_000, description="shorter records are compared exactly only")
    max_cluster_size: int = Field(default=20, ge=2, description="fail when a cluster holds this many records")
    max_duplicate_share: float = Field(default=0.05, ge=0.0, le=1.0,
                                       description="fail when records beyond the first of each cluster exceed "
                                                   "this share of the corpus")
    clusters_shown: int = Field(default=20, ge=0, le=500, description="largest clusters listed in the evidence")
    batch_size: int = Field(default=1024, ge=1, le=65536, description="records read at a time")


class NearDuplicates(Detector[NearDuplicatesParams]):
    """Exact and near-duplicate records of a text corpus (MinHash LSH, datasketch)."""

    name: ClassVar[str] = "near-duplicates"
    title: ClassVar[str] = "Exact and near-duplicate records of a text corpus, clustered (MinHash LSH)"
    requires = ("dataset",)
    dataset_kind = "text"
    Params = NearDuplicatesParams
    techniques = ("AML.T0020", "AML.T0057")
    imports = ("datasketch",)

    def run(self, ctx: RunContext, params: NearDuplicatesParams) -> DetectorResult:
        corpus = ctx.text()
        size = corpus.n_records * params.num_perm * 8
        if size > ctx.store.budget.left:
            raise ctx.store.budget.exceeded(size, f"{corpus.name}: MinHash signatures of {corpus.n_records:,} "
                                                  f"records", when="before the pass")
        parent = find_clusters(corpus, params, ctx.seed)
        return _result(corpus, parent, params)


def normalise(text: str) -> str:
    """NFKC, lower case, whitespace runs collapsed to one space, stripped."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def shingles(text: str, k: int) -> set[bytes]:
    """The character ``k``-grams of ``text`` (the whole text when shorter), as UTF-8."""
    if len(text) <= k:
        return {text.encode()}
    return {text[i:i + k].encode() for i in range(len(text) - k + 1)}


def find_clusters(corpus: TextCorpus, params: NearDuplicatesParams, seed: int = 0) -> np.ndarray:
    """Union-find parents: records ``i`` and ``j`` are in one cluster when their roots agree."""
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        raise MissingDependencyError("datasketch", "text", "near-duplicates") from None
    n = corpus.n_records
    parent = np.arange(n)
    signatures = np.zeros((n, params.num_perm), dtype=np.uint64)
    lsh = MinHashLSH(threshold=params.threshold, num_perm=params.num_perm)
    exact: dict[bytes, int] = {}
    for batch in corpus.batches(params.batch_size):
        for record in batch:
            text = normalise(record.text)
            digest = hashlib.sha256(text.encode()).digest()
            if digest in exact:
                _union(parent, exact[digest], record.index)
                continue
            exact[digest] = record.index
            if len(text) < params.min_chars:
                continue
            minhash = MinHash(num_perm=params.num_perm, seed=seed + 1)
            minhash.update_batch(list(shingles(text, params.shingle)))
            signatures[record.index] = minhash.hashvalues
            for other in lsh.query(minhash):
                similarity = float(np.mean(signatures[other] == minhash.hashvalues))
                if similarity >= params.threshold:
                    _union(parent, other, record.index)
            lsh.insert(record.index, minhash, check_duplication=False)
    return np.array([_root(parent, i) for i in range(n)])


def _root(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = int(parent[i])
    return i


def _union(parent: np.ndarray, a: int, b: int) -> None:
    ra, rb = _root(parent, a), _root(parent, b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)


def _result(corpus: TextCorpus, roots: np.ndarray, params: NearDuplicatesParams) -> DetectorResult:
    n = corpus.n_records
    ids, counts = np.unique(roots, return_counts=True)
    clustered = {int(root): int(size) for root, size in zip(ids, counts, strict=True) if size > 1}
    duplicates = sum(size - 1 for size in clustered.values())
    share = duplicates / n
    largest = max(clustered.values(), default=1)
    failed = largest >= params.max_cluster_size or share > params.max_duplicate_share
    ratio = max(largest / params.max_cluster_size, share / params.max_duplicate_share if params.max_duplicate_share
                else float(duplicates > 0))
    shown = sorted(clustered, key=lambda root: (-clustered[root], root))[:params.clusters_shown]
    evidence = {"records": n, "clusters": len(clustered), "duplicate_records": duplicates,
                "largest_cluster": largest, "threshold": params.threshold,
                "largest_clusters": _describe(corpus, roots, shown, clustered)}
    metrics = {"records": float(n), "clusters": float(len(clustered)), "duplicate_records": float(duplicates),
               "duplicate_share": share, "largest_cluster": float(largest)}
    return DetectorResult(status="fail" if failed else "pass", score=min(1.0, ratio) if failed else 0.0,
                          summary=_summary(n, len(clustered), duplicates, largest, params, failed),
                          metrics=metrics, evidence=evidence)


def _describe(corpus: TextCorpus, roots: np.ndarray, shown: list[int], sizes: dict[int, int]) -> list[dict[str, Any]]:
    """Each shown cluster: its size, its first ten members and where they are, whether those are
    identical once normalised, and an excerpt of its first record with personal data and
    credentials masked."""
    members: dict[int, list[TextRecord]] = {root: [] for root in shown}
    for record in corpus.records():
        group = members.get(int(roots[record.index]))
        if group is not None and len(group) < 10:
            group.append(record)
    out = []
    for root in shown:
        first = members[root]
        texts = {normalise(r.text) for r in first}
        out.append({"size": sizes[root], "identical": len(texts) == 1,
                    "records": [r.index for r in first], "where": [r.where for r in first[:5]],
                    "excerpt": redact(first[0].text)[:160]})
    return out


def _summary(n: int, clusters: int, duplicates: int, largest: int, params: NearDuplicatesParams,
             failed: bool) -> str:
    if not clusters:
        return f"No two of {n:,} records are duplicates or near-duplicates (Jaccard >= {params.threshold:g})."
    why = []
    if largest >= params.max_cluster_size:
        why.append(f"a cluster of {largest} records reaches the limit of {params.max_cluster_size}")
    if duplicates / n > params.max_duplicate_share:
        why.append(f"{duplicates / n:.1%} of records are copies, over the {params.max_duplicate_share:.1%} allowed")
    verdict = "; ".join(why) if failed else "within the limits"
    return (f"{duplicates:,} of {n:,} records duplicate or nearly duplicate another, in {clusters:,} clusters "
            f"(the largest {largest}): {verdict}.")
