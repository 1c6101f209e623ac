"""``bom.cdx.json``: an AI bill of materials (CycloneDX 1.6 JSON) of the assessed pipeline.

- every model artifact is a ``machine-learning-model`` component with a model card: its task, the
  datasets it was trained on (its ``of:`` dataset, else every dataset at or upstream of its stage)
  and, under ``considerations``, the assessment's findings about it and its data;
- every dataset is a ``data`` component (other artifacts are ``data`` or ``file`` components),
  each with the SHA-256 riskframe computed and where DVC says it came from;
- riskframe is the tool; the pipeline is the component the BOM describes; ``dependencies`` link
  each model to its training data.

The BOM is built from the assessment alone (its ``lineage`` holds the digests), so an earlier
``assessment.json`` renders to the same bytes. Its serial number is derived from the assessment,
not drawn at random, for the same reason.

>>> RENDERER.files
('bom.cdx.json',)
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from typing import Any

from riskframe.assessment import Assessment, ControlResult, LineageEntry
from riskframe.reports.base import RenderContext, Renderer
from riskframe.vocabulary import FAILING

FILE_NAME = "bom.cdx.json"
SPEC_VERSION = "1.6"
_FINDINGS = ("fail", "error", "warn")
_PASSED = ("pass", "match", "safe")
_COMPONENT_TYPE = {"model": "machine-learning-model", "dataset": "data", "representations": "data", "files": "file"}


def build_bom(assessment: Assessment) -> dict[str, Any]:
    """The CycloneDX 1.6 BOM of ``assessment`` as a JSON-ready dict.

    Examples
    --------
    >>> bom = build_bom(assessment)  # doctest: +SKIP
    >>> [c["type"] for c in bom["components"]]  # doctest: +SKIP
    ['data', 'machine-learning-model']
    """
    entries = _entries(assessment)
    by_name = {e.artifact: e for e in entries}
    components, dependencies = [], []
    for entry in entries:
        component = _component(entry)
        if entry.type == "model":
            datasets = _training_data(assessment, entry, by_name)
            component["modelCard"] = _model_card(assessment, entry, datasets)
            dependencies.append({"ref": _ref(entry), "dependsOn": [_ref(d) for d in datasets]})
        components.append(component)
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{_serial(assessment)}",
        "version": 1,
        "metadata": _metadata(assessment),
        "components": components,
        "dependencies": dependencies,
    }


def _metadata(assessment: Assessment) -> dict[str, Any]:
    pipeline, gate, summary = assessment.pipeline, assessment.gate, assessment.summary
    return {
        "timestamp": assessment.created_at,
        "lifecycles": [{"phase": "pre-build"}],
        "tools": {"components": [{"type": "application", "bom-ref": "tool:riskframe", "name": "riskframe",
                                  "version": assessment.tool.version,
                                  "description": "ATLAS-aligned policy-as-code risk assessment"}]},
        "component": {"type": "application", "bom-ref": f"pipeline:{pipeline.name}", "name": pipeline.name,
                      "description": f"ML pipeline ({len(pipeline.stages)} stages, criticality "
                                     f"{pipeline.criticality})"},
        "properties": _properties({
            "riskframe:gate": gate.decision, "riskframe:gate.fail_on": gate.fail_on,
            "riskframe:risk_score": f"{summary.risk_score:g}", "riskframe:risk_level": summary.level,
            "riskframe:policies": ", ".join(f"{p.name}@{p.version}" for p in assessment.policies),
            "riskframe:catalogs": ", ".join(f"{k} {v}" for k, v in sorted(assessment.tool.catalogs.items())),
        }),
    }


def _entries(assessment: Assessment) -> list[LineageEntry]:
    """The lineage; for an assessment written before lineage existed, the declared artifacts."""
    if assessment.lineage:
        return list(assessment.lineage)
    return [LineageEntry(artifact=a.name, stage=s.name, type=a.type, path=a.path, sha256="",
                         declared_sha256=a.sha256, digest_status="undeclared" if a.sha256 is None else "match")
            for s in assessment.pipeline.stages for a in s.artifacts]


def _component(entry: LineageEntry) -> dict[str, Any]:
    component: dict[str, Any] = {"type": _COMPONENT_TYPE.get(entry.type, "file"), "bom-ref": _ref(entry),
                                 "name": entry.artifact}
    if entry.sha256:
        component["hashes"] = [{"alg": "SHA-256", "content": entry.sha256}]
    if entry.type in ("dataset", "representations"):
        component["data"] = [{"type": "dataset" if entry.type == "dataset" else "other", "name": entry.artifact,
                              "contents": {"url": entry.path}}]
    origin = entry.origins[0] if entry.origins else None
    component["properties"] = _properties({
        "riskframe:path": entry.path, "riskframe:stage": entry.stage, "riskframe:digest_status": entry.digest_status,
        "riskframe:declared_sha256": entry.declared_sha256,
        "riskframe:dvc.lock": origin.lock if origin else None,
        "riskframe:dvc.stage": origin.dvc_stage if origin else None,
        "riskframe:dvc.relation": origin.relation if origin else None,
        "riskframe:dvc.status": origin.status if origin else None,
        "riskframe:dvc.cmd": origin.cmd if origin else None,
    })
    return component


def _training_data(assessment: Assessment, model: LineageEntry,
                   by_name: dict[str, LineageEntry]) -> list[LineageEntry]:
    if model.trained_on and model.trained_on in by_name:
        return [by_name[model.trained_on]]
    upstream = _upstream(assessment, model.stage)
    return [e for e in by_name.values() if e.type == "dataset" and e.stage in upstream]


def _upstream(assessment: Assessment, stage: str) -> set[str]:
    needs = {s.name: s.needs for s in assessment.pipeline.stages}
    seen, todo = {stage}, [stage]
    while todo:
        for parent in needs.get(todo.pop(), []):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def _model_card(assessment: Assessment, model: LineageEntry, datasets: list[LineageEntry]) -> dict[str, Any]:
    parameters: dict[str, Any] = {"datasets": [{"ref": _ref(d)} for d in datasets]}
    if model.task:
        parameters["task"] = model.task
    concerned = {model.artifact, *(d.artifact for d in datasets)}
    stages = _upstream(assessment, model.stage)
    findings = [r for r in assessment.results if r.status in _FINDINGS and _about(r, concerned, stages)]
    limitations = [_finding(r) for r in findings] or [
        f"riskframe found no failing, erroring or warning control about this model or its data "
        f"(gate {assessment.gate.decision}, risk score {assessment.summary.risk_score:g}/100)."]
    risks = [{"name": f"{r.requirement} ({r.severity}): {r.requirement_title}",
              "mitigationStrategy": r.remediation.strip() or "See the assessment report."}
             for r in findings if r.status in FAILING]
    considerations: dict[str, Any] = {"technicalLimitations": limitations}
    if risks:
        considerations["ethicalConsiderations"] = _unique(risks)
    return {"bom-ref": f"{_ref(model)}:model-card", "modelParameters": parameters,
            "considerations": considerations}


def _about(result: ControlResult, artifacts: set[str], stages: set[str]) -> bool:
    """A result concerns the model when it examined it or its data: its primary artifact, or for a
    stage-wide run upstream, the artifacts its evidence names as failing (all, if it names none)."""
    if result.artifact:
        return result.artifact in artifacts
    if result.stage not in stages:
        return False
    named = _flagged_artifacts(result.evidence)
    return named is None or bool(named & artifacts)


def _flagged_artifacts(evidence: dict[str, Any]) -> set[str] | None:
    """Artifacts a stage-wide result's evidence lists per artifact (``files`` or ``artifacts``
    entries) without a passing outcome; None when the evidence has no such list."""
    entries = [e for key in ("files", "artifacts") if isinstance(evidence.get(key), list)
               for e in evidence[key] if isinstance(e, dict)]
    named: list[tuple[str, Any]] = []
    for entry in entries:
        name = entry.get("artifact") or entry.get("name")
        if isinstance(name, str):
            named.append((name, entry.get("outcome", entry.get("status"))))
    if not named:
        return None
    return {name for name, outcome in named if outcome not in _PASSED}


def _finding(result: ControlResult) -> str:
    atlas = f" [{', '.join(result.atlas)}]" if result.atlas else ""
    return (f"{result.status.upper()} ({result.severity}) {result.requirement} {result.control} at stage "
            f"{result.stage}{atlas}: {result.summary}")


def _unique(items: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    return list({json.dumps(i, sort_keys=True): i for i in items}.values())


def _properties(values: dict[str, str | None]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in values.items() if value]


def _ref(entry: LineageEntry) -> str:
    return f"{entry.type}:{entry.artifact}"


def _serial(assessment: Assessment) -> uuid.UUID:
    # Deterministic: the same assessment (inputs, time, verdict) always gets the same serial number.
    key = json.dumps([assessment.pipeline.name, assessment.created_at, [i.sha256 for i in assessment.inputs],
                      assessment.gate.decision], separators=(",", ":"))
    return uuid.UUID(hashlib.sha256(key.encode("utf-8")).hexdigest()[:32], version=5)


def dumps_bom(assessment: Assessment) -> bytes:
    """The BOM as ``bom.cdx.json`` bytes (indent 2, UTF-8, trailing newline)."""
    return (json.dumps(build_bom(assessment), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _render(assessment: Assessment, context: RenderContext) -> dict[str, bytes]:
    return {FILE_NAME: dumps_bom(assessment)}


RENDERER = Renderer(
    name="cyclonedx",
    description="an AI bill of materials: CycloneDX 1.6 JSON with the models, their model cards and the datasets",
    files=(FILE_NAME,),
    render=_render,
)
