"""The control document (``kind: Control``): a named check built on one detector."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from riskframe.spec.common import Document, Name, Spec, StageKind


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
    timeout: float = Field(default=600.0, gt=0, description="seconds before the run becomes an error")
    remediation: str = ""
