"""``art-spectral-signatures`` and ``art-activation-defence``: the Adversarial Robustness Toolbox's
poisoning defences, run on the pipeline's PyTorch model, so their verdicts can be compared with
``spectral-signatures`` and ``activation-clustering`` on the same data.

The TorchScript model is wrapped in ART's ``PyTorchClassifier``. ART reads the activations of the
classifier's *last* top-level layer through a forward hook; TorchScript refuses hooks, so the
wrapper's last child computes the model's representation layer (the artifact's ``layer:``, by
default the input of its final linear layer) with
:meth:`~riskframe.representations.torchscript.TorchScriptModel.layer_function`. Both ART and
riskframe's detectors therefore read the same layer.

Known weaknesses (issue 3 measured them on the digits with a 2x2 patch; ``benchmarks/backdoor.py``
reproduces them):

- ``SpectralSignatureDefense`` flags the top ``1.5 x expected_poison_fraction`` of *every* class by
  its spectral score: the user must guess the poison rate, a clean model still has that share
  flagged, and poisons confined to the target class are mostly missed there (F1 0.16-0.23). Its
  scores project *uncentred* features, so the top direction is mostly the class mean.
- ``ActivationDefence`` with its default ``cluster_analysis="smaller"`` flags the smaller of two
  clusters in *every* class: about a third of any dataset (precision 0.08-0.18 at 5-10% poisons).
- Neither names a target class, so neither can say a model is clean: these detectors ``warn``
  whenever they flag anything and are meant for comparison and triage, not for gating.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from riskframe.data.datasets import Dataset
from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.detectors.labels.flip_evidence import percent
from riskframe.errors import DetectorError, MissingDependencyError, NotApplicableError
from riskframe.representations.source import check_outputs, load_model
from riskframe.results import DetectorResult

# ART's clusterers take no seed and draw from numpy's global generator: runs are made repeatable by
# seeding it around the call, one ART run at a time, restoring the generator's state afterwards.
_GLOBAL_RNG = threading.Lock()


class ArtSpectralParams(DetectorParams):
    """Parameters of ``art-spectral-signatures`` (ART's own names in the descriptions)."""

    expected_poison_fraction: float = Field(
        default=0.05, gt=0.0, lt=1.0, description="ART expected_pp_poison: the poison rate assumed in every class"
    )
    eps_multiplier: float = Field(default=1.5, gt=0.0, le=10.0, description="ART eps_multiplier")
    batch_size: int = Field(default=128, ge=1, le=65_536, description="ART batch_size for activations")


class ArtActivationParams(DetectorParams):
    """Parameters of ``art-activation-defence`` (ART's ``detect_poison`` keywords)."""

    nb_dims: int = Field(default=10, ge=1, le=512, description="ART nb_dims: dimensions after reduction")
    reduce: Literal["FastICA", "PCA"] = Field(default="FastICA", description="ART reduce")
    cluster_analysis: Literal["smaller", "relative-size", "distance", "silhouette-scores"] = Field(
        default="smaller", description="ART cluster_analysis: how a cluster is judged poisonous"
    )


def art_classifier(ctx: RunContext, detector: str) -> tuple[Any, np.ndarray, np.ndarray, Dataset, str]:
    """ART's ``PyTorchClassifier`` over the bound TorchScript model, whose last layer is the
    representation layer; with the model inputs, one-hot labels, the dataset and the layer name."""
    try:
        import torch
        from art.estimators.classification import PyTorchClassifier
    except ImportError as exc:
        missing = "torch" if "torch" in str(exc) else "adversarial-robustness-toolbox"
        raise MissingDependencyError(missing, "torch" if missing == "torch" else "art", detector) from exc
    dataset: Dataset = ctx.dataset()
    artifact = ctx.artifact("model")
    model = load_model(artifact, ctx.path("model"))
    if model.kind != "TorchScript":
        raise NotApplicableError(
            f"{detector} wraps a PyTorch model through ART; model {artifact.name!r} is "
            f"a {model.kind} (use spectral-signatures or activation-clustering)"
        )
    check_outputs(model, dataset)
    layer = artifact.layer or model.default_layer()
    represent = model.layer_function(layer)

    class Representation(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = represent(x)
            return out

    class ForArt(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model.module
            self.representation = Representation()  # last child: the layer ART reads

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.representation(x)
            return self.model(x)  # type: ignore[no-any-return]

    inputs = model.inputs(dataset).numpy()
    n_classes = model.output_size(dataset)
    classifier = PyTorchClassifier(
        ForArt(), loss=torch.nn.CrossEntropyLoss(), input_shape=inputs.shape[1:], nb_classes=n_classes
    )
    onehot = np.eye(n_classes)[dataset.classes[dataset.labels]]
    return classifier, inputs, onehot, dataset, f"layer {layer!r} of TorchScript model {artifact.name!r}"


def _seeded(seed: int, call: Any) -> Any:
    with _GLOBAL_RNG:
        state = np.random.get_state()
        np.random.seed(seed)
        try:
            return call()
        finally:
            np.random.set_state(state)


def _result(
    name: str, dataset: Dataset, flagged: np.ndarray, scores: np.ndarray, source: str, settings: dict[str, Any]
) -> DetectorResult:
    share = flagged.size / dataset.n_samples
    per_class = [
        {
            "label": dataset.classes[c].item(),
            "samples": int(np.sum(dataset.labels == c)),
            "flagged": int(np.sum(dataset.labels[flagged] == c)),
        }
        for c in range(dataset.n_classes)
    ]
    return DetectorResult(
        status="warn" if flagged.size else "pass",
        score=float(min(1.0, share)),
        summary=(
            f"ART flagged {flagged.size} samples ({percent(share)} of the dataset) across "
            f"{sum(1 for row in per_class if row['flagged'])} classes; it names no target class"
        ),
        metrics={"flagged_samples": float(flagged.size), "flagged_fraction": share},
        evidence={
            "flagged_indices": flagged.tolist(),
            "scores": [round(float(s), 4) for s in scores],
            "given_labels": [dataset.classes[c].item() for c in dataset.labels[flagged]],
            "classes": per_class,
            "target_class": None,
            "representations": {"source": source},
            "method": {"detector": name, **settings},
        },
    )


class ArtSpectralSignatures(Detector[ArtSpectralParams]):
    """ART's SpectralSignatureDefense on the pipeline's PyTorch model (see the module docstring)."""

    name: ClassVar[str] = "art-spectral-signatures"
    title: ClassVar[str] = "ART SpectralSignatureDefense on a PyTorch model (comparison baseline)"
    requires = ("dataset", "model")
    Params = ArtSpectralParams
    techniques: ClassVar[tuple[str, ...]] = ("AML.T0020", "AML.T0018.000", "AML.T0043.004")
    imports: ClassVar[tuple[str, ...]] = ("torch", "art.estimators.classification", "art.defences.detector.poison")

    def run(self, ctx: RunContext, params: ArtSpectralParams) -> DetectorResult:
        """Flag what ART's SpectralSignatureDefense flags; scores are ART's, scaled to [0, 1] per class."""
        from art.defences.detector.poison import SpectralSignatureDefense

        classifier, inputs, onehot, dataset, source = art_classifier(ctx, self.name)
        defence = SpectralSignatureDefense(
            classifier,
            inputs,
            onehot,
            batch_size=params.batch_size,
            eps_multiplier=params.eps_multiplier,
            expected_pp_poison=params.expected_poison_fraction,
        )
        report, is_clean = defence.detect_poison()
        flagged = np.flatnonzero(np.asarray(is_clean) == 0)
        raw = np.array([float(np.asarray(report.get(int(i), 0.0)).reshape(-1)[0]) for i in flagged])
        scores = _scaled_per_class(raw, dataset.labels[flagged])
        order = np.argsort(-scores, kind="stable")
        return _result(self.name, dataset, flagged[order], scores[order], source, params.model_dump())


class ArtActivationDefence(Detector[ArtActivationParams]):
    """ART's ActivationDefence on the pipeline's PyTorch model (see the module docstring)."""

    name: ClassVar[str] = "art-activation-defence"
    title: ClassVar[str] = "ART ActivationDefence on a PyTorch model (comparison baseline)"
    requires = ("dataset", "model")
    Params = ArtActivationParams
    techniques: ClassVar[tuple[str, ...]] = ("AML.T0020", "AML.T0018.000", "AML.T0043.004")
    imports: ClassVar[tuple[str, ...]] = ("torch", "art.estimators.classification", "art.defences.detector.poison")

    def run(self, ctx: RunContext, params: ArtActivationParams) -> DetectorResult:
        """Flag what ART's ActivationDefence flags (it gives no per-sample score: each is 1)."""
        from art.defences.detector.poison import ActivationDefence

        classifier, inputs, onehot, dataset, source = art_classifier(ctx, self.name)
        defence = ActivationDefence(classifier, inputs, onehot)
        settings = {
            "nb_clusters": 2,
            "nb_dims": params.nb_dims,
            "reduce": params.reduce,
            "cluster_analysis": params.cluster_analysis,
        }
        try:
            _, is_clean = _seeded(ctx.seed, lambda: defence.detect_poison(**settings))
        except ValueError as exc:  # sklearn's FastICA inside ART, on layers with many inactive units
            raise DetectorError(
                f"ART's ActivationDefence failed on this model ({exc}); its {params.reduce} reduction breaks on "
                "some penultimate layers: try `reduce: PCA`, or activation-clustering"
            ) from exc
        flagged = np.flatnonzero(np.asarray(is_clean) == 0)
        return _result(self.name, dataset, flagged, np.ones(flagged.size), source, params.model_dump())


def _scaled_per_class(raw: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """ART's outlier scores divided by their class maximum: 1 for the most suspicious of each class."""
    scaled = np.zeros(raw.size)
    for c in np.unique(labels):
        mine = labels == c
        top = raw[mine].max()
        scaled[mine] = raw[mine] / top if top > 0 else 1.0
    return np.clip(scaled, 0.0, 1.0)
