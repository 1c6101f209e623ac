"""The pipeline document (``kind: Pipeline``): stages, their dependencies, trust and artifacts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from riskframe.spec.common import Document, Name, Sha256, Spec, StageKind, Trust

ArtifactType = Literal["dataset", "representations", "model", "files"]

# Formats each artifact type accepts. Pickle-based model formats are declared but are only ever
# opened after a static scan (never by unpickling an untrusted file).
FORMATS: dict[str, tuple[str, ...]] = {
    "dataset": ("npz", "npy", "csv"),
    "representations": ("npy", "npz"),
    "model": ("skops", "joblib", "pickle", "torchscript", "onnx", "safetensors"),
    "files": ("any",),
}

_SUFFIX_FORMATS = {
    ".npz": "npz", ".npy": "npy", ".csv": "csv", ".skops": "skops", ".joblib": "joblib",
    ".pkl": "pickle", ".pickle": "pickle", ".pt": "torchscript", ".onnx": "onnx",
    ".safetensors": "safetensors",
}


class Artifact(Spec):
    """A file or folder a stage reads or produces.

    ``path`` is relative to the pipeline file. For an ``npz`` dataset, ``features`` and ``labels``
    name the arrays inside it; for an ``npy`` dataset, ``path`` holds the features and ``labels``
    is the path of the label array; for a ``csv`` dataset, ``labels`` is the label column and
    ``features`` (optional) lists the feature columns. Features of shape (N, H, W) or
    (N, H, W, C) are images: detectors see them flattened, reports show them as pictures.
    """

    name: Name
    type: ArtifactType
    path: str = Field(min_length=1)
    format: str | None = None
    features: str | list[str] | None = None
    labels: str | None = None
    of: Name | None = Field(default=None, description="the dataset a representations artifact is row-aligned with")
    sha256: Sha256 | None = None
    description: str = ""

    @model_validator(mode="after")
    def _format_fits_type(self) -> Artifact:
        allowed = FORMATS[self.type]
        if self.format is not None and self.format not in allowed and allowed != ("any",):
            raise ValueError(
                f"format {self.format!r} is not a {self.type} format; use one of {', '.join(allowed)}"
            )
        if self.type == "representations" and self.of is None:
            raise ValueError("a representations artifact needs `of:`, the dataset it is row-aligned with")
        return self

    @property
    def resolved_format(self) -> str:
        """The declared format, or the one the file suffix implies."""
        if self.format:
            return self.format
        for suffix, fmt in _SUFFIX_FORMATS.items():
            if self.path.lower().endswith(suffix):
                return fmt
        return "unknown"


class Stage(Spec):
    name: Name
    kind: StageKind
    needs: list[Name] = Field(default_factory=list)
    trust: Trust = "trusted"
    artifacts: list[Artifact] = Field(default_factory=list)
    description: str = ""


class PipelineMetadata(Spec):
    name: Name
    owner: str | None = None
    criticality: Literal["low", "medium", "high"] = "medium"
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)


class Pipeline(Document):
    kind: Literal["Pipeline"]
    metadata: PipelineMetadata
    stages: list[Stage] = Field(min_length=1)

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def artifacts(self) -> list[tuple[Stage, Artifact]]:
        return [(s, a) for s in self.stages for a in s.artifacts]
