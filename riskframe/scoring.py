"""The risk model: from a result's verdict to a residual risk, and along the stage graph.

Pure functions, no I/O. For one result of requirement R at stage S (docs/risk-model.md has a
worked example):

- impact ``I = severity_impact[R.severity] x criticality_factor[pipeline.criticality]``;
- prior likelihood ``L0 = 1 - (1 - m)(1 - e)(1 - h)``: ``m`` the highest maturity prior of the ATLAS
  techniques the result addresses (realized > demonstrated > feasible), ``e`` the exposure when an
  untrusted stage is at or upstream of S, ``h`` the likelihood inherited from upstream stages;
- residual likelihood ``L`` by verdict: ``pass`` removes the control's effectiveness
  (``L0 (1 - eff)``); ``warn`` removes it in proportion to how clean the detector found the input
  (``L0 (1 - eff (1 - score))``); ``fail`` raises it to at least ``fail_floor + (1 - fail_floor) x score``
  (so a failure reaches its severity's level);
  ``error``, ``skipped`` and ``not_applicable`` leave ``L0`` (they lower nothing); a waived result is
  scored as the verdict it waives (a waiver accepts a risk, it does not remove it: the engine scores
  the detector's verdict and marks the result waived afterwards; ``waived`` here scores as ``fail``);
- ``inherent = L0 x I``, ``residual = L x I``, and the level from the residual.

A stage passes on its likelihood (the highest ``L`` of its results that applied, or its own exposure
and inheritance when it has none) to the stages that need it, scaled by ``propagation``: poisoned data
upstream raises the likelihood of a backdoored model downstream. Every step is monotone, so adding
a failure anywhere never lowers any risk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from riskframe.assessment import Risk, RiskTerms
from riskframe.vocabulary import LEVELS, Level

# Statuses that leave the prior likelihood as it was.
_NO_EVIDENCE = frozenset({"error", "skipped", "not_applicable"})


Unit = Annotated[float, Field(ge=0, le=1)]
Threshold = Annotated[float, Field(gt=0, le=1)]


class _Table(BaseModel):
    """A small named table of numbers; ``table["high"]`` reads a row like a mapping."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __getitem__(self, key: str) -> float:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return float(getattr(self, key))

    def _check_order(self, names: Sequence[str], strict: bool, rule: str) -> None:
        values = [self[n] for n in names]
        broken = any(b < a or (strict and b == a) for a, b in pairwise(values))
        if broken:
            got = ", ".join(f"{n} {v:g}" for n, v in zip(names, values, strict=True))
            raise ValueError(f"{rule}. Got {got} instead.")


class SeverityImpact(_Table):
    """Impact of a breached requirement, by its severity."""

    low: Unit = 0.25
    medium: Unit = 0.5
    high: Unit = 0.75
    critical: Unit = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> SeverityImpact:
        self._check_order(LEVELS, False,
                          "must not decrease from low to critical (a more severe breach cannot do less harm)")
        return self


class CriticalityFactor(_Table):
    """Scales impact by the pipeline's declared criticality."""

    low: Unit = 0.8
    medium: Unit = 0.9
    high: Unit = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> CriticalityFactor:
        self._check_order(("low", "medium", "high"), False, "must not decrease from low to high")
        return self


class MaturityPrior(_Table):
    """Prior likelihood of a threat, by its ATLAS maturity (``unknown``: the catalog gives none)."""

    realized: Unit = 0.6
    demonstrated: Unit = 0.4
    feasible: Unit = 0.2
    unknown: Unit = 0.3

    @model_validator(mode="after")
    def _ordered(self) -> MaturityPrior:
        self._check_order(("feasible", "demonstrated", "realized"), False,
                          "must not decrease from feasible to demonstrated to realized (a technique used "
                          "against production systems is at least as likely as one shown in research)")
        return self


class LevelThresholds(_Table):
    """The residual risk at which each level starts (below ``medium`` is ``low``)."""

    medium: Threshold = 0.28
    high: Threshold = 0.52
    critical: Threshold = 0.78

    @model_validator(mode="after")
    def _ordered(self) -> LevelThresholds:
        self._check_order(("medium", "high", "critical"), True, "must increase from medium to high to critical")
        return self


class RiskModel(BaseModel):
    """The model's parameters; a policy's ``risk:`` section sets them. Defaults are justified in
    docs/risk-model.md.

    Tables may be given in part: the rows left out keep their defaults.

    Examples
    --------
    >>> model = RiskModel.model_validate({"propagation": 0.3, "severity_impact": {"critical": 0.9}})
    >>> model.severity_impact["critical"], model.severity_impact["high"], model.propagation
    (0.9, 0.75, 0.3)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    severity_impact: SeverityImpact = Field(default_factory=SeverityImpact)
    criticality_factor: CriticalityFactor = Field(default_factory=CriticalityFactor)
    maturity_prior: MaturityPrior = Field(default_factory=MaturityPrior)
    exposure: float = Field(default=0.35, ge=0, le=1,
                            description="likelihood an untrusted stage at or upstream adds")
    propagation: float = Field(default=0.5, ge=0, le=1,
                               description="share of a stage's likelihood passed to the stages that need it")
    fail_floor: float = Field(default=0.8, ge=0, le=1,
                              description="the least likelihood a failed control leaves")
    level_thresholds: LevelThresholds = Field(default_factory=LevelThresholds)


DEFAULT_MODEL = RiskModel()


@dataclass(frozen=True)
class Verdict:
    """What scoring needs of one result."""

    stage: str
    status: str
    score: float
    severity: str
    maturities: tuple[str | None, ...]
    effectiveness: float


@dataclass(frozen=True)
class StageScore:
    exposed: bool
    inherited: float
    likelihood: float
    residual: float
    level: Level
    inherited_from: str | None = None  # the upstream stage whose likelihood flowed in


def level_of(residual: float, model: RiskModel = DEFAULT_MODEL) -> Level:
    level: Level = "low"
    for name in LEVELS[1:]:
        if residual >= model.level_thresholds[name]:
            level = name
    return level


def maturity_prior(maturities: Iterable[str | None], model: RiskModel = DEFAULT_MODEL) -> float:
    priors = [model.maturity_prior[m or "unknown"] for m in maturities]
    return max(priors, default=model.maturity_prior["unknown"])


def prior_likelihood(maturity: float, exposure: float, inherited: float) -> float:
    """Independent routes to the threat: its maturity, untrusted inputs, upstream compromise."""
    return 1.0 - (1.0 - maturity) * (1.0 - exposure) * (1.0 - inherited)


def residual_likelihood(prior: float, status: str, score: float, effectiveness: float,
                        model: RiskModel = DEFAULT_MODEL) -> tuple[float, str]:
    """The likelihood after the control's verdict, and the effect in words."""
    if status == "pass":
        return prior * (1.0 - effectiveness), f"passed: removes {effectiveness:.0%} of the prior likelihood"
    if status == "warn":
        removed = effectiveness * (1.0 - score)
        return prior * (1.0 - removed), f"warned: removes {removed:.0%} of the prior likelihood"
    if status in ("fail", "waived"):
        floor = model.fail_floor + (1.0 - model.fail_floor) * score
        word = "failed" if status == "fail" else "waived failure"
        return max(prior, floor), f"{word}: likelihood raised to at least {floor:.2f} by the evidence"
    if status in _NO_EVIDENCE:
        return prior, f"{status.replace('_', ' ')}: lowers nothing"
    raise ValueError(f"unknown status {status!r}")


def score_result(verdict: Verdict, criticality: str, exposed: bool, inherited: float,
                 model: RiskModel = DEFAULT_MODEL, inherited_from: str | None = None) -> Risk:
    """The risk of one result at a stage with the given exposure and inheritance."""
    weight, factor = model.severity_impact[verdict.severity], model.criticality_factor[criticality]
    impact = weight * factor
    maturity = maturity_prior(verdict.maturities, model)
    exposure = model.exposure if exposed else 0.0
    prior = prior_likelihood(maturity, exposure, inherited)
    likelihood, effect = residual_likelihood(prior, verdict.status, verdict.score, verdict.effectiveness, model)
    residual = _r(likelihood * impact)  # the level is read from the residual as recorded (rounded)
    terms = RiskTerms(maturity_prior=_r(maturity), exposure=_r(exposure), inherited=_r(inherited),
                      control_effect=effect, prior_likelihood=_r(prior), severity_impact=_r(weight),
                      criticality_factor=_r(factor), effectiveness=_r(verdict.effectiveness),
                      inherited_from=inherited_from if inherited > 0 else None)
    return Risk(likelihood=_r(likelihood), impact=_r(impact), inherent=_r(prior * impact),
                residual=residual, level=level_of(residual, model), terms=terms)


def score_pipeline(
    stages: Sequence[str],
    predecessors: Mapping[str, Sequence[str]],
    untrusted: Iterable[str],
    verdicts: Sequence[Verdict],
    criticality: str,
    model: RiskModel = DEFAULT_MODEL,
) -> tuple[list[Risk], dict[str, StageScore]]:
    """Score every verdict and every stage.

    ``stages`` must be in topological order (upstream first); ``predecessors`` maps a stage to the
    stages it needs. Returns the risks in the order of ``verdicts`` and the score of each stage.
    """
    untrusted = set(untrusted)
    by_stage: dict[str, list[int]] = {s: [] for s in stages}
    for index, verdict in enumerate(verdicts):
        by_stage[verdict.stage].append(index)
    risks: list[Risk | None] = [None] * len(verdicts)
    scores: dict[str, StageScore] = {}
    for stage in stages:
        preds = predecessors.get(stage, ())
        exposed = stage in untrusted or any(scores[p].exposed for p in preds)
        # The most likely upstream stage flows in (first in `needs` order on a tie).
        source = max(preds, key=lambda p: scores[p].likelihood, default=None)
        inherited = model.propagation * scores[source].likelihood if source else 0.0
        for index in by_stage[stage]:
            risks[index] = score_result(verdicts[index], criticality, exposed, inherited, model, source)
        # A check that does not apply here measured nothing: it sets neither the stage's risk nor
        # what flows downstream (a passing stage must not read "high" from a not_applicable prior).
        own = [risks[i] for i in by_stage[stage] if verdicts[i].status != "not_applicable"]
        stage_risks = [r for r in own if r is not None]
        if stage_risks:
            likelihood = max(r.likelihood for r in stage_risks)
        else:  # nothing checked here: what flows on is what came in, plus the stage's exposure
            likelihood = prior_likelihood(0.0, model.exposure if exposed else 0.0, inherited)
        residual = max((r.residual for r in stage_risks), default=0.0)
        scores[stage] = StageScore(exposed, _r(inherited), _r(likelihood), _r(residual), level_of(residual, model),
                                   source if inherited > 0 else None)
    return [r for r in risks if r is not None], scores


def _r(value: float) -> float:
    # Rounded so that the JSON is stable and reads well; 6 places keep every comparison exact enough.
    return round(min(1.0, max(0.0, value)), 6)
