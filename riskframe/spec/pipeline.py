"""The pipeline document (``kind: Pipeline``): stages, their dependencies, trust and artifacts."""

from __future__ import annotations

from functools import cached_property
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
    For a ``model``, ``layer`` names the layer whose output detectors read as the model's
    representation of a sample (a TorchScript submodule such as ``penultimate``, or ``hidden_2``
    of a scikit-learn MLP); by default the input of the model's last linear layer.
    A model's ``of`` names the dataset it was trained on and ``train`` the entry point
    (``package.module:function``) that trains it again, for controls that retrain and verify.
    """

    name: Name
    type: ArtifactType
    path: str = Field(min_length=1)
    format: str | None = None
    features: str | list[str] | None = None
    labels: str | None = None
    of: Name | None = Field(default=None, description="the dataset a representations artifact is row-aligned "
                            "with; for a model, the dataset it was trained on")
    sha256: Sha256 | None = None
    layer: str | None = Field(default=None, min_length=1,
                              description="for a model: the layer whose output is its representation")
    manifest: str | None = Field(
        default=None, min_length=1,
        description="a sha256sum-style manifest ('<sha256>  <path>' lines, paths relative to the manifest) "
                    "listing the artifact's files: artifact-digest verifies each and reports missing, extra "
                    "and changed files")
    manifest_sha256: Sha256 | None = Field(
        default=None,
        description="the sha256 of the `manifest:` file itself. A manifest shipped in the same delivery as the "
                    "files it lists proves nothing unless it is pinned: without this (or the artifact's own "
                    "`sha256:`), a match against the manifest counts as undeclared")
    task: str | None = Field(default=None, min_length=1,
                             description="for a model: what it does (e.g. image-classification), for the AI BOM")
    train: str | None = Field(
        default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$",
        description="for a model: the training entry point 'package.module:function' that retrains it "
                    "from its `of:` dataset (riskframe imports and runs it: name only code you trust)")
    # Data validation and monitoring (riskframe.detectors.drift).
    profile: str | None = Field(
        default=None, min_length=1,
        description="for a dataset: the profile it is checked against by data-schema and drift (a JSON file "
                    "written by `riskframe profile`, relative to the pipeline file), e.g. the training data's")
    windows: bool = Field(
        default=False,
        description="for a dataset: `path` is a folder of windows of production data, one npz or csv file per "
                    "window named so that they sort in time order (an ISO date first: 2024-03-01.npz); "
                    "data-schema and drift check each window")
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
        if self.layer is not None and self.type != "model":
            raise ValueError(f"`layer:` names a layer of a model; a {self.type} artifact has none")
        if self.task is not None and self.type != "model":
            raise ValueError(f"`task:` says what a model does; a {self.type} artifact has none")
        if self.manifest_sha256 is not None and self.manifest is None:
            raise ValueError("`manifest_sha256:` pins a manifest; name it with `manifest:`")
        if (self.profile is not None or self.windows) and self.type != "dataset":
            raise ValueError(f"`profile:` and `windows:` describe a dataset; a {self.type} artifact has neither")
        if self.train is not None and self.type != "model":
            raise ValueError(f"`train:` names how a model is trained; a {self.type} artifact is not one")
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
    """A system to assess: its stages, and where its artifact files may be.

    Artifact paths are relative to the pipeline file and must stay inside its folder (symbolic
    links resolved), or inside one of the folders listed under ``data_roots`` (relative to the
    pipeline file, or absolute): riskframe reads no file elsewhere.
    """

    kind: Literal["Pipeline"]
    metadata: PipelineMetadata
    data_roots: list[str] = Field(
        default_factory=list,
        description="folders besides the pipeline file's own that artifact paths may lead into (relative to the "
                    "pipeline file, or absolute); a path that resolves anywhere else, through '..', an absolute "
                    "path or a symbolic link, is refused")
    stages: list[Stage] = Field(min_length=1)

    def stage(self, name: str) -> Stage:
        return self.stage_index[name]

    def artifacts(self) -> list[tuple[Stage, Artifact]]:
        return [(s, a) for s in self.stages for a in s.artifacts]

    # Look-ups the planner makes once per binding: indexed once per (immutable) pipeline, so that
    # planning a 2,000-stage pipeline does not rescan every stage and artifact for each run.
    @cached_property
    def stage_index(self) -> dict[str, Stage]:
        """Stages by name (the first of a name; a duplicate is check_pipeline's to report)."""
        index: dict[str, Stage] = {}
        for stage in self.stages:
            index.setdefault(stage.name, stage)
        return index

    @cached_property
    def artifact_index(self) -> dict[str, Artifact]:
        """Artifacts by name (the first of a name)."""
        index: dict[str, Artifact] = {}
        for _, artifact in self.artifacts():
            index.setdefault(artifact.name, artifact)
        return index

    @cached_property
    def derived_from(self) -> dict[str, tuple[Artifact, ...]]:
        """Artifact name -> the artifacts declared ``of`` it (representations of a dataset), in order."""
        index: dict[str, list[Artifact]] = {}
        for _, artifact in self.artifacts():
            if artifact.of is not None:
                index.setdefault(artifact.of, []).append(artifact)
        return {name: tuple(found) for name, found in index.items()}
