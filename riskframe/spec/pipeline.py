"""The pipeline document (``kind: Pipeline``): stages, their dependencies, trust and artifacts."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator, model_validator

from riskframe.spec.common import Document, Name, Sha256, Spec, StageKind, Trust

ArtifactType = Literal["dataset", "representations", "model", "files", "endpoint"]

# Formats each artifact type accepts. Pickle-based model formats are declared but are only ever
# opened after a static scan (never by unpickling an untrusted file).
FORMATS: dict[str, tuple[str, ...]] = {
    "dataset": ("npz", "npy", "csv", "parquet", "images", "jsonl", "text"),
    "representations": ("npy", "npz"),
    "model": ("skops", "joblib", "pickle", "torchscript", "onnx", "safetensors"),
    "files": ("any",),
    # A language model reached through an adapter (riskframe.llm): `path` is its endpoint file.
    "endpoint": ("yaml",),
}

# Dataset formats whose path may be a folder: its shards (parquet, npz; jsonl, text for a corpus) or its images.
FOLDER_DATASET_FORMATS = ("parquet", "npz", "images", "jsonl", "text")
# Dataset formats that are only ever text corpora (riskframe.data.text); parquet is one when it names `text:`.
CORPUS_FORMATS = ("jsonl", "text")
# Dataset formats a `shards:` pattern may select the files of.
SHARDED_FORMATS = ("parquet", "npz", "jsonl", "text")
# Dataset formats whose columns have names: labels:, features:, groups:, id_column:, ignore_columns: name them.
TABLE_FORMATS = ("csv", "parquet")

_SUFFIX_FORMATS = {
    ".npz": "npz", ".npy": "npy", ".csv": "csv", ".parquet": "parquet", ".skops": "skops", ".joblib": "joblib",
    ".pkl": "pickle", ".pickle": "pickle", ".pt": "torchscript", ".onnx": "onnx",
    ".safetensors": "safetensors", ".jsonl": "jsonl", ".txt": "text",
}


# A registered model version or alias, as MLflow writes model URIs.
MODEL_URI = r"^models:/(?P<name>[^/@\s]+)(?:/(?P<version>[1-9][0-9]*)|@(?P<alias>[A-Za-z0-9_-]+))$"


class RegisteredModel(Spec):
    """Where a model artifact is registered: a version or alias in an MLflow Model Registry.

    Written ``mlflow: models:/NAME/VERSION`` (or ``models:/NAME@alias``), or as a mapping with
    the URIs; without them MLflow's own ``MLFLOW_TRACKING_URI`` and ``MLFLOW_REGISTRY_URI`` apply.
    """

    model: str = Field(description="models:/NAME/VERSION or models:/NAME@alias")
    tracking_uri: str | None = Field(
        default=None, min_length=1,
        description="the MLflow tracking server or store (default $MLFLOW_TRACKING_URI); a relative "
                    "sqlite:/// path is relative to the pipeline file and must stay inside its folders")
    registry_uri: str | None = Field(default=None, min_length=1,
                                     description="the Model Registry, when not the tracking store "
                                                 "(default $MLFLOW_REGISTRY_URI, else tracking_uri)")
    code_version: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{7,40}$",
        description="the git commit the model's training run must have run at (its mlflow.source.git.commit)")

    @field_validator("model")
    @classmethod
    def _model_uri(cls, value: str) -> str:
        if not re.match(MODEL_URI, value):
            raise ValueError(f"must be models:/NAME/VERSION or models:/NAME@alias. Got {value!r} instead.")
        return value


def signature_method(public_key: str | None, certificate_chain: list[str] | tuple[str, ...], identity: str | None,
                     oidc_issuer: str | None, trust_config: str | None) -> str | None:
    """The one verification method these settings name (None: none), or ValueError saying what is mixed up."""
    sigstore = (identity, oidc_issuer, trust_config)
    named = [m for m, given in (("public_key", public_key), ("certificate_chain", certificate_chain),
                                ("sigstore", any(sigstore))) if given]
    if len(named) > 1:
        raise ValueError(f"give one way to verify a signature, not {' and '.join(named)}")
    if any(sigstore) and not all(sigstore):
        raise ValueError("a Sigstore signature needs identity, oidc_issuer and trust_config (the trust root, "
                         "so that nothing is fetched)")
    return {"public_key": "public-key", "certificate_chain": "certificate", "sigstore": "sigstore"}.get(
        named[0]) if named else None


class ModelSignature(Spec):
    """A model's detached signature (an OpenSSF model-signing bundle) and, optionally, what verifies it.

    Written ``signature: PATH`` or as a mapping; verification material given here overrides the
    control's. Paths are relative to the pipeline file.
    """

    path: str = Field(min_length=1, description="the signature bundle (model-signing's model.sig)")
    public_key: str | None = Field(default=None, min_length=1, description="PEM public key of the signer")
    certificate_chain: list[str] = Field(default_factory=list,
                                         description="PEM certificates the signing certificate must chain to")
    identity: str | None = Field(default=None, min_length=1, description="Sigstore: the signer's identity")
    oidc_issuer: str | None = Field(default=None, min_length=1, description="Sigstore: its OIDC issuer")
    trust_config: str | None = Field(default=None, min_length=1,
                                     description="Sigstore: the trust root (a ClientTrustConfig JSON file)")

    @model_validator(mode="after")
    def _one_method(self) -> ModelSignature:
        signature_method(self.public_key, self.certificate_chain, self.identity, self.oidc_issuer, self.trust_config)
        return self


class Artifact(Spec):
    """A file or folder a stage reads or produces.

    ``path`` is relative to the pipeline file. For an ``npz`` dataset, ``features`` and ``labels``
    name the arrays inside it; for an ``npy`` dataset, ``path`` holds the features and ``labels``
    is the path of the label array; for a ``csv`` or ``parquet`` dataset, ``labels`` is the label
    column, ``features`` (optional) lists the feature columns, ``id_column`` names the column that
    identifies rows and ``ignore_columns`` the columns that are neither; an ``images`` dataset is a
    folder (a subfolder per class, or ``labels`` naming a path,label csv); a ``parquet`` or ``npz``
    dataset whose path is a folder is read from the files in it that match ``shards``
    (docs/pipeline.md has every key with examples). ``groups`` (npz: an array; table: a column)
    names the entity each row belongs to (a patient, a household, a customer seen in several
    years): a label screen keeps an entity's rows together, so that one row of a person cannot
    vouch for another, and a person whose rows disagree is ambiguity, not a flip. Features of shape (N, H, W) or
    (N, H, W, C) are images: detectors see them flattened, reports show them as pictures.
    A *text* dataset (``jsonl``, ``text``, or ``parquet`` with ``text:``) is a corpus of records
    read in batches (:mod:`riskframe.data.text`): ``text`` names the field or column holding each
    record's text, ``labels`` the one holding its label (optional); ``path`` may be a folder of
    shards, pinned by a ``manifest:``. An ``endpoint`` is a language model reached through an
    adapter: ``path`` is its endpoint file (:mod:`riskframe.llm.endpoint`).
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
    groups: str | None = Field(default=None, min_length=1,
                               description="for a dataset: the array (npz) or column (csv) naming the entity each "
                                           "row belongs to; rows of one entity are judged together")
    id_column: str | None = Field(
        default=None, min_length=1,
        description="for a table dataset (csv, Parquet): the column that identifies each row (never a feature); "
                    "reports show it beside each flagged row")
    ignore_columns: list[str] = Field(
        default_factory=list,
        description="for a table dataset (csv, Parquet): columns that are neither features nor labels (free text, "
                    "timestamps, leaked targets)")
    shards: str | None = Field(
        default=None, min_length=1,
        description="for a dataset whose path is a folder of Parquet or npz files (or jsonl or text corpus files): the "
                    "pattern its files match (default *.parquet or *.npz, every file with a corpus's suffix; ** "
                    "reaches into subfolders), read in name order as one dataset")
    of: Name | None = Field(default=None, description="the dataset a representations artifact is row-aligned "
                            "with; for a model, the dataset it was trained on")
    sha256: Sha256 | None = None
    text: str | None = Field(default=None, min_length=1,
                             description="for a text dataset: the field (jsonl) or column (parquet) holding each "
                                         "record's text (default: text)")
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
    mlflow: RegisteredModel | None = Field(
        default=None, description="for a model: its registered version in an MLflow Model Registry "
                                  "(models:/NAME/VERSION or models:/NAME@alias, or a mapping with the URIs)")
    signature: ModelSignature | None = Field(
        default=None, description="for a model: its model-signing signature bundle (a path, or a mapping "
                                  "with the key, certificate chain or Sigstore trust root that verifies it)")
    description: str = ""

    @field_validator("mlflow", mode="before")
    @classmethod
    def _model_uri(cls, value: object) -> object:
        return {"model": value} if isinstance(value, str) else value

    @field_validator("signature", mode="before")
    @classmethod
    def _signature_path(cls, value: object) -> object:
        return {"path": value} if isinstance(value, str) else value

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
        tabular = self.type == "dataset" and self.resolved_format in TABLE_FORMATS
        for key in ("id_column", "ignore_columns"):
            if getattr(self, key) and not tabular:
                raise ValueError(f"`{key}:` names columns of a table; a {self.type} of format "
                                 f"{self.resolved_format} has none (use it with format: {' or '.join(TABLE_FORMATS)})")
        if self.shards is not None and not (self.type == "dataset" and self.resolved_format in SHARDED_FORMATS):
            raise ValueError("`shards:` is the file pattern of a folder of parquet or npz dataset files (or jsonl "
                             "or text corpus files); declare type: dataset and one of these formats")
        if self.train is not None and self.type != "model":
            raise ValueError(f"`train:` names how a model is trained; a {self.type} artifact is not one")
        if self.text is not None and self.type != "dataset":
            raise ValueError(f"`text:` names the text field of a text dataset; a {self.type} artifact has none")
        if self.resolved_format == "text" and self.type == "dataset" and self.labels is not None:
            raise ValueError("a plain-text dataset has one record per line and no labels; use jsonl or parquet "
                             "for a labelled text set")
        for key in ("mlflow", "signature"):
            if getattr(self, key) is not None and self.type != "model":
                raise ValueError(f"`{key}:` belongs to a model; a {self.type} artifact has none")
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
