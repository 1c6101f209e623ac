"""What the model-level backdoor detectors read from their run context: the model under test
(TorchScript, scanned before loading), clean held-out images with labels as the model's output
indices, and the model's training data when the plan bound it (the model's ``of:``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from riskframe.data.datasets import Dataset
from riskframe.detectors.backdoor.models import load_torchscript, model_labels, output_size
from riskframe.detectors.context import RunContext
from riskframe.errors import NotApplicableError
from riskframe.spec.pipeline import Artifact

MIN_CLEAN_IMAGES = 10


@dataclass(frozen=True)
class ModelUnderTest:
    """A loaded model and the clean images it is examined on."""

    artifact: Artifact
    model: Any
    scan: str
    n_classes: int
    dataset: Dataset
    images: np.ndarray
    labels: np.ndarray
    key: tuple[str, str]


def model_under_test(ctx: RunContext, detector: str) -> ModelUnderTest:
    """Load the bound model and the primary (clean, held-out) dataset.

    Raises
    ------
    riskframe.errors.NotApplicableError
        The model is not TorchScript, or the dataset holds no images or too few of them.
    riskframe.errors.DetectorError
        The file is not TorchScript, or the model's outputs do not fit the dataset's labels.
    """
    artifact = ctx.artifact("model")
    if artifact.resolved_format != "torchscript":
        raise NotApplicableError(f"{detector} optimises triggers through a torch model's gradients; model "
                                 f"{artifact.name!r} is {artifact.resolved_format}, not torchscript")
    dataset = ctx.dataset()
    images = dataset_images(dataset, detector)
    if dataset.n_samples < MIN_CLEAN_IMAGES:
        raise NotApplicableError(f"{detector} needs at least {MIN_CLEAN_IMAGES} clean images; dataset "
                                 f"{dataset.name!r} has {dataset.n_samples}")
    model, scan = load_torchscript(ctx.store.path(artifact), artifact.name, detector)
    n_classes = output_size(model, images)
    key = (ctx.store.digest(artifact), ctx.store.digest(ctx.artifact("dataset")))  # what was examined, by content
    return ModelUnderTest(artifact, model, scan, n_classes, dataset, images, model_labels(dataset, n_classes), key)


def dataset_images(dataset: Dataset, detector: str) -> np.ndarray:
    """The dataset's pictures (N, H, W[, C]); not applicable to flat feature tables."""
    if dataset.images is None:
        raise NotApplicableError(f"{detector} stamps triggers on images; dataset {dataset.name!r} holds "
                                 f"flat features of shape {dataset.features.shape}")
    return np.asarray(dataset.images, dtype=np.float64)


def training_data(ctx: RunContext) -> Dataset | None:
    """The model's training data, bound after the primary dataset (see ``binds_training_data``)."""
    bound = ctx.artifacts("dataset")
    return ctx.store.dataset(bound[1]) if len(bound) > 1 else None
