"""Where a detector's representations come from: a ``representations`` artifact, or a model.

Representation-based detectors bind ``dataset`` (primary), and optionally ``representations``
(the artifact declared ``of:`` the dataset) and ``model`` (one run per model of the nearest stage
at or upstream of the stage that has models). An explicit representations artifact is used, but
not blindly: when the bound model was trained on the same dataset (its ``of:`` is the
representations' ``of:``) and riskframe can read its layers, the artifact is first spot-checked
against the model's layer (:mod:`riskframe.representations.spot_check`), since a replaced file
would otherwise decide the verdict on its own. Without an artifact the model is loaded (after the
unsafe-model scan) and the dataset is run through it up to the artifact's ``layer:`` (default:
the input of its final linear layer). :meth:`Representations.evidence` records which it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from riskframe.data.datasets import Dataset
from riskframe.detectors.context import RunContext
from riskframe.errors import DetectorError, NotApplicableError
from riskframe.representations.spot_check import SpotCheck, spot_check
from riskframe.spec.pipeline import Artifact

MODEL_FORMATS = ("torchscript", "skops")


@dataclass(frozen=True, eq=False)
class Representations:
    """(N, D) representations row-aligned with a dataset, and where they came from.

    ``source`` is a phrase for reports (``layer 'penultimate' of TorchScript model 'model'``);
    ``model`` is the loaded model when one produced them (``None`` for an artifact);
    ``checked`` is how an artifact compared with the bound model, or why it was not compared.
    """

    values: np.ndarray
    source: str
    artifact: str
    layer: str | None = None
    model: Any = None
    checked: SpotCheck | str | None = None

    @property
    def origin(self) -> Literal["artifact", "model"]:
        return "model" if self.model is not None else "artifact"

    def evidence(self) -> dict[str, Any]:
        """Where the values came from, for a result's evidence.

        >>> Representations(np.zeros((2, 3)), "representations artifact 'reps'", "reps").evidence()
        {'source': "representations artifact 'reps'", 'representations_source': 'artifact', 'dimensions': 3}
        """
        out: dict[str, Any] = {"source": self.source, "representations_source": self.origin,
                               "dimensions": int(self.values.shape[1])}
        if isinstance(self.checked, SpotCheck):
            out["checked_against_model"] = self.checked.evidence()
        elif self.checked is not None:
            out["not_checked"] = self.checked
        return out


def representations_for(ctx: RunContext) -> Representations:
    """The representations of ``ctx.dataset()``: the bound representations artifact, else the
    bound model's layer.

    Raises
    ------
    NotApplicableError
        Neither a representations artifact nor a model is bound, or the model's format has no
        readable layers (pickle, ONNX, ...).
    DetectorError
        The model file fails the unsafe scan, is not what its format says, has no such layer, or
        its outputs do not fit the dataset's classes.

    Examples
    --------
    >>> reps = representations_for(ctx)  # doctest: +SKIP
    >>> reps.values.shape, reps.source  # doctest: +SKIP
    ((1438, 64), "layer 'penultimate' of TorchScript model 'model'")
    """
    if ctx.has("representations"):
        return _declared(ctx)
    if not ctx.has("model"):
        raise NotApplicableError(
            "no representations to analyse: bind a representations artifact (`of:` the dataset) or a "
            "TorchScript or skops MLP model at or upstream of the stage"
        )
    artifact = ctx.artifact("model")
    dataset: Dataset = ctx.dataset()
    model = load_model(artifact, ctx.path("model"))
    check_outputs(model, dataset)
    layer = artifact.layer or model.default_layer()
    values = model.representations(dataset, layer)
    if not np.isfinite(values).all():
        raise DetectorError(f"layer {layer!r} of model {artifact.name!r} produced NaN or infinite values")
    source = f"layer {layer!r} of {model.kind} model {artifact.name!r}"
    return Representations(values, source, artifact.name, layer, model)


def _declared(ctx: RunContext) -> Representations:
    """The representations artifact, spot-checked against the bound model when it can be."""
    artifact = ctx.artifact("representations")
    values = ctx.representations()
    source = f"representations artifact {artifact.name!r}"
    model_artifact = ctx.artifact("model") if ctx.has("model") else None
    if model_artifact is None or model_artifact.of != artifact.of:
        why = None if model_artifact is None else (
            f"model {model_artifact.name!r} is not declared `of: {artifact.of}`, the dataset they represent")
        return Representations(values, source, artifact.name, checked=why)
    if model_artifact.resolved_format not in MODEL_FORMATS:
        why = f"model {model_artifact.name!r} is {model_artifact.resolved_format}, whose layers riskframe cannot read"
        return Representations(values, source, artifact.name, checked=why)
    model = load_model(model_artifact, ctx.path("model"))
    layer = model_artifact.layer or model.default_layer()
    seed = [ctx.seed % 2**32, int(ctx.store.digest(artifact)[:16], 16)]  # reproducible, fixed only with the file
    check = spot_check(values, ctx.dataset(), model, layer, artifact.name, seed)
    source += f" (matches layer {layer!r} of {model.kind} model {model.name!r} on {check.rows} sampled rows)"
    return Representations(values, source, artifact.name, checked=check)


def load_model(artifact: Artifact, path: Path) -> Any:
    """Scan, then load, a TorchScript or skops model artifact (:class:`TorchScriptModel` or
    :class:`~riskframe.representations.mlp.SkopsMLP`)."""
    fmt = artifact.resolved_format
    if fmt not in MODEL_FORMATS:
        raise NotApplicableError(
            f"model {artifact.name!r} is {fmt}: representations are read from TorchScript or skops "
            "(scikit-learn MLP) models; export one of those, or declare a representations artifact"
        )
    if not path.is_file():
        raise DetectorError(f"model {artifact.name!r}: file not found: {path}")
    if fmt == "skops":  # both load through riskframe.io.model_files.open_model: scanned first
        from riskframe.representations.mlp import SkopsMLP

        return SkopsMLP.load(path, artifact.name)
    from riskframe.representations.torchscript import TorchScriptModel

    return TorchScriptModel.load(path, artifact.name)


def check_outputs(model: Any, dataset: Dataset) -> None:
    """Raise :class:`DetectorError` unless every label of ``dataset`` is one the model outputs."""
    if hasattr(model, "output_labels"):
        known = model.output_labels()
        missing = np.setdiff1d(dataset.classes, known)
        if missing.size:
            raise DetectorError(
                f"model {model.name!r} outputs the labels {_listed(known)} but dataset {dataset.name!r} "
                f"also has {_listed(missing)}; bind the model trained on this dataset"
            )
        return
    size = model.output_size(dataset)
    labels = dataset.classes
    if labels.min() < 0 or labels.max() >= size:
        raise DetectorError(
            f"model {model.name!r} outputs {size} class scores but dataset {dataset.name!r} has "
            f"{dataset.n_classes} classes (labels {_listed(labels)}); bind the model trained on this dataset"
        )


def _listed(values: np.ndarray, limit: int = 12) -> str:
    shown = ", ".join(str(v) for v in values[:limit].tolist())
    return shown + (f", ... ({values.size} in all)" if values.size > limit else "")
