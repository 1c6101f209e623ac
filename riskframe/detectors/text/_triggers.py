"""Trigger phrases in a labelled text set: word n-grams that fix a label, against the rest of the text.

A dirty-label text backdoor (Dai et al., 2019; Chen et al., BadNL, 2021) inserts a phrase into
records of other classes and relabels them to a target: the phrase then carries the label alone.
Two things give it away, and ordinary predictive words ("excellent" in reviews) show only the first:

1. **Purity far beyond the base rate.** Among records holding the phrase, one label has a share of
   at least ``min_purity``, and a one-sided binomial test against that label's base rate is
   significant after a Bonferroni correction over every n-gram tested.
2. **The rest of the text disagrees.** Removing the phrase, a naive Bayes model of the corpus reads
   most carrying records as another label (``min_disagreement``): they were written as another
   class. A word that predicts its label honestly agrees with the rest of its records.

Two streaming passes, the corpus never held: the first counts, per label, the records holding each
n-gram of 1 to ``max_ngram`` words in ``2**hash_bits`` hashed buckets (CRC32; unigram buckets are
also the naive Bayes counts); the second counts exactly the n-grams whose bucket is a candidate,
keeping their carrying records. Overlapping n-grams carried by the same records are assembled into
one phrase (``i watched this`` + ``watched this 3d`` + ``this 3d movie`` -> ``i watched this 3d
movie``).
"""

from __future__ import annotations

import math
import re
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from riskframe.data.text import TextCorpus

_WORD = re.compile(r"\w+")
MAX_CARRIERS = 1000  # carrying records kept per phrase (the count is exact)


@dataclass(frozen=True)
class TriggerSettings:
    max_ngram: int = 3
    min_support: int = 10
    min_purity: float = 0.95
    min_disagreement: float = 0.5
    alpha: float = 0.001
    hash_bits: int = 20
    max_candidates: int = 500
    batch_size: int = 1024


@dataclass
class Trigger:
    """A phrase, the label it fixes, how strongly, and the records that carry it."""

    phrase: str
    target: str
    support: int
    purity: float
    base_rate: float
    log10_p: float
    disagreement: float
    records: list[int] = field(default_factory=list)
    where: list[str] = field(default_factory=list)

    def evidence(self, shown: int = 50) -> dict[str, object]:
        return {"trigger": self.phrase, "target_label": self.target, "carrying_records": self.support,
                "purity": round(self.purity, 4), "base_rate": round(self.base_rate, 4),
                "lift": round(self.purity / self.base_rate, 2), "log10_p_value": round(self.log10_p, 1),
                "rest_of_text_disagrees": round(self.disagreement, 4), "records": self.records[:shown],
                "where": self.where[:10]}


@dataclass
class _Candidate:
    counts: np.ndarray
    records: list[int] = field(default_factory=list)
    where: list[str] = field(default_factory=list)


def tokens(text: str) -> list[str]:
    """Lower-case words, as the analysis reads a record."""
    return _WORD.findall(text.lower())


def ngrams(words: Sequence[str], max_n: int) -> set[str]:
    return {" ".join(words[i:i + n]) for n in range(1, max_n + 1) for i in range(len(words) - n + 1)}


def _bucket(gram: str, bits: int) -> int:
    return zlib.crc32(gram.encode()) & ((1 << bits) - 1)


def find_triggers(corpus: TextCorpus, settings: TriggerSettings) -> tuple[list[Trigger], dict[str, float]]:
    """The trigger phrases of a labelled corpus, strongest first, and figures about the search."""
    labels = sorted(corpus.label_counts)
    code = {label: i for i, label in enumerate(labels)}
    base = np.array([corpus.label_counts[label] for label in labels], dtype=np.float64) / corpus.n_records
    counts = _first_pass(corpus, code, settings)
    support = counts.sum(axis=0)
    purity = counts.max(axis=0) / np.maximum(support, 1)
    buckets = np.flatnonzero((support >= settings.min_support) & (purity >= settings.min_purity))
    buckets = buckets[np.argsort(-support[buckets], kind="stable")][:settings.max_candidates]
    found = _second_pass(corpus, code, set(buckets.tolist()), settings)
    tested = int((support >= settings.min_support).sum())
    phrases = []
    for gram, candidate in found.items():
        phrase = _judge(gram, candidate, labels, base, tested, settings)
        if phrase is not None:
            phrases.append(phrase)
    triggers = _assemble(phrases)
    _disagreement(corpus, triggers, counts, base, labels, settings)
    kept = [t for t in triggers if t.disagreement >= settings.min_disagreement]
    figures = {"ngrams_tested": float(tested), "candidates": float(len(found)), "pure_phrases": float(len(triggers)),
               "triggers_found": float(len(kept))}
    return sorted(kept, key=lambda t: (-t.support, t.phrase)), figures


def _first_pass(corpus: TextCorpus, code: dict[str, int], settings: TriggerSettings) -> np.ndarray:
    counts = np.zeros((len(code), 1 << settings.hash_bits), dtype=np.int64)
    for batch in corpus.batches(settings.batch_size):
        rows: list[int] = []
        cols: list[int] = []
        for record in batch:
            grams = {_bucket(g, settings.hash_bits) for g in ngrams(tokens(record.text), settings.max_ngram)}
            rows += [code[str(record.label)]] * len(grams)
            cols += grams
        np.add.at(counts, (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)), 1)
    return counts


def _second_pass(corpus: TextCorpus, code: dict[str, int], buckets: set[int],
                 settings: TriggerSettings) -> dict[str, _Candidate]:
    found: dict[str, _Candidate] = {}
    for record in corpus.records():
        for gram in ngrams(tokens(record.text), settings.max_ngram):
            if _bucket(gram, settings.hash_bits) not in buckets:
                continue
            candidate = found.get(gram)
            if candidate is None:
                candidate = found[gram] = _Candidate(np.zeros(len(code), dtype=np.int64))
            candidate.counts[code[str(record.label)]] += 1
            if len(candidate.records) < MAX_CARRIERS:
                candidate.records.append(record.index)
                candidate.where.append(record.where)
    return found


def _judge(gram: str, candidate: _Candidate, labels: list[str], base: np.ndarray, tested: int,
           settings: TriggerSettings) -> Trigger | None:
    from scipy.stats import binom

    n = int(candidate.counts.sum())
    top = int(np.argmax(candidate.counts))
    k = int(candidate.counts[top])
    if n < settings.min_support or k / n < settings.min_purity:
        return None
    log10_p = float(binom.logsf(k - 1, n, base[top])) / math.log(10)
    if log10_p > math.log10(settings.alpha / max(1, tested)):  # Bonferroni over every n-gram tested
        return None
    return Trigger(gram, labels[top], n, k / n, float(base[top]), log10_p, 0.0, candidate.records, candidate.where)


def _assemble(phrases: list[Trigger]) -> list[Trigger]:
    """Group phrases carried by (nearly) the same records; each group becomes its longest phrase,
    overlapping n-grams chained into one."""
    groups: list[list[Trigger]] = []
    for phrase in sorted(phrases, key=lambda t: (-len(t.phrase.split()), -t.support, t.phrase)):
        mine = set(phrase.records)
        for group in groups:
            theirs = set(group[0].records)
            if group[0].target == phrase.target and len(mine & theirs) >= 0.9 * max(len(mine), len(theirs)):
                group.append(phrase)
                break
        else:
            groups.append([phrase])
    out = []
    for group in groups:
        best = max(group, key=lambda t: (len(t.phrase.split()), t.support))  # the most specific n-gram
        longest = max(len(t.phrase.split()) for t in group)
        chained = _chain([t.phrase for t in group if len(t.phrase.split()) == longest])
        out.append(Trigger(chained, best.target, best.support, best.purity, best.base_rate, best.log10_p, 0.0,
                           best.records, best.where))
    return out


def _chain(grams: list[str]) -> str:
    """Join n-grams that overlap by n-1 words into the phrase they spell (the first chain found)."""
    words = [g.split() for g in sorted(grams)]
    chain = list(words.pop(0))
    grown = True
    while grown and words:
        grown = False
        for other in list(words):
            overlap = len(other) - 1
            if chain[-overlap:] == other[:overlap]:
                chain.append(other[-1])
            elif chain[:overlap] == other[-overlap:]:
                chain.insert(0, other[0])
            else:
                continue
            words.remove(other)
            grown = True
    return " ".join(chain)


def _disagreement(corpus: TextCorpus, triggers: list[Trigger], counts: np.ndarray, base: np.ndarray,
                  labels: list[str], settings: TriggerSettings) -> None:
    """For each trigger, the share of its carrying records that naive Bayes, reading the record
    without the trigger's words, gives another label than the trigger's target."""
    if not triggers:
        return
    wanted: dict[int, list[Trigger]] = defaultdict(list)
    for trigger in triggers:
        for index in trigger.records:
            wanted[index].append(trigger)
    # Bernoulli-style naive Bayes on the hashed unigram document counts, Laplace-smoothed.
    totals = np.array([corpus.label_counts[label] for label in labels], dtype=np.float64)
    agree: dict[str, list[bool]] = defaultdict(list)
    for record in corpus.records():
        for trigger in wanted.get(record.index, ()):
            dropped = set(trigger.phrase.split())
            rest = {w for w in tokens(record.text) if w not in dropped}
            score = np.log(base).copy()
            for word in rest:
                score += np.log((counts[:, _bucket(word, settings.hash_bits)] + 1.0) / (totals + 2.0))
            agree[trigger.phrase].append(labels[int(np.argmax(score))] == trigger.target)
    for trigger in triggers:
        votes = agree.get(trigger.phrase, [])
        trigger.disagreement = 1.0 - (sum(votes) / len(votes)) if votes else 0.0

