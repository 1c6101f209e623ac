"""Property tests of the risk model: ranges, monotonicity, propagation."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from riskframe.scoring import (
    DEFAULT_MODEL,
    Verdict,
    level_of,
    prior_likelihood,
    residual_likelihood,
    score_pipeline,
    score_result,
)

STATUSES = ("pass", "warn", "fail", "error", "skipped", "waived", "not_applicable")
# Verdict order by how much risk they admit; error, skipped and n/a admit the prior itself.
RANK = {"pass": 0, "warn": 1, "error": 2, "skipped": 2, "not_applicable": 2, "fail": 3, "waived": 3}

unit = st.floats(0, 1, allow_nan=False)
severity = st.sampled_from(("low", "medium", "high", "critical"))
maturity = st.sampled_from(("realized", "demonstrated", "feasible", None))


@st.composite
def verdicts(draw, stages):
    return Verdict(stage=draw(st.sampled_from(stages)), status=draw(st.sampled_from(STATUSES)),
                   score=draw(unit), severity=draw(severity), maturities=tuple(draw(st.lists(maturity, max_size=3))),
                   effectiveness=draw(unit))


@st.composite
def pipelines(draw):
    n = draw(st.integers(1, 8))
    stages = [f"s{i}" for i in range(n)]
    preds = {f"s{i}": [f"s{j}" for j in sorted(draw(st.sets(st.integers(0, i - 1), max_size=3)))] if i else []
             for i in range(n)}
    untrusted = draw(st.sets(st.sampled_from(stages), max_size=n))
    results = draw(st.lists(verdicts(stages), max_size=12))
    criticality = draw(st.sampled_from(("low", "medium", "high")))
    return stages, preds, untrusted, results, criticality


@settings(max_examples=200, deadline=None)
@given(pipelines())
def test_every_score_stays_in_range(case):
    stages, preds, untrusted, results, criticality = case
    risks, stage_scores = score_pipeline(stages, preds, untrusted, results, criticality)
    assert len(risks) == len(results)
    for risk in risks:
        for value in (risk.likelihood, risk.impact, risk.inherent, risk.residual):
            assert 0.0 <= value <= 1.0
        assert risk.residual <= risk.impact + 1e-9
        assert risk.level == level_of(risk.residual)
    for score in stage_scores.values():
        assert 0.0 <= score.inherited <= 1.0 and 0.0 <= score.likelihood <= 1.0


@settings(max_examples=200, deadline=None)
@given(pipelines(), st.data())
def test_turning_any_result_into_a_failure_never_lowers_any_risk(case, data):
    stages, preds, untrusted, results, criticality = case
    assume(results)
    index = data.draw(st.integers(0, len(results) - 1))
    worse = list(results)
    worse[index] = Verdict(**{**results[index].__dict__, "status": "fail"})
    before, stages_before = score_pipeline(stages, preds, untrusted, results, criticality)
    after, stages_after = score_pipeline(stages, preds, untrusted, worse, criticality)
    for old, new in zip(before, after, strict=True):
        assert new.residual >= old.residual - 1e-9
        assert new.likelihood >= old.likelihood - 1e-9
    for name in stages:
        assert stages_after[name].likelihood >= stages_before[name].likelihood - 1e-9


@settings(max_examples=200, deadline=None)
@given(pipelines(), st.data())
def test_adding_a_failing_result_never_lowers_any_risk(case, data):
    stages, preds, untrusted, results, criticality = case
    extra = data.draw(verdicts(stages))
    extra = Verdict(**{**extra.__dict__, "status": "fail"})
    before, stages_before = score_pipeline(stages, preds, untrusted, results, criticality)
    after, stages_after = score_pipeline(stages, preds, untrusted, [*results, extra], criticality)
    for old, new in zip(before, after[:-1], strict=True):
        assert new.residual >= old.residual - 1e-9
    for name in stages:
        assert stages_after[name].likelihood >= stages_before[name].likelihood - 1e-9


@settings(max_examples=300, deadline=None)
@given(unit, unit, unit, st.sampled_from(STATUSES), st.sampled_from(STATUSES))
def test_verdicts_are_ordered(prior, score, effectiveness, a, b):
    assume(RANK[a] <= RANK[b])
    low, _ = residual_likelihood(prior, a, score, effectiveness)
    high, _ = residual_likelihood(prior, b, score, effectiveness)
    assert low <= high + 1e-12


@settings(max_examples=200, deadline=None)
@given(unit, unit, st.sampled_from(("error", "skipped", "not_applicable")), severity, maturity, st.booleans())
def test_error_skipped_and_not_applicable_lower_nothing(score, effectiveness, status, sev, mat, exposed):
    verdict = Verdict("s", status, score, sev, (mat,), effectiveness)
    risk = score_result(verdict, "high", exposed, 0.2)
    assert risk.residual == risk.inherent


@given(unit, unit, unit)
def test_prior_grows_with_each_route(m, e, h):
    base = prior_likelihood(m, e, h)
    assert prior_likelihood(min(1, m + 0.1), e, h) >= base - 1e-12
    assert prior_likelihood(m, min(1, e + 0.1), h) >= base - 1e-12
    assert prior_likelihood(m, e, min(1, h + 0.1)) >= base - 1e-12


def test_worked_example_from_the_docs():
    # docs/risk-model.md, with the numbers of `make demo`: label flips found in data from an untrusted
    # vendor, high severity, high-criticality pipeline, technique AML.T0020 (realized).
    verdict = Verdict("ingest", "fail", 0.50669977, "high", ("realized",), 0.8)
    risk = score_result(verdict, "high", exposed=True, inherited=0.0)
    assert risk.terms.maturity_prior == 0.6 and risk.terms.exposure == 0.35
    assert risk.inherent == pytest.approx(0.555)
    assert risk.likelihood == pytest.approx(0.901, abs=5e-4)
    assert risk.residual == pytest.approx(0.676, abs=5e-4)
    assert risk.level == "high"
    passed = score_result(Verdict("ingest", "pass", 0.0, "high", ("realized",), 0.8), "high", True, 0.0)
    assert passed.residual == pytest.approx(0.111, abs=5e-4) and passed.level == "low"
    # A failure lands on its severity's level: from no share at all to the whole dataset.
    assert [score_result(verdict.__class__("ingest", "fail", s, "high", ("realized",), 0.8), "high", True,
                         0.0).level for s in (0.0, 1.0)] == ["high", "high"]
    # prepare inherits half of ingest's likelihood
    inherited = 0.5 * risk.likelihood
    assert inherited == pytest.approx(0.451, abs=5e-4)
    train = score_result(Verdict("prepare", "fail", 0.56506717, "high", ("realized",), 0.8), "high", True, inherited)
    assert train.terms.prior_likelihood == pytest.approx(0.857, abs=5e-4)
    assert (train.likelihood, train.residual) == (pytest.approx(0.913, abs=5e-4), pytest.approx(0.685, abs=5e-4))
    digest = score_result(Verdict("prepare", "pass", 0.0, "high", ("realized",), 0.9), "high", True, inherited)
    assert digest.residual == pytest.approx(0.064, abs=5e-4)


def test_a_check_that_does_not_apply_sets_neither_the_stages_risk_nor_what_flows_downstream():
    """The third-party-model case: every check at `prepare` passed, one did not apply; the stage is
    not drawn as high risk from the not_applicable result's untouched prior."""
    stages, preds = ["ingest", "prepare", "train"], {"ingest": [], "prepare": ["ingest"], "train": ["prepare"]}
    passed = Verdict("prepare", "pass", 0.0, "high", ("realized",), 0.8)
    idle = Verdict("prepare", "not_applicable", 0.0, "high", ("realized",), 0.8)
    train = Verdict("train", "pass", 0.0, "high", ("realized",), 0.8)
    _, alone = score_pipeline(stages, preds, ["ingest"], [passed, train], "high")
    risks, with_idle = score_pipeline(stages, preds, ["ingest"], [passed, idle, train], "high")
    assert with_idle == alone
    assert with_idle["prepare"].level == "low" and risks[1].level == "high"  # the result keeps its own prior
    _, only_idle = score_pipeline(stages, preds, ["ingest"], [idle], "high")
    assert (only_idle["prepare"].residual, only_idle["prepare"].level) == (0.0, "low")


def test_unknown_status_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown status 'maybe'"):
        residual_likelihood(0.5, "maybe", 0.0, 0.5)


def test_level_thresholds():
    assert [level_of(x) for x in (0.0, 0.27, 0.28, 0.52, 0.77, 0.78, 1.0)] == \
        ["low", "low", "medium", "high", "high", "critical", "critical"]
    assert DEFAULT_MODEL.level_thresholds.model_dump() == {"medium": 0.28, "high": 0.52, "critical": 0.78}


@pytest.mark.parametrize(("severity", "criticality", "scores", "level"), [
    ("low", "high", (0.0, 1.0), "low"), ("medium", "high", (0.0, 1.0), "medium"),
    ("high", "high", (0.0, 1.0), "high"), ("critical", "high", (0.0, 1.0), "critical"),
    ("medium", "medium", (0.0, 1.0), "medium"), ("high", "medium", (0.0, 1.0), "high"),
    ("critical", "medium", (0.4, 1.0), "critical"), ("high", "low", (0.0,), "medium"),
])
def test_a_failure_lands_on_its_severity_level(severity, criticality, scores, level):
    # A failure with no exposure, nothing inherited and a feasible technique: the level comes from the
    # severity alone on a high-criticality pipeline, whatever the detector's score (docs/risk-model.md).
    for score in scores:
        risk = score_result(Verdict("s", "fail", score, severity, ("feasible",), 0.8), criticality, False, 0.0)
        assert risk.level == level, score


def test_the_level_is_read_from_the_residual_as_recorded():
    """0.7 x 0.4 is 0.27999999999999997 in floating point: recorded as 0.28, it is medium (found by
    hypothesis: the level once came from the unrounded product and said low)."""
    stages = [f"s{i}" for i in range(6)]
    verdicts = [Verdict("s0", "fail", 1.0, "low", (None,), 0.5),
                Verdict("s5", "pass", 0.0, "medium", ("demonstrated",), 0.0)]
    risks, _ = score_pipeline(stages, {"s5": ["s0"]}, [], verdicts, "low")
    assert (risks[1].residual, risks[1].level) == (0.28, "medium")
