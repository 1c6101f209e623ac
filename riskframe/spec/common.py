"""Types shared by the pipeline, control and policy documents."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from riskframe.spec.yaml_source import SourceMap
from riskframe.vocabulary import Level

API_VERSION = "riskframe/v1"

# Stage kinds follow the ATLAS ML lifecycle (the `ml-lifecycle` of mitigations), so that a
# mitigation's lifecycle says at which stages its controls run.
StageKind = Literal[
    "data-understanding",
    "data-preparation",
    "model-engineering",
    "model-evaluation",
    "deployment",
    "monitoring",
]
STAGE_KINDS: tuple[str, ...] = StageKind.__args__  # type: ignore[attr-defined]

ATLAS_LIFECYCLE_TO_STAGE_KIND: dict[str, str] = {
    "Business and Data Understanding": "data-understanding",
    "Data Preparation": "data-preparation",
    "ML Model Engineering": "model-engineering",
    "ML Model Evaluation": "model-evaluation",
    "Deployment": "deployment",
    "Monitoring and Maintenance": "monitoring",
}

# A requirement's severity is graded on the same four levels as a residual risk.
Severity = Level

Trust = Literal["trusted", "untrusted"]

# Names users write and other documents refer to: stages, artifacts, controls, requirements.
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=128)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class Spec(BaseModel):
    """Base of every document model: unknown keys are errors, loaded documents are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Document(Spec):
    """Fields every riskframe document starts with."""

    api_version: Literal["riskframe/v1"] = Field(alias="apiVersion")

    # Where the document was loaded from, kept beside the data (None when built in code).
    _source: SourceMap | None = PrivateAttr(default=None)

    @property
    def source(self) -> SourceMap:
        """Positions of the document's fields; an empty map for documents built in code."""
        return self._source or SourceMap("<memory>")

    @property
    def path(self) -> Path | None:
        return Path(self._source.path) if self._source else None

    @property
    def base_dir(self) -> Path:
        """The directory relative paths in the document are resolved against."""
        return self.path.parent if self.path else Path.cwd()
