"""Text-corpus audit benchmark: riskframe's corpus detectors next to raw Presidio, detect-secrets and datasketch.

Corpus (:func:`riskframe.scenarios.text.audit_corpus`): 20,000 labelled reviews per seed with 150
values of each personal-data and credential type planted (the AWS pairs add 150 secret keys), 150
look-alikes of each of 15 kinds (card numbers failing Luhn, IBANs failing mod-97, invalid SSNs,
order and purchase numbers, hashes, version strings, placeholder and example credentials, GitHub
tokens with a wrong checksum, public keys, elided private keys, truncated JWTs, dates, UUIDs,
prices), 333 originals copied one to three times (exactly, re-cased, or a word in twelve changed),
40 variations of an injected spam sentence, and a trigger phrase in 1% of the records relabelled.

Per seed, in one process:

- **PII and secrets**: riskframe's scanner (``pii-secrets``' engine) on every record; raw Presidio
  (``AnalyzerEngine`` with its default recognisers on a blank spaCy pipeline, default threshold;
  tldextract kept offline); raw detect-secrets (``SecretsCollection.scan_file`` with its default
  plugins and filters on the corpus written one record per line). A finding counts as a true
  positive when it overlaps a planted value of its type in the same record. detect-secrets' AWS
  detector reports key ids and secret keys alike, so AWS is scored as one family; its generic
  plugins (keyword, base64 and hex entropy) are scored against the generic secret assignments, and
  their reports of a planted credential of another type are left out (neither right nor wrong).
  detect-secrets keeps one finding per (file, type, secret value), and its GitHub and private-key
  plugins report the pattern's first group (``ghp``, ``BEGIN RSA PRIVATE KEY``) as the value, so
  in one corpus file all tokens of a prefix collapse into one finding: that is what a user of it
  gets on a corpus, and the table shows it.
- **Near-duplicates**: ``near-duplicates``' clustering vs datasketch alone (MinHash of the same
  character 5-grams, ``MinHashLSH`` at the same threshold, insert then query every record):
  recall of planted copies (copy and original in one cluster), records clustered that nothing
  planted, records per second.
- **Trigger**: ``text-backdoor`` through its ``run``: the phrase, its target label, recall of the
  carrying records.

Run: ``.venv/bin/python benchmarks/text_audit.py [--seeds 0 1 2] [--records 20000]`` (about 4
minutes a seed on 2 cores; needs the text extra and detect-secrets: ``pip install -e '.[text,bench]'``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.text._scan import scan
from riskframe.detectors.text.backdoor import TextBackdoor
from riskframe.detectors.text.near_duplicates import NearDuplicatesParams, find_clusters, normalise, shingles
from riskframe.detectors.text.pii_secrets import PiiSecrets
from riskframe.scenarios.text import PII_KINDS, TextScenario, audit_corpus
from riskframe.spec.pipeline import Artifact, Stage

AWS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
SECRET_FAMILIES = {"AWS key (id or secret)": AWS, "GITHUB_TOKEN": ("GITHUB_TOKEN",), "PRIVATE_KEY": ("PRIVATE_KEY",),
                   "JWT": ("JWT",), "SECRET_ASSIGNMENT": ("SECRET_ASSIGNMENT",)}
DETECT_SECRETS = {"AWS Access Key": "AWS key (id or secret)", "GitHub Token": "GITHUB_TOKEN",
                  "Private Key": "PRIVATE_KEY", "JSON Web Token": "JWT", "Secret Keyword": "SECRET_ASSIGNMENT",
                  "Base64 High Entropy String": "SECRET_ASSIGNMENT", "Hex High Entropy String": "SECRET_ASSIGNMENT"}
RECALL_TARGET, PRECISION_TARGET, DUPLICATE_RECALL_TARGET = 0.99, 0.98, 0.95

Found = dict[str, list[tuple[int, str]]]  # family -> (record, value)


def context(folder: Path) -> RunContext:
    artifact = Artifact(name="corpus", type="dataset", path="corpus.jsonl", labels="label")
    stage = Stage(name="ingest", kind="data-understanding", artifacts=[artifact])
    return RunContext(stage=stage, bindings={"dataset": (artifact,)}, store=ArtifactStore(folder))


def family_of(kind: str) -> str:
    return next((f for f, kinds in SECRET_FAMILIES.items() if kind in kinds), kind)


def score(found: Found, scenario: TextScenario, families: list[str]) -> dict[str, tuple[float, float, int, int]]:
    """family -> (precision, recall, findings, planted)."""
    truth: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for planted in scenario.planted:
        truth[family_of(planted.kind)].append((planted.record, planted.value))
    other = {(p.record, p.value) for p in scenario.planted}
    out = {}
    for family in families:
        planted = truth[family]
        by_record: dict[int, list[str]] = defaultdict(list)
        for record, value in planted:
            by_record[record].append(value)

        def hits(record: int, value: str, values: list[str]) -> bool:
            return any(value in v or v in value for v in values)

        kept = [(r, v) for r, v in found.get(family, [])
                if hits(r, v, by_record[r]) or not any(hits(r, v, [w]) for (q, w) in other if q == r)]
        tp = sum(hits(r, v, by_record[r]) for r, v in kept)
        recalled = sum(any(r == q and hits(q, v, [w]) for q, v in found.get(family, [])) for r, w in planted)
        out[family] = (tp / len(kept) if kept else 1.0, recalled / len(planted) if planted else 1.0, len(kept),
                       len(planted))
    return out


def run_riskframe(scenario: TextScenario, folder: Path) -> tuple[Found, float]:
    ctx = context(folder)
    ctx.text()  # validated once, as the assessment does before any detector runs
    start = time.perf_counter()
    PiiSecrets().run(ctx, PiiSecrets.Params())
    seconds = time.perf_counter() - start
    found: Found = defaultdict(list)
    for index, record in enumerate(scenario.records):  # the same engine, every finding kept for scoring
        for finding in scan(record["text"]):
            found[family_of(finding.type)].append((index, finding.value))
    return found, seconds


def run_presidio(scenario: TextScenario, folder: Path) -> tuple[Found, float]:
    import spacy
    import tldextract
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)  # never online
    spacy.blank("en").to_disk(folder / "blank-en")
    engine = AnalyzerEngine(nlp_engine=SpacyNlpEngine(models=[{"lang_code": "en",
                                                               "model_name": str(folder / "blank-en")}]))
    found: Found = defaultdict(list)
    start = time.perf_counter()
    for index, record in enumerate(scenario.records):
        text = record["text"]
        for result in engine.analyze(text=text, language="en", entities=list(PII_KINDS)):
            found[result.entity_type].append((index, text[result.start:result.end]))
    return found, time.perf_counter() - start


def run_detect_secrets(scenario: TextScenario, folder: Path) -> tuple[Found, float]:
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    path, lines = folder / "corpus.txt", []
    owner: list[int] = []
    for index, record in enumerate(scenario.records):
        for line in record["text"].split("\n"):
            lines.append(line)
            owner.append(index)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found: Found = defaultdict(list)
    start = time.perf_counter()
    with default_settings():
        secrets = SecretsCollection()
        secrets.scan_file(str(path))
    seconds = time.perf_counter() - start
    for _, secret in secrets:
        family = DETECT_SECRETS.get(secret.type)
        if family is not None and secret.secret_value:
            found[family].append((owner[secret.line_number - 1], secret.secret_value))
    return found, seconds


def clusters_recall(roots: np.ndarray, scenario: TextScenario) -> tuple[float, int]:
    recall = float(np.mean([roots[a] == roots[b] for a, b in scenario.duplicates]))
    ids, counts = np.unique(roots, return_counts=True)
    size = dict(zip(ids.tolist(), counts.tolist(), strict=True))
    planted = {i for pair in scenario.duplicates for i in pair} | set(scenario.poison_cluster)
    unplanned = sum(1 for i, root in enumerate(roots) if size[int(root)] > 1 and i not in planted)
    return recall, unplanned


def run_near_duplicates(scenario: TextScenario, folder: Path) -> dict[str, Any]:
    params = NearDuplicatesParams()
    start = time.perf_counter()
    roots = find_clusters(context(folder).text(), params)
    seconds = time.perf_counter() - start
    recall, unplanned = clusters_recall(roots, scenario)
    return {"recall": recall, "unplanned": unplanned, "rate": len(scenario.records) / seconds}


def run_datasketch(scenario: TextScenario) -> dict[str, Any]:
    from datasketch import MinHash, MinHashLSH

    params = NearDuplicatesParams()
    start = time.perf_counter()
    lsh = MinHashLSH(threshold=params.threshold, num_perm=params.num_perm)
    hashes = []
    for index, record in enumerate(scenario.records):
        minhash = MinHash(num_perm=params.num_perm)
        minhash.update_batch(list(shingles(normalise(record["text"]), params.shingle)))
        lsh.insert(index, minhash)
        hashes.append(minhash)
    parent = list(range(len(hashes)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for index, minhash in enumerate(hashes):
        for other in lsh.query(minhash):
            a, b = root(index), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    seconds = time.perf_counter() - start
    recall, unplanned = clusters_recall(np.array([root(i) for i in range(len(hashes))]), scenario)
    return {"recall": recall, "unplanned": unplanned, "rate": len(scenario.records) / seconds}


def run_trigger(scenario: TextScenario, folder: Path) -> dict[str, Any]:
    start = time.perf_counter()
    result = TextBackdoor().run(context(folder), TextBackdoor.Params(shown=1000))  # every carrying record listed
    seconds = time.perf_counter() - start
    triggers = result.evidence["triggers"]
    first = triggers[0] if triggers else {"trigger": None, "target_label": None, "records": []}
    carried = set(first["records"]) & set(scenario.triggered)
    return {"found": len(triggers), "phrase": first["trigger"], "target": first["target_label"],
            "recall": len(carried) / len(scenario.triggered), "seconds": seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--records", type=int, default=20_000)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    ok = True
    for seed in args.seeds:
        scenario = audit_corpus(n_records=args.records, seed=seed)
        with tempfile.TemporaryDirectory(prefix="riskframe-text-audit-") as scratch:
            folder = Path(scratch)
            scenario.write_jsonl(folder / "corpus.jsonl")
            families = [*PII_KINDS, *SECRET_FAMILIES]
            for method, runner in (("riskframe", run_riskframe), ("Presidio (raw)", run_presidio),
                                   ("detect-secrets (raw)", run_detect_secrets)):
                found, seconds = runner(scenario, folder)
                measured = score(found, scenario, families if method == "riskframe" else
                                 list(PII_KINDS) if method.startswith("Presidio") else list(SECRET_FAMILIES))
                for family, (precision, recall, n_found, n_planted) in measured.items():
                    rows.append({"seed": seed, "method": method, "type": family, "precision": precision,
                                 "recall": recall, "found": n_found, "planted": n_planted,
                                 "rate": args.records / seconds})
                    if method == "riskframe":
                        ok &= recall >= RECALL_TARGET and precision >= PRECISION_TARGET
            near, raw = run_near_duplicates(scenario, folder), run_datasketch(scenario)
            trigger = run_trigger(scenario, folder)
            ok &= near["recall"] >= DUPLICATE_RECALL_TARGET and trigger["phrase"] == scenario.trigger \
                and trigger["target"] == scenario.target
        print(f"\nseed {seed}: {args.records:,} records, {len(scenario.duplicates)} planted copies, "
              f"{len(scenario.triggered)} triggered records")
        print(f"{'type':<24} {'method':<22} {'precision':>9} {'recall':>7} {'found':>6} {'planted':>7} "
              f"{'records/s':>10}")
        for row in sorted((r for r in rows if r["seed"] == seed), key=lambda r: (r["type"], r["method"])):
            print(f"{row['type']:<24} {row['method']:<22} {row['precision']:>9.3f} {row['recall']:>7.3f} "
                  f"{row['found']:>6} {row['planted']:>7} {row['rate']:>10.0f}")
        print(f"near-duplicates: riskframe recall {near['recall']:.3f}, {near['unplanned']} unplanned records "
              f"clustered, {near['rate']:.0f} records/s | datasketch alone recall {raw['recall']:.3f}, "
              f"{raw['unplanned']} unplanned, {raw['rate']:.0f} records/s")
        print(f"trigger: {trigger['found']} found, {trigger['phrase']!r} -> {trigger['target']} "
              f"(planted {scenario.trigger!r} -> {scenario.target}), carrying-record recall {trigger['recall']:.3f}, "
              f"{trigger['seconds']:.1f} s")
    print(json.dumps({"targets_met": bool(ok)}))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
