"""The parameters and the ``run`` the representation-based backdoor detectors share."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from riskframe.detectors.backdoor._analysis import Splitter, analyse
from riskframe.detectors.backdoor._evidence import BackdoorView
from riskframe.detectors.base import DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.detectors.labels.vouch import representation_doubt
from riskframe.representations import representations_for
from riskframe.results import DetectorResult


class BackdoorParams(DetectorParams):
    """Parameters shared by ``spectral-signatures`` and ``activation-clustering``.

    A class is reported as carrying a backdoor only when its split is separated
    (``min_separation``, each detector's own statistic) *and* the suspect group's members look like
    other classes in input space (``min_relabel_agreement``). On scikit-learn's digits, suspect
    groups of patched, relabelled samples average 0.91-0.94 agreement while genuine groups stay at
    or under 0.80, sub-styles included: 0.85 sits between. ``max_poison_fraction`` (0.2%, about 3
    samples in 1,438) only decides between ``warn`` and ``fail`` once a target class is found.
    """

    method: Literal["robust", "standard"] = Field(
        default="robust",
        description="robust: whiten each class by the other classes' pooled covariance; standard: centred only",
    )
    min_relabel_agreement: float = Field(
        default=0.85,
        gt=0.5,
        le=1.0,
        description="mean share of a suspect's nearest other-class samples agreeing on one label "
        "for it to count as relabelled",
    )
    neighbours: int = Field(default=10, ge=1, le=200, description="nearest other-class samples in the relabel check")
    min_class_samples: int = Field(
        default=20, ge=5, le=100_000, description="classes with fewer samples are skipped (too few to split)"
    )
    max_poison_fraction: float = Field(
        default=0.002, ge=0.0, le=1.0, description="with a target class found: fail above this flagged share, else warn"
    )
    max_images: int = Field(default=40, ge=0, le=400, description="flagged samples shown as pictures")


def run_split_detector(name: str, ctx: RunContext, params: BackdoorParams, splitter: Splitter,
                       method: dict[str, Any]) -> DetectorResult:
    """Load the representations, split and judge every class, and build the result.

    Without a representations artifact or a model the result is ``not_applicable`` (the dataset
    alone holds no representations); representations that predict nothing about the labels
    (constant, random, rows shuffled) fail; every other problem propagates (an ``error`` result, or
    ``not_applicable`` for :class:`NotApplicableError`).
    """
    if not (ctx.has("representations") or ctx.has("model")):
        return DetectorResult(
            status="not_applicable",
            score=0.0,
            summary=f"{name}: no representations to analyse: bind a representations artifact (`of:` the "
            "dataset) or a TorchScript or skops MLP model at or upstream of the stage",
        )
    view = split_view(name, ctx, params, splitter, method)
    result = view.result(params)
    doubt = representation_doubt(view.reps.values, view.dataset.labels, ctx.seed)
    if not doubt:
        return result
    # Unusable representations hide every backdoor: no pass on them, whatever the split found.
    return result.model_copy(update={"status": "fail", "score": max(result.score, 0.5),
                                     "summary": f"{doubt} What the screen found regardless: {result.summary}"})


def split_view(name: str, ctx: RunContext, params: BackdoorParams, splitter: Splitter,
               method: dict[str, Any]) -> BackdoorView:
    """The analysis behind :func:`run_split_detector`, with every sample's score (benchmarks, notebooks)."""
    dataset = ctx.dataset()
    reps = representations_for(ctx)
    findings = analyse(reps.values, dataset.features, dataset.labels, splitter, params, ctx.seed)
    return BackdoorView(name, dataset, reps, findings, method)
