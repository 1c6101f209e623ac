"""The detector result contract."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from riskframe.results import DetectorResult


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_metrics_must_be_finite(value):
    with pytest.raises(ValidationError, match="metrics must be finite numbers; not finite: bad"):
        DetectorResult(status="pass", score=0.0, summary="ok", metrics={"good": 1.0, "bad": value})


@pytest.mark.parametrize("score", [-0.1, 1.1])
def test_score_is_in_unit_range(score):
    with pytest.raises(ValidationError, match="score"):
        DetectorResult(status="fail", score=score, summary="x")


def test_engine_statuses_are_not_detector_verdicts():
    with pytest.raises(ValidationError, match="status"):
        DetectorResult(status="error", score=0.0, summary="x")
