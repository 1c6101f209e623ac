"""What the human-readable reports say: plain words, orderings and roll-ups of an assessment.

Shared by the Markdown and HTML reports, so both say the same thing the same way. Pure functions
over :class:`~riskframe.assessment.Assessment`; no markup here.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from riskframe.assessment import Assessment, ControlResult, NistSubcategoryStatus
from riskframe.errors import RiskframeError
from riskframe.results import STATUSES

STATUS_WORDS = {
    "pass": "passed",
    "warn": "warning",
    "fail": "failed",
    "error": "error (could not run)",
    "skipped": "skipped",
    "waived": "waived",
    "not_applicable": "not applicable",
    "not-assessed": "not assessed",
    "satisfied": "satisfied",
    "not-satisfied": "not satisfied",
}

LEVEL_SENTENCES = {
    "low": "Low risk: the controls found nothing that needs action before release.",
    "medium": "Medium risk: some findings deserve a review, but none shows a likely attack.",
    "high": "High risk: at least one finding points to a likely attack with serious impact; act on it before release.",
    "critical": "Critical risk: the evidence points to an attack with severe impact; stop the release and investigate.",
}

# Statuses that need a person's attention, in the order of the findings tables: a confirmed
# failure first, then a check that could not run (the gate fails closed on it), then warnings.
ATTENTION = ("fail", "error", "warn")
_STATUS_RANK = {status: rank for rank, status in enumerate(ATTENTION)}
NIST_FUNCTIONS = ("GOVERN", "MAP", "MEASURE", "MANAGE")
NIST_STATUSES = ("satisfied", "not-satisfied", "not-assessed")


def status_word(status: str) -> str:
    return STATUS_WORDS.get(status, status.replace("_", " "))


def level_sentence(level: str, assessment: Assessment | None = None) -> str:
    """What the overall risk level means; never "nothing needs action" next to failing results, and
    a level carried by waived or known failures says so."""
    from riskframe.reports import decision

    sentence = LEVEL_SENTENCES.get(level, f"Risk level: {level}.")
    if assessment is None:
        return sentence
    if level != "low":
        aside = decision.uncounted(assessment)
        counted = decision.counted_level(assessment)
        if aside and counted != level:
            return (f"{level.capitalize()} risk, from {aside}: the gate does not count {decision.them(assessment)}, "
                    f"but the risk is not removed; the highest risk it counts is {counted}.")
        return sentence
    needing = sum(r.status in ATTENTION for r in assessment.results)
    if not needing:
        return sentence
    results = "result failed, errored or warned" if needing == 1 else "results failed, errored or warned"
    return f"Low risk by the risk model, but {needing} {results}: read them below before release."


def percent(value: float) -> str:
    """``0.094`` -> ``9.4%``; under 1%, two significant digits (``0.0082`` -> ``0.82%``), so a
    small share never reads as zero."""
    if not math.isfinite(value):
        return "n/a"
    if 0 < value < 0.0001:
        return "< 0.01%"
    share = 100 * value
    text = f"{share:.1f}".removesuffix(".0") if share >= 1 or share == 0 else f"{share:.2g}"
    return f"{text}%"


def risk_number(value: float) -> str:
    """A risk figure in [0, 1] (residual, likelihood, impact) to two decimals: ``0.7473`` -> ``0.75``."""
    return f"{value:.2f}" if math.isfinite(value) else str(value)


def number(value: object) -> str:
    """A metric or evidence number, short and exact enough to read."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def status_counts(assessment: Assessment) -> list[tuple[str, int]]:
    """(status, count) for every status that occurs, in the fixed status order."""
    counts = dict(assessment.summary.counts) or dict(Counter(r.status for r in assessment.results))
    ordered = [s for s in STATUSES if counts.get(s)] + sorted(s for s in counts if s not in STATUSES and counts[s])
    return [(status, counts[status]) for status in ordered]


def counts_sentence(assessment: Assessment) -> str:
    """``3 failed, 1 error (could not run), 4 passed (8 results)``."""
    counts = status_counts(assessment)
    total = sum(n for _, n in counts)
    parts = ", ".join(f"{n} {status_word(s)}" for s, n in counts)
    return f"{parts} ({total} result{'s' if total != 1 else ''})" if parts else "no results"


def attention_results(assessment: Assessment) -> list[ControlResult]:
    """Failing, erroring and warning results in that order, each by residual risk, highest first."""
    chosen = [r for r in assessment.results if r.status in ATTENTION]
    return sorted(chosen, key=lambda r: (_STATUS_RANK.get(r.status, 99), -r.risk.residual, r.id))


def results_by_stage(assessment: Assessment) -> list[tuple[str, list[ControlResult]]]:
    """Results grouped by stage, stages in pipeline order (unknown stages last, by name)."""
    order = {stage.name: index for index, stage in enumerate(assessment.pipeline.stages)}
    groups: dict[str, list[ControlResult]] = {}
    for result in assessment.results:
        groups.setdefault(result.stage, []).append(result)
    return sorted(groups.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))


def poison_share(result: ControlResult) -> str | None:
    """``9.4% (interval 7.1%-11.8%)`` from ``estimated_poison_fraction`` metrics, if the result
    estimated any poisoning (a screen that found none has no share to show)."""
    share = result.metrics.get("estimated_poison_fraction")
    if not share:
        return None
    low = result.metrics.get("estimated_poison_fraction_low")
    high = result.metrics.get("estimated_poison_fraction_high")
    interval = f" (interval {percent(low)} to {percent(high)})" if low is not None and high is not None else ""
    return f"{percent(share)}{interval}"


def detection_limit(result: ControlResult) -> str | None:
    """What a screen could have seen, from its ``detectable_*`` metrics, in words; None without."""
    share = result.metrics.get("detectable_share")
    of_class = result.metrics.get("detectable_class_share")
    if share is None:
        return None
    if share >= 1.0:
        return "this data lets the screen see no flip at all"
    if of_class is not None:
        return (f"this data lets the screen see flips of {percent(of_class)} of a class or more "
                f"({percent(share)} of the dataset) for most class pairs")
    return f"this data lets the screen see {percent(share)} of the dataset or more"


def headline_facts(assessment: Assessment) -> list[str]:
    """The numbers an executive should see first: estimated poisoned shares of failing checks."""
    facts = []
    for result in attention_results(assessment):
        share = poison_share(result)
        if share is not None:
            where = f"'{result.artifact}' in stage '{result.stage}'" if result.artifact else f"stage '{result.stage}'"
            facts.append(f"An estimated {share} of the samples of {where} look poisoned (control {result.control}).")
    return facts


@dataclass(frozen=True)
class NistGroup:
    """One NIST AI RMF function: counts by status, the assessed subcategories and the rest."""

    function: str
    counts: dict[str, int]
    assessed: list[NistSubcategoryStatus]
    not_assessed: list[NistSubcategoryStatus]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def sentence(self) -> str:
        return ", ".join(f"{self.counts[s]} {status_word(s)}" for s in NIST_STATUSES)

    @property
    def anchor(self) -> str:
        """The HTML id of the function's section, URL-safe whatever an assessment.json calls it."""
        return "nist-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", self.function).strip("-").lower() or "x")


def nist_groups(assessment: Assessment) -> list[NistGroup]:
    """Subcategories grouped by function, GOVERN, MAP, MEASURE, MANAGE first."""
    by_function: dict[str, list[NistSubcategoryStatus]] = {}
    for entry in assessment.nist:
        by_function.setdefault(entry.function.upper(), []).append(entry)
    ordered = [f for f in NIST_FUNCTIONS if f in by_function] + sorted(set(by_function) - set(NIST_FUNCTIONS))
    groups = []
    for function in ordered:
        entries = sorted(by_function[function], key=lambda e: _nist_sort_key(e.id))
        counts = {status: sum(e.status == status for e in entries) for status in NIST_STATUSES}
        groups.append(
            NistGroup(
                function,
                counts,
                [e for e in entries if e.status != "not-assessed"],
                [e for e in entries if e.status == "not-assessed"],
            )
        )
    return groups


def _nist_sort_key(subcategory_id: str) -> tuple[object, ...]:
    # "MEASURE 2.10" sorts after "MEASURE 2.9"
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[ .]", subcategory_id))


def sentence(text: str) -> str:
    """``text`` on one line, ending with a full stop (summaries and remediations come from YAML
    and detectors, with or without one)."""
    text = " ".join(text.split())
    return text if not text or text.endswith((".", "!", "?")) else f"{text}."


def waiver_fields(waiver: object) -> dict[str, Any]:
    """A result's waiver as plain JSON fields, whether the assessment holds it as a mapping or a
    model (older assessments wrote a free-form mapping); ``{}`` for none."""
    if isinstance(waiver, dict):
        return waiver
    dump = getattr(waiver, "model_dump", None)
    return dump(mode="json") if callable(dump) else {}


def tactic_label(tactic: str) -> str:
    """``AML.TA0003 Resource Development`` where the installed catalog knows the id."""
    name = _tactic_names().get(tactic)
    return f"{tactic} {name}" if name else tactic


@lru_cache(maxsize=1)
def _tactic_names() -> dict[str, str]:
    # The assessment carries tactic ids only; names are a courtesy from the installed catalog,
    # and a report must still render where the catalog is missing or broken.
    try:
        from riskframe.catalog import load_catalog

        return {tactic.id: tactic.name for tactic in load_catalog().atlas.tactics}
    except (RiskframeError, OSError, ValueError, ImportError):
        return {}


def anchors(assessment: Assessment) -> dict[str, str]:
    """A unique, URL-safe HTML id for every result."""
    taken: set[str] = set()
    out: dict[str, str] = {}
    for result in assessment.results:
        base = "result-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", result.id).strip("-").lower() or "x")
        anchor, n = base, 2
        while anchor in taken:
            anchor, n = f"{base}-{n}", n + 1
        taken.add(anchor)
        out[result.id] = anchor
    return out


def risk_terms(result: ControlResult) -> list[tuple[str, str, str]]:
    """(term, value, how) rows deriving a result's residual risk, as docs/risk-model.md combines them:
    the routes to the threat make the prior likelihood (not a sum: each route is independent), the
    verdict turns it into the likelihood, the impact scales it. Older assessments without the prior
    or the impact's factors show what they hold."""
    risk, t = result.risk, result.risk.terms
    n = risk_number
    inherited_how = (f"from upstream stage {t.inherited_from}" if t.inherited_from
                     else "no upstream stage passes risk on")
    rows = [
        ("ATLAS maturity prior m", n(t.maturity_prior), "the most mature ATLAS technique the result addresses"),
        ("untrusted input e", n(t.exposure), "an untrusted stage is at or upstream of this one" if t.exposure
         else "no untrusted stage at or upstream"),
        ("inherited h", n(t.inherited), inherited_how),
    ]
    if t.prior_likelihood is not None:
        rows.append(("prior likelihood L0", n(t.prior_likelihood), "1 - (1 - m)(1 - e)(1 - h): independent routes "
                     "to the threat"))
    rows.append(("likelihood L", n(risk.likelihood), t.control_effect))
    impact_how = (f"severity {result.severity} ({n(t.severity_impact)}) x the pipeline's criticality factor "
                  f"({n(t.criticality_factor)})" if t.severity_impact is not None and t.criticality_factor is not None
                  else f"from severity {result.severity}")
    rows.append(("impact I", n(risk.impact), impact_how))
    rows.append(("inherent", n(risk.inherent), "L0 x I: before this result"))
    rows.append(("residual", n(risk.residual), "L x I: after this result"))
    return rows


def lands_on(result: ControlResult, model: Mapping[str, Any]) -> str | None:
    """For a failure: the narrow band a failure scores in, whatever how much it found (None otherwise).

    ``model`` is the assessment's ``risk_model`` (its failure floor and level thresholds).
    """
    from riskframe.scoring import RiskModel, level_of

    waived = result.status == "waived" and getattr(result.waiver, "waived_status", None) == "fail"
    if result.status != "fail" and not waived:
        return None
    risk_model = RiskModel.model_validate(model) if model else RiskModel()
    impact = result.risk.impact
    low, high = risk_model.fail_floor * impact, impact
    levels = dict.fromkeys((level_of(low, risk_model), level_of(high, risk_model)))
    band = " to ".join(levels)
    return (f"A failed check raises the likelihood to at least the risk model's failure floor "
            f"({risk_number(risk_model.fail_floor)}), so with this requirement's impact ({risk_number(impact)}, "
            f"{result.severity} severity) any failure scores {risk_number(low)} to {risk_number(high)}: it lands on "
            f"{band} risk however much it found, and a larger finding scores little higher. How much it found is in "
            "the evidence above.")
