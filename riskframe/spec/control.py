"""The control document (``kind: Control``): a named check built on one detector."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ByteSize, Field

from riskframe.spec.common import Document, Name, Spec, StageKind

MIN_MEMORY = 16 * 2**20


def _enough_memory(size: ByteSize) -> ByteSize:
    if size < MIN_MEMORY:
        raise ValueError(f"must be at least 16MiB, room for a run to do anything at all. Got {size.human_readable()} "
                         "instead.")
    return size


# "4GiB", "512MiB", "2GB" or a number of bytes (pydantic's ByteSize: binary and decimal units).
MemorySize = Annotated[ByteSize, AfterValidator(_enough_memory)]


class ControlAtlas(Spec):
    detects: list[str] = Field(default_factory=list, description="ATLAS techniques the check detects")
    mitigates: list[str] = Field(default_factory=list, description="ATLAS mitigations the check implements")


class Control(Document):
    """A detector with default parameters and thresholds, tied to ATLAS and NIST AI RMF.

    ``stage_kinds`` says where the control runs; left empty, it is derived from the ATLAS
    lifecycle of the mitigations it implements.
    """

    kind: Literal["Control"]
    id: Name
    title: str = Field(min_length=1, description='phrased as "Ensure ..."')
    description: str = ""
    detector: str
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    atlas: ControlAtlas = Field(default_factory=ControlAtlas)
    nist: list[str] = Field(default_factory=list)
    stage_kinds: list[StageKind] = Field(default_factory=list)
    effectiveness: float = Field(
        default=0.7, ge=0.0, le=1.0,
        description="share of the prior likelihood that a passing run removes",
    )
    timeout: float = Field(default=600.0, gt=0, description="seconds of wall-clock time before the run is "
                           "stopped and becomes an error")
    memory: MemorySize | None = Field(
        default=None, description="memory the run may allocate (4GiB, 512MiB, 2GB or bytes); an allocation beyond "
        "it fails and the run becomes an error; default: three quarters of the machine's memory shared by the "
        "parallel runs")
    remediation: str = ""
