"""``trigger-reverse-engineering``: Neural Cleanse on a TorchScript model, in PyTorch.

For each class the detector searches the smallest trigger (a mask and a pattern) that sends clean
images of the other classes to that class, and flags a class whose mask is anomalously small: its
anomaly index, the median absolute deviation of the mask norms scaled by 1.4826, exceeds
``threshold`` (2, as in Wang et al. 2019). ART's ``NeuralCleanse`` accepts only Keras models;
this one optimises through any TorchScript classifier. See :mod:`riskframe.detectors.backdoor.neural_cleanse`.

Which data: the run's primary ``dataset`` is a clean held-out set (the control runs at
``model-evaluation`` stages, where the evaluation data lives), with one run per model of the
nearest stage at or upstream (:func:`riskframe.engine.plan.nearest_upstream`). Neural Cleanse assumes a
small set of clean images: optimising on the training set would mix in the poisoned images the
search is meant to expose. ``samples`` class-balanced images drive the search; the remaining ones
measure the reversed trigger's attack success, so the number is not fitted to its own data.

When a target is found and the model declares its training data (``of:``, bound as the second
dataset), the detector also flags the training images labelled with the target that the model
stops assigning to it once the trigger's pixels are painted over: those images were labelled by
the trigger, not by their content. They are reported as ``flagged_indices`` into that dataset
(``flagged_artifact``), for ``riskframe remediate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from riskframe.detectors.backdoor import _trigger_evidence as show
from riskframe.detectors.backdoor._inputs import ModelUnderTest, dataset_images, model_under_test, training_data
from riskframe.detectors.backdoor.models import model_labels
from riskframe.detectors.backdoor.neural_cleanse import CleanseSettings
from riskframe.detectors.backdoor.screening import Screen, screen_model, trigger_carriers
from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.results import Attachment, DetectorResult


class TriggerSearchParams(DetectorParams):
    """How Neural Cleanse searches; the defaults take seconds on 8x8 digits."""

    steps: int = Field(default=200, ge=10, le=20_000,
                       description="optimisation steps (one full-batch Adam update of every class's trigger)")
    samples: int = Field(default=128, ge=10, le=20_000,
                         description="clean images the triggers are optimised on (class-balanced); the rest of "
                                     "the dataset measures the reversed trigger's attack success")
    lr: float = Field(default=0.1, gt=0.0, le=10.0, description="Adam learning rate of the masks and patterns")
    threshold: float = Field(default=2.0, gt=0.0, le=100.0,
                             description="anomaly index above which a class is reported as the backdoor target")
    max_norm_ratio: float = Field(default=0.5, gt=0.0, le=1.0,
                                  description="a target's mask must also be at most this share of the median "
                                              "class's (guards against a collapsed MAD; see neural_cleanse)")
    min_flip_rate: float = Field(default=0.95, gt=0.0, le=1.0,
                                 description="share of the search images a trigger must send to its class to count")

    def settings(self, seed: int) -> CleanseSettings:
        return CleanseSettings(steps=self.steps, lr=self.lr, threshold=self.threshold,
                               max_norm_ratio=self.max_norm_ratio, success_threshold=self.min_flip_rate, seed=seed)


class TriggerReverseParams(TriggerSearchParams):
    """Parameters of ``trigger-reverse-engineering``."""

    find_carriers: bool = Field(default=True,
                                description="when a target is found, flag the training images (the model's of: "
                                            "dataset) that carry its trigger")


class TriggerReverseEngineering(Detector[TriggerReverseParams]):
    """Neural Cleanse: reverse-engineer a trigger per class and flag the anomalously small one."""

    name: ClassVar[str] = "trigger-reverse-engineering"
    title: ClassVar[str] = "Backdoor target class and trigger, reverse-engineered from the model (Neural Cleanse)"
    requires = ("dataset", "model")
    Params = TriggerReverseParams
    techniques: ClassVar[tuple[str, ...]] = ("AML.T0018.000", "AML.T0043.004", "AML.T0020")
    imports: ClassVar[tuple[str, ...]] = ("torch", "riskframe.detectors.figures:warm_up")
    binds_training_data: ClassVar[bool] = True
    # The contract suite's tiny CNN: 20 steps take every branch of the search that 200 take.
    contract_params: ClassVar[Mapping[str, Any]] = {"steps": 20}

    def run(self, ctx: RunContext, params: TriggerReverseParams) -> DetectorResult:
        """Search every class's trigger on the bound model; see the module docstring."""
        subject = model_under_test(ctx, self.name)
        screen = screen_model(subject.model, subject.images, subject.labels, subject.n_classes, params.samples,
                              params.settings(ctx.seed), key=subject.key, shared=ctx.shared)
        evidence, attachments = _evidence(subject, screen, params)
        carriers = None
        if screen.cleanse.target is not None and params.find_carriers:
            carriers, found, pictures = _carriers(ctx, subject, screen)
            evidence.update(found)
            attachments += pictures
        return _result(subject, screen, params, evidence, attachments, carriers)


def _evidence(subject: ModelUnderTest, screen: Screen,
              params: TriggerReverseParams) -> tuple[dict[str, Any], list[Attachment]]:
    cleanse = screen.cleanse
    suspects = cleanse.flagged or [cleanse.most_anomalous]
    trigger, pixels = show.trigger_facts(screen.suspect, screen.suspect.label in cleanse.flagged)
    evidence: dict[str, Any] = {
        "model": subject.artifact.name,
        "model_scan": subject.scan,
        "target_class": cleanse.target,
        "classes": show.class_rows(screen),
        "reversed_trigger": trigger,
        "trigger_pixels": pixels,
        "method": {
            "algorithm": "Neural Cleanse (Wang et al. 2019), all classes optimised together",
            "search_images": int(screen.search.size),
            "measured_on": ("held-out images the search did not see" if screen.held_out
                            else "the search images (too few images to hold some out)"),
            "measurement_images": int(screen.holdout.size),
            "steps": params.steps, "lr": params.lr, "min_flip_rate": params.min_flip_rate,
            "threshold": params.threshold, "max_norm_ratio": params.max_norm_ratio, "consistency_constant": 1.4826,
        },
    }
    attachments = [show.trigger_picture(screen, cleanse.triggers[c], float(cleanse.indices[c])) for c in suspects]
    attachments.append(show.masks_picture(screen))
    return evidence, attachments


def _carriers(ctx: RunContext, subject: ModelUnderTest,
              screen: Screen) -> tuple[int | None, dict[str, Any], list[Attachment]]:
    """Training images whose target label only the trigger explains (needs the model's ``of:``):
    how many (None: not searched), the evidence and the picture of them."""
    train = training_data(ctx)
    if train is None:
        return None, {"carriers": "not searched: the model declares no training data (of:)"}, []
    images = dataset_images(train, "trigger-reverse-engineering")
    labels = model_labels(train, subject.n_classes)
    fill = np.median(screen.images[screen.search], axis=0)
    indices, scores = trigger_carriers(subject.model, images, labels, screen.suspect, fill)
    label = screen.suspect.label
    found = (f"{indices.size} of {int((labels == label).sum())} training images of {train.name} labelled {label} lose "
             "that label once the trigger's pixels are painted over")
    if indices.size == 0:
        return 0, {"carriers": found}, []
    evidence = {"flagged_artifact": train.name, "flagged_indices": indices.tolist(),
                "scores": [round(float(s), 4) for s in scores], "carriers": found}
    return int(indices.size), evidence, [show.carriers_picture(images, indices, scores, label, train.name)]


def _result(subject: ModelUnderTest, screen: Screen, params: TriggerReverseParams, evidence: dict[str, Any],
            attachments: list[Attachment], carriers: int | None) -> DetectorResult:
    cleanse = screen.cleanse
    suspect = screen.suspect
    top_index = float(cleanse.indices[suspect.label])
    success = screen.attack_success(subject.model)
    metrics = {
        "anomaly_index": top_index,
        "target_found": 1.0 if cleanse.target is not None else 0.0,
        "reversed_trigger_attack_success": success,
        "target_mask_norm": suspect.norm,
        "median_mask_norm": float(np.median(cleanse.norms)),
        "flagged_classes": float(len(cleanse.flagged)),
    }
    if carriers:
        metrics["flagged_samples"] = float(carriers)
    score = min(1.0, max(0.0, top_index) / (2.0 * params.threshold))  # 0.5 at the threshold
    where = show.region(suspect.mask)["where"]
    model = subject.artifact.name
    if cleanse.target is None:
        summary = f"No backdoor target in model {model}: " + _ordinary(suspect.label, top_index, suspect.norm,
                                                                       metrics["median_mask_norm"], params)
        return DetectorResult(status="pass", score=min(score, 0.49), summary=summary, metrics=metrics,
                              evidence=evidence, attachments=attachments)
    carried = ""
    if carriers:
        carried = f"; {carriers} training images of {evidence['flagged_artifact']} carry it"
    elif carriers == 0:
        carried = "; no training image carries it (any more)"
    summary = (f"Model {model} has a backdoor into class {cleanse.target}: a {suspect.norm:.1f}-pixel trigger at "
               f"{where} sends {success:.0%} of held-out images of other classes there (anomaly index "
               f"{top_index:.2f} > {params.threshold:g}){carried}.")
    return DetectorResult(status="fail", score=max(score, 0.5), summary=summary, metrics=metrics, evidence=evidence,
                          attachments=attachments)


def _ordinary(label: int, index: float, norm: float, median: float, params: TriggerReverseParams) -> str:
    """Why the most anomalous class is not a backdoor target, in words."""
    if index <= params.threshold:
        return (f"every class's smallest trigger is ordinary (highest anomaly index {index:.2f}, class {label}, "
                f"below {params.threshold:g}).")
    return (f"class {label}'s anomaly index {index:.2f} exceeds {params.threshold:g}, but its trigger ({norm:.1f} "
            f"pixels) is {norm / median:.0%} of the median class's, larger than a planted trigger's "
            f"(at most {params.max_norm_ratio:.0%}).")
