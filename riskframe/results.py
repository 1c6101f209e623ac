"""What a detector returns (the statuses it can take are in :mod:`riskframe.vocabulary`).

Scores run from 0 (nothing suspicious) to 1 (the worst). Libraries that score the other way round
(cleanlab's label quality, 1 = clean) are converted in one visible line where they are called.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from riskframe.vocabulary import STATUSES, Status, Verdict

__all__ = ["STATUSES", "Attachment", "DetectorResult", "Status", "Verdict"]


class Attachment(BaseModel):
    """A picture for a person to look at (flagged samples, a reversed trigger, a histogram)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    caption: str = ""
    media_type: Literal["image/png", "image/svg+xml"] = "image/png"
    data: str = Field(description="base64-encoded content, so the assessment JSON is self-contained")
    prominent: bool = Field(default=False, description="the picture a reviewer checks first (the flagged samples "
                                                      "themselves): reports show it first, and large")


class DetectorResult(BaseModel):
    """The outcome of one detector run.

    ``evidence`` holds JSON-serialisable facts a person reads. Sample-level detectors put
    ``flagged_indices`` there (indices into the dataset artifact, most suspicious first) and
    ``scores`` (the suspicion score of each flagged sample, same order, 1 = worst).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Verdict
    score: float = Field(ge=0.0, le=1.0)
    summary: str = Field(min_length=1)
    metrics: dict[str, float] = Field(default_factory=dict)
    evidence: dict[str, Any] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(default_factory=list)

    @field_validator("metrics")
    @classmethod
    def _finite(cls, metrics: dict[str, float]) -> dict[str, float]:
        # JSON has no NaN; a metric that is not a number is a detector bug, not a measurement.
        bad = sorted(name for name, value in metrics.items() if not math.isfinite(value))
        if bad:
            raise ValueError(f"metrics must be finite numbers; not finite: {', '.join(bad)}")
        return metrics
