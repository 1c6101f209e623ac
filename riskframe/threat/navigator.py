"""``threat-model-layer.json``: an ATLAS Navigator layer of the threat model.

Every technique that applies to the pipeline, scored 0-100 by its highest design-time residual
risk over the stages and painted in its level's colour; the comment says where it applies and
which controls cover it, and gaps say so. The layer's format (domain, versions, colours, unfolded
parents of sub-techniques) is the one :mod:`riskframe.reports.navigator` writes for assessments,
so both open in the same ATLAS Navigator.
"""

from __future__ import annotations

from typing import Any

from riskframe.reports import navigator as layers
from riskframe.reports.matrix import installed_catalog
from riskframe.threat.markdown import listed
from riskframe.threat.model import Technique, ThreatModel

GAP_NOTE = "No requirement of the policy addresses it."


def threat_layer(model: ThreatModel) -> dict[str, Any]:
    """The layer as a JSON-ready dict.

    Examples
    --------
    >>> layer = threat_layer(model)  # doctest: +SKIP
    >>> layer["domain"]  # doctest: +SKIP
    'atlas-atlas'
    """
    where: dict[str, list[str]] = {}
    controls: dict[str, set[str]] = {}
    for stage in model.stages:
        for entry in stage.techniques:
            where.setdefault(entry.id, []).append(stage.name)
            controls.setdefault(entry.id, set()).update(entry.covered_by)
    shortnames = _tactic_shortnames()
    entries: list[dict[str, Any]] = []
    for technique in model.techniques:
        annotation = _entry(technique, where.get(technique.id, []), sorted(controls.get(technique.id, ())))
        tactics: list[str | None] = [shortnames[t] for t in technique.tactics if t in shortnames] or [None]
        entries += [{"techniqueID": technique.id, **({"tactic": t} if t else {}), **annotation} for t in tactics]
    legend = [{"label": f"design-time residual risk {level}", "color": colour}
              for level, colour in layers.LEVEL_COLOURS.items()]
    policies = ", ".join(p.name for p in model.policies) or "no policy"
    return {
        "name": f"riskframe threat model: {model.pipeline.name}",
        "versions": dict(layers.VERSIONS),
        "domain": layers.DOMAIN,
        "description": (f"ATLAS techniques that apply to pipeline {model.pipeline.name}, scored by their "
                        f"design-time residual risk (0-100) under {policies}, assuming every control passes."),
        "metadata": [
            {"name": "atlas_data_version", "value": model.tool.catalogs.get("atlas", "unknown")},
            {"name": "generated_by", "value": f"{model.tool.name} {model.tool.version}"},
            {"name": "pipeline", "value": model.pipeline.name},
            {"name": "policies", "value": policies},
            {"name": "drawn_at", "value": model.created_at},
        ],
        "layout": {"layout": "side", "showID": True, "showName": True},
        "selectTechniquesAcrossTactics": True,
        "techniques": layers.with_parent_techniques(entries),
        "gradient": layers.RISK_GRADIENT,
        "legendItems": legend,
        "sorting": 3,
    }


def _entry(technique: Technique, stages: list[str], controls: list[str]) -> dict[str, Any]:
    if controls:
        cover = f"Covered by {', '.join(controls)} (requirements {listed(technique.requirements)})."
    elif technique.requirements:
        cover = f"Addressed by {listed(technique.requirements)}, but no control of it runs where it applies."
    else:
        cover = GAP_NOTE
    lines = [f"Design-time residual risk {technique.level} ({technique.max_residual:.2f}) at its riskiest stage.",
             f"Applies at: {listed(stages)}.", cover]
    return {"score": round(100 * technique.max_residual), "color": layers.LEVEL_COLOURS[technique.level],
            "comment": "\n".join(lines),
            "metadata": [{"name": "stages", "value": listed(stages)},
                         {"name": "covered by", "value": ", ".join(controls) or "none"}],
            "enabled": True}


def _tactic_shortnames() -> dict[str, str]:
    catalog = installed_catalog()
    return {t.id: t.shortname for t in catalog.atlas.tactics} if catalog else {}


def dumps_threat_layer(model: ThreatModel) -> bytes:
    return layers.dumps_layer(threat_layer(model))
