"""``riskframe.oscal``: OSCAL assessment results, for GRC tools that import compliance records.

One ``oscal-assessment-results.json`` (the OSCAL version of the installed compliance-trestle,
1.2.x; needs the ``oscal`` extra), built with trestle's pydantic models of the OSCAL schema, so a
document that would not validate is never written. One OSCAL result holds the assessment:

- an **observation** per control run (method ``TEST``): the run's summary, the detector's metrics
  as properties, and as relevant evidence the evidence summary, the digests of the artifacts the
  run examined (back-matter resources with SHA-256 hashes), and ``assessment.json`` when it is
  written beside this file;
- a **finding** per NIST AI RMF subcategory that the runs assessed, ``satisfied`` or
  ``not-satisfied``, linked to the observations behind it and to the risks of its failures;
- a **risk** per failing ATLAS technique (a ``fail`` or ``error`` verdict: a check that could not
  run leaves the technique unverified, and the gate fails closed on it too), status ``open``, with
  the residual risk, likelihood and impact of its worst run as a characterization, the ATLAS
  technique as threat id, and the controls' remediation as a recommended response.

**How the NIST AI RMF maps to an OSCAL catalog.** NIST publishes the AI RMF 1.0 Core (NIST AI
100-1) as a document, not as an OSCAL catalog, so riskframe names its parts the way the SP 800-53
OSCAL catalog names its own: a *function* is a group (``measure``), a *category* is a control
(``MEASURE 2`` -> ``measure-2``), and a *subcategory* is an item of that control's statement
(``MEASURE 2.7`` -> ``measure-2_smt.7``, as ``ac-2_smt.a`` is an item of AC-2's statement). A
subcategory is an outcome statement with no separate assessment objective, so findings target it
as ``statement-id``, and the reviewed controls select each category with the statement ids the
runs assessed.

With ``--baseline`` the document still records every run, known failures included: a compliance
record leaves nothing out; only the gate in its properties is the rebased one.

UUIDs are version-5 UUIDs over stable names (the pipeline, then the result id, subcategory,
technique or input path), so the same subject keeps its UUID from one assessment to the next, as
OSCAL asks; the document's own UUID hashes the assessment's content apart from its timestamps.
The same assessment therefore gives the same document apart from timestamps.

>>> from riskframe.reports.oscal import assessment_results, nist_statement_id
>>> nist_statement_id("MEASURE 2.7")
'measure-2_smt.7'
>>> document = assessment_results(assessment)  # doctest: +SKIP
>>> len(document.results[0].observations) == len(assessment.results)  # doctest: +SKIP
True
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from riskframe.assessment import Assessment
from riskframe.errors import MissingDependencyError, UsageError
from riskframe.reports.base import RenderContext, Renderer

FORMAT = "oscal"
FILE_NAME = "oscal-assessment-results.json"
NAMESPACE = "urn:riskframe:oscal"  # qualifies riskframe's own property and facet names
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, NAMESPACE)
ATLAS_URL = "https://atlas.mitre.org"
NIST_AI_RMF_URL = "https://doi.org/10.6028/NIST.AI.100-1"
_NIST_ID = re.compile(r"^(GOVERN|MAP|MEASURE|MANAGE) (\d+)\.(\d+)$")
_NOT_NCNAME = re.compile(r"[^A-Za-z0-9_.-]+")


def nist_control_id(subcategory: str) -> str:
    """The OSCAL control id of a subcategory's category: ``MEASURE 2.7`` -> ``measure-2``."""
    match = _NIST_ID.match(subcategory)
    return f"{match[1].lower()}-{match[2]}" if match else _ncname(subcategory.rsplit(".", 1)[0]).lower()


def nist_statement_id(subcategory: str) -> str:
    """The OSCAL statement id of a subcategory: ``MEASURE 2.7`` -> ``measure-2_smt.7``."""
    match = _NIST_ID.match(subcategory)
    return f"{match[1].lower()}-{match[2]}_smt.{match[3]}" if match else f"{_ncname(subcategory).lower()}_smt"


def missing_dependency() -> MissingDependencyError | None:
    """The error the ``oscal`` format raises when compliance-trestle is not installed, else None."""
    try:
        import trestle.oscal.assessment_results  # noqa: F401
    except ImportError:
        return MissingDependencyError("compliance-trestle (Python 3.11 or later)", "oscal")
    return None


def assessment_results(assessment: Assessment, siblings: Sequence[str] = ()) -> Any:
    """The assessment as a trestle ``AssessmentResults`` model (valid OSCAL by construction).

    Parameters
    ----------
    assessment
        The assessment to express.
    siblings
        The report files written beside this one; observations link to ``assessment.json``
        when it is among them.

    Raises
    ------
    MissingDependencyError
        compliance-trestle is not installed (riskframe's ``oscal`` extra).

    Examples
    --------
    >>> document = assessment_results(assessment, ["assessment.json"])  # doctest: +SKIP
    >>> [f.target.target_id for f in document.results[0].findings]  # doctest: +SKIP
    ['map-4_smt.1']
    """
    error = missing_dependency()
    if error is not None:
        raise error
    from riskframe.reports._oscal_build import build

    return build(assessment, siblings, Uuids(assessment), collected_at(assessment))


def render_bytes(assessment: Assessment, siblings: Sequence[str] = ()) -> bytes:
    """The JSON file: pretty-printed, wrapped in its ``assessment-results`` key, ending in a newline."""
    document = assessment_results(assessment, siblings)
    return bytes(document.oscal_serialize_json_bytes(pretty=True)) + b"\n"


def collected_at(assessment: Assessment) -> datetime:
    """``created_at`` as an aware datetime (UTC when the text carries no offset)."""
    try:
        moment = datetime.fromisoformat(assessment.created_at)
    except ValueError:
        raise UsageError(
            f"created_at: {assessment.created_at!r} is not an ISO 8601 date and time, which OSCAL needs"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


class Uuids:
    """Version-5 UUIDs over stable names, scoped to the pipeline (see the module docstring)."""

    def __init__(self, assessment: Assessment) -> None:
        self.scope = f"pipeline/{assessment.pipeline.name}"
        self.document = self.of("assessment-results", _content_digest(assessment))

    def of(self, kind: str, key: str) -> str:
        return str(uuid.uuid5(UUID_NAMESPACE, f"{self.scope}/{kind}/{key}"))


def _content_digest(assessment: Assessment) -> str:
    """SHA-256 of the assessment without its timestamps and durations."""
    data = assessment.model_dump(mode="json", exclude={"created_at"})
    for result in data["results"]:
        result.pop("duration_s", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _ncname(text: str) -> str:
    name = _NOT_NCNAME.sub("-", text.strip()).strip("-") or "x"
    return name if re.match(r"[A-Za-z_]", name) else f"_{name}"


def single_line(text: object, limit: int = 500) -> str:
    """OSCAL titles and property values are one line without outer blanks; long ones are cut."""
    flat = " ".join(str(text).split()) or "none"
    return flat if len(flat) <= limit else f"{flat[: limit - 1]}…"


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _render(assessment: Assessment, context: RenderContext) -> dict[str, bytes]:
    return {FILE_NAME: render_bytes(assessment, context.files)}


RENDERER = Renderer(
    name=FORMAT,
    description="OSCAL assessment results (observations, NIST AI RMF findings, ATLAS risks); needs the oscal extra",
    files=(FILE_NAME,),
    render=_render,
    missing=missing_dependency,
)
