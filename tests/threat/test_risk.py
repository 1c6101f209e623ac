"""Design-time risk: the scoring module's rules with every covering control passing."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from riskframe.scoring import DEFAULT_MODEL, RiskModel, Verdict, level_of, score_pipeline
from riskframe.threat.risk import StageCurve, Term, level_function, likelihood, remaining_after, score_stages

MATURITY = {"realized": 0.6, "demonstrated": 0.4, "feasible": 0.2}
units = st.floats(min_value=0, max_value=1, allow_nan=False)


def test_controls_are_independent_layers():
    assert remaining_after([]) == 1.0
    assert math.isclose(remaining_after([0.8, 0.5]), 0.2 * 0.5)


def test_one_passing_control_scores_as_the_assessment_scores_a_pass():
    # A chain of three stages, one control per stage: the design-time likelihoods are those
    # riskframe.scoring gives the same controls when they pass.
    stages, preds = ["a", "b", "c"], {"b": ["a"], "c": ["b"]}
    effectiveness = {"a": 0.8, "b": 0.5, "c": 0.9}
    verdicts = [Verdict(stage=s, status="pass", score=0.0, severity="high", maturities=("realized",),
                        effectiveness=effectiveness[s]) for s in stages]
    risks, assessed = score_pipeline(stages, preds, ["a"], verdicts, "high")
    curves = {s: StageCurve([Term("AML.T0020", 0.6, 0.75, remaining_after([effectiveness[s]]))]) for s in stages}
    designed = score_stages(stages, preds, ["a"], curves)
    for stage, risk in zip(stages, risks, strict=True):
        assert math.isclose(designed[stage].likelihood, assessed[stage].likelihood, abs_tol=1e-6)
        assert math.isclose(designed[stage].residual, risk.residual, abs_tol=1e-6)
        assert math.isclose(designed[stage].inherited, assessed[stage].inherited, abs_tol=1e-6)


@given(st.lists(st.tuples(st.sampled_from(sorted(MATURITY.values())), units, units), min_size=0, max_size=6),
       units, units)
def test_a_stage_curve_is_the_riskiest_of_its_techniques(lines, exposure, inherited):
    terms = [Term(f"T{i}", m, impact, left) for i, (m, impact, left) in enumerate(lines)]
    curve = StageCurve(terms)
    expected = max((likelihood(t, exposure, inherited) * t.impact for t in terms), default=0.0)
    assert math.isclose(curve.residual(exposure, inherited), expected, abs_tol=1e-12)
    assert 0.0 <= curve.likelihood(exposure, inherited) <= 1.0


@given(units, st.floats(min_value=0.05, max_value=0.3), st.floats(min_value=0.31, max_value=0.6),
       st.floats(min_value=0.61, max_value=0.95))
def test_the_fast_level_function_agrees_with_scoring(residual, medium, high, critical):
    model = RiskModel.model_validate({"level_thresholds": {"medium": medium, "high": high, "critical": critical}})
    assert level_function(model)(residual) == level_of(residual, model)
    assert level_function()(residual) == level_of(residual, DEFAULT_MODEL)
