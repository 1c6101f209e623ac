"""Design-time risk: the residual risk of each technique at each stage, before any detector runs.

It is the assessment's risk model (:mod:`riskframe.scoring`, docs/risk-model.md) with one
assumption in place of evidence: **every control the plan runs for a technique at a stage passes
at its effectiveness**. Several controls covering the same technique at a stage are independent
layers, each removing its effectiveness from what the previous left, so

``likelihood = prior(maturity, exposure, inherited) x (1 - eff_1)(1 - eff_2)...``,
``residual = likelihood x impact``,

with the impact of the most severe requirement addressing the technique (or an assumed severity
for techniques no requirement addresses). A stage's likelihood is the highest of its techniques',
and flows downstream scaled by ``propagation`` as in an assessment. Every step is monotone:
adding a control never raises any number here.

>>> term = Term("AML.T0020", maturity=0.6, impact=0.75, remaining=remaining_after([0.8]))
>>> round(likelihood(term, exposure=0.35, inherited=0.0), 3)
0.148
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from riskframe.scoring import DEFAULT_MODEL, RiskModel, prior_likelihood, residual_likelihood
from riskframe.vocabulary import LEVELS, Level


@dataclass(frozen=True)
class Term:
    """One technique at one stage: its maturity prior, its impact, and the share of likelihood the
    controls covering it there leave (1 when none does)."""

    technique: str
    maturity: float
    impact: float
    remaining: float = 1.0


def remaining_after(effectivenesses: Iterable[float], model: RiskModel = DEFAULT_MODEL) -> float:
    """Share of the likelihood left when each control passes in turn (the scoring's ``pass`` rule).

    >>> round(remaining_after([0.8, 0.5]), 3)
    0.1
    """
    left = 1.0
    for effectiveness in effectivenesses:
        left, _ = residual_likelihood(left, "pass", 0.0, effectiveness, model)
    return left


def level_function(model: RiskModel = DEFAULT_MODEL) -> Callable[[float], Level]:
    """:func:`riskframe.scoring.level_of` with the thresholds read once, for scoring many entries.

    >>> level_function()(0.6)
    'high'
    """
    cuts = [(name, model.level_thresholds[name]) for name in LEVELS[1:]]

    def level(residual: float) -> Level:
        found = "low"
        for name, threshold in cuts:
            if residual >= threshold:
                found = name
        return found  # type: ignore[return-value]

    return level


def likelihood(term: Term, exposure: float, inherited: float) -> float:
    return prior_likelihood(term.maturity, exposure, inherited) * term.remaining


class StageCurve:
    """A stage's likelihood and residual as functions of what flows in.

    Techniques with equal terms are merged, so evaluating a stage for a new inheritance (once per
    attack-path entry) costs a handful of products rather than one per technique.
    """

    def __init__(self, terms: Iterable[Term]) -> None:
        self.lines = tuple(sorted({(t.maturity, t.remaining, t.impact) for t in terms}))

    def likelihood(self, exposure: float, inherited: float) -> float:
        if not self.lines:  # nothing applies here: what flows on is what came in, plus exposure
            return prior_likelihood(0.0, exposure, inherited)
        return max(prior_likelihood(m, exposure, inherited) * left for m, left, _ in self.lines)

    def residual(self, exposure: float, inherited: float) -> float:
        return max((prior_likelihood(m, exposure, inherited) * left * impact for m, left, impact in self.lines),
                   default=0.0)


@dataclass(frozen=True)
class StageDesign:
    """A stage's design-time scores across the whole pipeline."""

    exposed: bool
    inherited: float
    inherited_from: str | None
    likelihood: float
    residual: float


def score_stages(order: Sequence[str], predecessors: Mapping[str, Sequence[str]], untrusted: Iterable[str],
                 curves: Mapping[str, StageCurve], model: RiskModel = DEFAULT_MODEL) -> dict[str, StageDesign]:
    """Score every stage; ``order`` is topological (upstream first), ``predecessors`` maps a stage to
    the stages it needs.

    Examples
    --------
    >>> curves = {"a": StageCurve([Term("T", 0.6, 0.75)]), "b": StageCurve([])}
    >>> scores = score_stages(["a", "b"], {"b": ["a"]}, ["a"], curves)
    >>> scores["a"].likelihood, scores["b"].inherited
    (0.74, 0.37)
    """
    untrusted = set(untrusted)
    out: dict[str, StageDesign] = {}
    for stage in order:
        preds = predecessors.get(stage, ())
        exposed = stage in untrusted or any(out[p].exposed for p in preds)
        source = max(preds, key=lambda p: out[p].likelihood, default=None)
        inherited = model.propagation * out[source].likelihood if source else 0.0
        exposure = model.exposure if exposed else 0.0
        curve = curves[stage]
        out[stage] = StageDesign(exposed, _r(inherited), source if inherited > 0 else None,
                                 _r(curve.likelihood(exposure, inherited)), _r(curve.residual(exposure, inherited)))
    return out


def _r(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 6)
