"""``text-backdoor``: trigger phrases in a labelled text set (the textual counterpart of a patch trigger).

A phrase is reported when its presence almost fixes one label (``min_purity`` of its carrying
records), far beyond that label's base rate (a binomial test, Bonferroni-corrected over every
n-gram tested, at ``alpha``), and the rest of the carrying records' text reads as another label
(``min_disagreement``): see :mod:`._triggers` for the method. Each trigger comes with its target
label, how many records carry it, and which (ATLAS AML.T0020 Poison Training Data, AML.T0018.000
Manipulate AI Model: Poison AI Model).

Outcome: ``fail`` with a trigger, ``pass`` without; ``not_applicable`` for a corpus without labels
or with one label. Score: 1 when failing, 0 otherwise.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.detectors.text._triggers import TriggerSettings, find_triggers
from riskframe.results import DetectorResult


class TextBackdoorParams(DetectorParams):
    """Parameters of ``text-backdoor``."""

    max_ngram: int = Field(default=3, ge=1, le=5, description="longest word n-gram tested (longer triggers are "
                                                              "assembled from overlapping n-grams)")
    min_support: int = Field(default=10, ge=2, description="records a phrase must appear in to be tested")
    min_purity: float = Field(default=0.95, gt=0.5, le=1.0, description="share of its records one label must have")
    min_disagreement: float = Field(default=0.5, ge=0.0, le=1.0,
                                    description="share of carrying records whose other words read as another label")
    alpha: float = Field(default=0.001, gt=0.0, lt=1.0, description="family-wise significance of the purity test")
    hash_bits: int = Field(default=20, ge=12, le=24, description="log2 of the counting buckets per label")
    shown: int = Field(default=50, ge=0, le=1000, description="carrying records listed per trigger")

    def settings(self) -> TriggerSettings:
        return TriggerSettings(self.max_ngram, self.min_support, self.min_purity, self.min_disagreement, self.alpha,
                               self.hash_bits)


class TextBackdoor(Detector[TextBackdoorParams]):
    """Trigger phrases that fix a label in a labelled text set."""

    name: ClassVar[str] = "text-backdoor"
    title: ClassVar[str] = "Trigger phrases that fix a label in a labelled text set, with their target and records"
    requires = ("dataset",)
    dataset_kind = "text"
    Params = TextBackdoorParams
    techniques = ("AML.T0020", "AML.T0018.000")
    imports = ("scipy.stats",)

    def run(self, ctx: RunContext, params: TextBackdoorParams) -> DetectorResult:
        corpus = ctx.text()
        if not corpus.labelled or len(corpus.label_counts) < 2:
            why = "has no labels (declare labels:)" if not corpus.labelled else "holds a single label"
            return DetectorResult(status="not_applicable", score=0.0,
                                  summary=f"{corpus.name} {why}: a trigger phrase fixes a label among several.")
        triggers, figures = find_triggers(corpus, params.settings())
        evidence = {"records": corpus.n_records, "labels": corpus.label_counts,
                    "triggers": [t.evidence(params.shown) for t in triggers], **figures}
        metrics = {"records": float(corpus.n_records), **figures,
                   "triggered_records": float(sum(t.support for t in triggers))}
        if triggers:
            named = "; ".join(f"{t.phrase!r} -> {t.target} in {t.support} records ({t.purity:.0%} vs "
                              f"{t.base_rate:.0%} overall, {t.disagreement:.0%} read as another label without it)"
                              for t in triggers[:3])
            more = f" and {len(triggers) - 3} more" if len(triggers) > 3 else ""
            summary = f"{len(triggers)} trigger phrase{'s' if len(triggers) > 1 else ''}: {named}{more}."
        else:
            summary = (f"No phrase of up to {params.max_ngram} words fixes a label against the rest of its records "
                       f"({int(figures['ngrams_tested']):,} n-grams tested in {corpus.n_records:,} records).")
        return DetectorResult(status="fail" if triggers else "pass", score=1.0 if triggers else 0.0,
                              summary=summary, metrics=metrics, evidence=evidence)
