"""ATLAS Navigator layers: residual risk per technique, and what the policy covers.

Two layer files for the ATLAS Navigator (https://mitre-atlas.github.io/atlas-navigator/), the
ATT&CK Navigator fork MITRE runs for ATLAS:

- ``atlas-risk-layer.json``: each technique the policies address, scored 0-100 by its highest
  residual risk (100 x ``max_residual``), with the results behind it in the comment and the stage
  and requirement of each in the technique's metadata;
- ``atlas-coverage-layer.json``: every technique of the matrix, coloured by whether a control
  produced a verdict for it (covered), the policy names it but nothing produced a verdict
  (unverified), or no requirement names it at all (gap).

The layers follow the layer format MITRE's own ATLAS layers use (atlas-navigator-data:
``versions`` layer 4.3 / navigator 4.6.4, ``domain`` ``atlas-atlas``, ``atlas_data_version`` in the
layer metadata): the ATLAS Navigator is built on ATT&CK Navigator 4.6, which reads layer format
4.3 but not the newer 4.5. A technique is annotated once per tactic (``tactic`` is the short name
ATLAS gives it, e.g. ``ai-attack-staging``), and a sub-technique's parent is added with
``showSubtechniques`` so the annotated sub-technique is visible.

>>> from riskframe.reports.navigator import risk_layer
>>> layer = risk_layer(assessment)  # doctest: +SKIP
>>> layer["domain"], layer["versions"]  # doctest: +SKIP
('atlas-atlas', {'layer': '4.3', 'navigator': '4.6.4'})
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from riskframe.assessment import Assessment, ControlResult, TechniqueStatus
from riskframe.reports import view
from riskframe.reports.base import RenderContext, Renderer
from riskframe.reports.matrix import AtlasMatrix, Cell, atlas_matrix

if TYPE_CHECKING:
    from riskframe.catalog import Catalog

RISK_FILE = "atlas-risk-layer.json"
COVERAGE_FILE = "atlas-coverage-layer.json"
DOMAIN = "atlas-atlas"
VERSIONS = {"layer": "4.3", "navigator": "4.6.4"}

# Each technique is painted in its residual level's colour (an explicit colour wins over the
# gradient, so the picture matches the legend and the HTML report's levels); the score stays for
# sorting, and the gradient for a user who clears the colours.
LEVEL_COLOURS = {"low": "#8ec843", "medium": "#ffe766", "high": "#ff9f43", "critical": "#e53935"}
RISK_GRADIENT = {"colors": ["#8ec843", "#ffe766", "#ff6666"], "minValue": 0, "maxValue": 100}
UNVERIFIED_COLOUR = "#c9c9c9"
COVERAGE_COLOURS = {"covered": "#8ec843", "unverified": "#ffe766", "gap": "#ff9e9e"}
COVERAGE_LEGEND = {
    "covered": "a control produced a verdict for it",
    "unverified": "named by the policy, but no control produced a verdict",
    "gap": "no requirement of the policy addresses it",
}
# The Navigator shows comments in a tooltip; past this the tooltip is unreadable.
MAX_COMMENT_CHARS = 1_500
MAX_RESULTS_IN_METADATA = 10


def risk_layer(assessment: Assessment, catalog: Catalog | None = None) -> dict[str, Any]:
    """The residual-risk layer of ``assessment`` as a JSON-ready dict.

    Examples
    --------
    >>> layer = risk_layer(assessment)  # doctest: +SKIP
    >>> next(t for t in layer["techniques"] if t["techniqueID"] == "AML.T0020")["score"]  # doctest: +SKIP
    72
    """
    matrix = atlas_matrix(assessment, catalog, gaps=False)
    results = {r.id: r for r in assessment.results}
    techniques: list[dict[str, Any]] = []
    for tactic, cell in _annotated(matrix):
        if cell.status is None:
            continue
        techniques.append({"techniqueID": cell.technique_id, **tactic, **_risk_entry(cell.status, results)})
    legend = [{"label": f"residual risk {level}", "color": colour} for level, colour in LEVEL_COLOURS.items()]
    legend.append({"label": "named by the policy, no verdict", "color": UNVERIFIED_COLOUR})
    return _layer(
        assessment,
        matrix,
        name=f"riskframe residual risk: {assessment.pipeline.name}",
        description=(
            f"Highest residual risk (0-100) per ATLAS technique after the controls of "
            f"{_policy_names(assessment)} ran on pipeline {assessment.pipeline.name}. "
            f"Gate {assessment.gate.decision}, risk score {assessment.summary.risk_score:g}/100."
        ),
        techniques=with_parent_techniques(techniques),
        extra={"gradient": RISK_GRADIENT, "legendItems": legend, "sorting": 3},
    )


def coverage_layer(assessment: Assessment, catalog: Catalog | None = None) -> dict[str, Any]:
    """The coverage layer of ``assessment``: every technique, covered, unverified or a gap."""
    matrix = atlas_matrix(assessment, catalog, gaps=True, subtechniques=True)
    techniques = []
    for tactic, cell in _annotated(matrix):
        controls = _controls_with_verdict(assessment, cell)
        techniques.append(
            {
                "techniqueID": cell.technique_id,
                **tactic,
                "score": len(controls),
                "color": COVERAGE_COLOURS[cell.state],
                "comment": _coverage_comment(cell, controls),
                "enabled": True,
            }
        )
    legend = [
        {"label": f"{state}: {text}", "color": COVERAGE_COLOURS[state]} for state, text in COVERAGE_LEGEND.items()
    ]
    covered = sum(1 for t in assessment.atlas if t.covered)
    return _layer(
        assessment,
        matrix,
        name=f"riskframe coverage: {_policy_names(assessment)}",
        description=(
            f"Which ATLAS techniques the controls of {_policy_names(assessment)} produced a verdict for on "
            f"pipeline {assessment.pipeline.name} ({covered} of {len(assessment.atlas)} named techniques "
            "covered). Score: the number of controls with a verdict."
        ),
        techniques=with_parent_techniques(techniques),
        extra={"legendItems": legend, "sorting": 3, "hideDisabled": False},
    )


def _layer(
    assessment: Assessment, matrix: AtlasMatrix, *, name: str, description: str, techniques: list[Any], extra: Any
) -> dict[str, Any]:
    metadata = [
        {"name": "atlas_data_version", "value": matrix.assessment_version or matrix.catalog_version or "unknown"},
        {"name": "generated_by", "value": f"{assessment.tool.name} {assessment.tool.version}"},
        {"name": "pipeline", "value": assessment.pipeline.name},
        {"name": "policies", "value": _policy_names(assessment)},
        {"name": "assessed_at", "value": assessment.created_at},
        {"name": "gate", "value": assessment.gate.decision},
    ]
    if matrix.versions_differ:
        metadata.append({"name": "matrix_from_atlas_version", "value": str(matrix.catalog_version)})
    return {
        "name": name,
        "versions": dict(VERSIONS),
        "domain": DOMAIN,
        "description": description,
        "metadata": metadata,
        "layout": {"layout": "side", "showID": True, "showName": True},
        "selectTechniquesAcrossTactics": True,
        "techniques": techniques,
        **extra,
    }


def _annotated(matrix: AtlasMatrix) -> list[tuple[dict[str, str], Cell]]:
    """(tactic field, cell) for every cell; without a short name the tactic is left out, which
    makes the Navigator apply the annotation under every tactic of the technique."""
    return [
        ({"tactic": column.tactic.shortname} if column.tactic.shortname else {}, cell)
        for column in matrix.columns
        for cell in column.cells
    ]


def _risk_entry(status: TechniqueStatus, results: dict[str, ControlResult]) -> dict[str, Any]:
    mine = sorted((results[r] for r in status.results if r in results), key=lambda r: -r.risk.residual)
    if status.level is None:
        return {
            "color": UNVERIFIED_COLOUR,
            "comment": "The policy names this technique, but no control ran on any stage for it.",
            "enabled": True,
        }
    lines = [
        f"Residual risk {status.level} ({view.risk_number(status.max_residual)}), "
        f"worst status {view.status_word(status.status)}."
    ]
    lines += [_result_line(r) for r in mine]
    metadata: list[dict[str, Any]] = []
    for result in mine[:MAX_RESULTS_IN_METADATA]:
        if metadata:
            metadata.append({"divider": True})
        metadata += [
            {"name": "requirement", "value": f"{result.requirement}: {result.requirement_title}"},
            {"name": "stage", "value": result.stage},
            {"name": "control", "value": result.control},
            {"name": "status", "value": view.status_word(result.status)},
            {"name": "residual risk", "value": f"{result.risk.level} ({view.risk_number(result.risk.residual)})"},
        ]
    return {
        "score": round(100 * status.max_residual),
        "color": LEVEL_COLOURS.get(status.level, UNVERIFIED_COLOUR),
        "comment": _clip("\n".join(lines)),
        "metadata": metadata,
        "enabled": True,
    }


def _result_line(result: ControlResult) -> str:
    where = f"stage {result.stage}" + (f", artifact {result.artifact}" if result.artifact else "")
    return (
        f"{result.requirement} / {result.control} ({where}): {view.status_word(result.status)}, "
        f"residual {view.risk_number(result.risk.residual)}. {result.summary}"
    )


def _controls_with_verdict(assessment: Assessment, cell: Cell) -> list[str]:
    """The controls whose results gave ``cell``'s technique a verdict (the engine's ``covered``)."""
    if cell.status is None or not cell.status.covered:
        return []
    behind = set(cell.status.results)
    verdicts = ("pass", "warn", "fail", "waived")
    return sorted({r.control for r in assessment.results if r.id in behind and r.status in verdicts})


def _coverage_comment(cell: Cell, controls: list[str]) -> str:
    if cell.state == "covered":
        return f"Covered by {', '.join(controls)}."
    if cell.state == "unverified":
        return "Named by the policy, but no control produced a verdict (errors, not applicable, or no stage)."
    return "No requirement of the policy addresses this technique."


def with_parent_techniques(techniques: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Layer ``techniques`` entries with every annotated sub-technique made visible.

    The Navigator folds sub-techniques under their parent by default, and a folded annotation is
    invisible. So the parent of every annotated sub-technique gets ``showSubtechniques: true``,
    and is added (under the same tactic, just before the first of its sub-techniques) where it is
    not annotated itself. Other entries are returned unchanged, in order.

    Parameters
    ----------
    techniques
        Layer entries, each with a ``techniqueID`` and optionally a ``tactic``.

    Returns
    -------
    list of dict
        A new list; no entry is modified in place (an unfolded parent is a copy).

    Examples
    --------
    >>> with_parent_techniques([{"techniqueID": "AML.T0010.002", "tactic": "initial-access", "score": 80}])
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'techniqueID': 'AML.T0010', 'tactic': 'initial-access', 'showSubtechniques': True},
     {'techniqueID': 'AML.T0010.002', 'tactic': 'initial-access', 'score': 80}]
    """
    unfold = {(_parent(t["techniqueID"]), t.get("tactic")) for t in techniques if _parent(t["techniqueID"])}
    present = {(t["techniqueID"], t.get("tactic")) for t in techniques}
    out = []
    for entry in techniques:
        tactic = entry.get("tactic")
        parent = _parent(entry["techniqueID"])
        if parent and (parent, tactic) not in present:
            present.add((parent, tactic))
            out.append({"techniqueID": parent, **({"tactic": tactic} if tactic else {}), "showSubtechniques": True})
        unfolds = (entry["techniqueID"], tactic) in unfold
        out.append({**entry, "showSubtechniques": True} if unfolds else entry)
    return out


def _parent(technique_id: str) -> str | None:
    return technique_id.rsplit(".", 1)[0] if technique_id.count(".") == 2 else None


def _policy_names(assessment: Assessment) -> str:
    return ", ".join(p.name for p in assessment.policies) or "no policy"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_COMMENT_CHARS else text[: MAX_COMMENT_CHARS - 3] + "..."


def dumps_layer(layer: dict[str, Any]) -> bytes:
    return (json.dumps(layer, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _render(assessment: Assessment, context: RenderContext) -> dict[str, bytes]:
    return {RISK_FILE: dumps_layer(risk_layer(assessment)), COVERAGE_FILE: dumps_layer(coverage_layer(assessment))}


RENDERER = Renderer(
    name="navigator",
    description="two ATLAS Navigator layers: residual risk per technique, and the policy's coverage",
    files=(RISK_FILE, COVERAGE_FILE),
    render=_render,
)
