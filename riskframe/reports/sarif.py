"""``riskframe.sarif``: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One rule per control (what it checks, how to remediate, the ATLAS techniques as tags, a
``security-severity`` from the most severe requirement it serves), and one result per run that
failed, could not run (the gate fails closed on it) or was waived (with a SARIF suppression, so
viewers show it as accepted). Each result points at the line of the pipeline artifact, stage or
policy requirement it concerns, with the others as related locations.

Paths: the assessment records files relative to the directory ``riskframe assess`` ran in; SARIF
gets them relative to the ``%SRCROOT%`` base, which GitHub resolves to the repository root (so run
riskframe from the root of the checkout). Absolute paths stay absolute ``file:`` URIs.

``partialFingerprints`` hash the policy and the result id (requirement/stage/control[/artifact]),
never a line number, so an alert survives edits that move the YAML around: they identify *where* a
finding is, and GitHub keeps one alert per place. Whether a finding is news is a different question,
answered with ``--baseline`` by the evidence fingerprint (:mod:`riskframe.compare.fingerprints`): a result
whose id failed in the baseline with other evidence is reported with ``baselineState: updated``
(the same alert, new evidence) and its ``evidenceFingerprint`` in its properties.

>>> from riskframe.reports.sarif import sarif_log
>>> log = sarif_log(assessment)  # doctest: +SKIP
>>> log["runs"][0]["results"][0]["ruleId"]  # doctest: +SKIP
'label-issues'
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from riskframe.assessment import Assessment, ControlResult, Location
from riskframe.compare.baseline import BaselineComparison, comparison_in
from riskframe.reports import view
from riskframe.reports.base import RenderContext, Renderer
from riskframe.vocabulary import level_rank

FILE_NAME = "riskframe.sarif"
SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
ATLAS_TECHNIQUE_URL = "https://atlas.mitre.org/techniques/{}"
FINGERPRINT_KEY = "riskframeResultId/v1"

# GitHub reads security-severity as a CVSS-like number: 9.0+ critical, 7.0-8.9 high, 4.0-6.9 medium,
# 0.1-3.9 low. Each requirement severity sits inside its band.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}
SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
REPORTED = ("fail", "error", "waived")
MAX_TAGS = 20  # GitHub's limit per rule
MAX_RELATED = 10


def sarif_log(assessment: Assessment, baseline: BaselineComparison | None = None) -> dict[str, Any]:
    """The SARIF log of ``assessment`` as a JSON-ready dict (one run).

    With ``baseline``, failures already failing there with the same evidence stay listed, marked
    ``baselineState: unchanged`` (viewers show them as known, the gate did not count them); the rest
    are ``new``, or ``updated`` when their id failed there with other evidence.
    """
    rules, index = _rules(assessment.results)
    reported = [r for r in assessment.results if r.status in REPORTED]
    results = [_result(r, index, assessment, baseline) for r in reported]
    run: dict[str, Any] = {
        "tool": {"driver": _driver(assessment, rules)},
        "automationDetails": {"id": f"riskframe/{assessment.pipeline.name}/"},
        "invocations": [_invocation(assessment, reported, index)],
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": _run_properties(assessment, baseline),
    }
    if any(loc["physicalLocation"]["artifactLocation"].get("uriBaseId") == SRCROOT for loc in _all_locations(results)):
        run["originalUriBaseIds"] = {
            SRCROOT: {
                "description": {
                    "text": "The directory 'riskframe assess' ran in, which paths in the assessment are relative "
                    "to: the repository root when riskframe runs from the root of the checkout."
                }
            }
        }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _driver(assessment: Assessment, rules: list[dict[str, Any]]) -> dict[str, Any]:
    driver: dict[str, Any] = {"name": assessment.tool.name, "version": assessment.tool.version, "rules": rules}
    if re.fullmatch(r"\d+\.\d+\.\d+", assessment.tool.version):
        driver["semanticVersion"] = assessment.tool.version
    return driver


def _rules(results: Sequence[ControlResult]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One rule per control, sorted by id, and each control's index among them."""
    by_control: dict[str, list[ControlResult]] = {}
    for result in results:
        by_control.setdefault(result.control, []).append(result)
    rules = [_rule(control, by_control[control]) for control in sorted(by_control)]
    return rules, {rule["id"]: i for i, rule in enumerate(rules)}


def _rule(control: str, results: list[ControlResult]) -> dict[str, Any]:
    first = results[0]
    severity = max((r.severity for r in results), key=level_rank)
    atlas = _unique(t for r in results for t in r.atlas)
    nist = _unique(n for r in results for n in r.nist)
    mitigations = _unique(m for r in results for m in r.mitigations)
    title = first.control_title or control
    full = f"{title}. Detector {first.detector}."
    if atlas:
        full += f" Detects MITRE ATLAS {', '.join(atlas)}."
    if mitigations:
        full += f" Implements ATLAS mitigations {', '.join(mitigations)}."
    if nist:
        full += f" Evidences NIST AI RMF {', '.join(nist)}."
    remediation = (
        " ".join(first.remediation.split()) or "Open the riskframe HTML report for the evidence behind the finding."
    )
    links = " ".join(f"[{t}]({ATLAS_TECHNIQUE_URL.format(t)})" for t in atlas)
    rule: dict[str, Any] = {
        "id": control,
        "name": "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", control) if part) or control,
        "shortDescription": {"text": _clip(title, 1000)},
        "fullDescription": {"text": _clip(full, 1000)},
        "help": {
            "text": remediation,
            "markdown": f"**Remediation:** {remediation}" + (f"\n\nATLAS: {links}" if links else ""),
        },
        "defaultConfiguration": {"level": SARIF_LEVEL[severity]},
        "properties": {
            "tags": ["security", "machine-learning", *atlas][:MAX_TAGS],
            "security-severity": SECURITY_SEVERITY[severity],
            "detector": first.detector,
            "atlas": atlas,
            "mitigations": mitigations,
            "nist": nist,
        },
    }
    if atlas:
        rule["helpUri"] = ATLAS_TECHNIQUE_URL.format(atlas[0])
    return rule


def _result(
    result: ControlResult, index: dict[str, int], assessment: Assessment, baseline: BaselineComparison | None
) -> dict[str, Any]:
    primary, related = _locations(result, assessment)
    out: dict[str, Any] = {
        "ruleId": result.control,
        "ruleIndex": index[result.control],
        "kind": "fail",
        # A check that could not run is an error whatever the requirement's severity: the gate fails closed.
        "level": "error" if result.status == "error" else SARIF_LEVEL[result.severity],
        "message": {"text": _message(result)},
        "locations": primary,
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(result)},
        "properties": {
            "resultId": result.id,
            "policy": result.policy,
            "requirement": result.requirement,
            "requirementTitle": result.requirement_title,
            "stage": result.stage,
            "artifact": result.artifact,
            "status": result.status,
            "severity": result.severity,
            "score": result.score,
            "residualRisk": result.risk.residual,
            "riskLevel": result.risk.level,
            "atlas": list(result.atlas),
            "nist": list(result.nist),
        },
    }
    if related:
        out["relatedLocations"] = related
    if result.status == "waived":
        out["suppressions"] = [_suppression(result.waiver)]
    if baseline is not None:
        out["baselineState"] = _baseline_state(result, baseline)
        if result.id in baseline.fingerprints:
            out["properties"]["evidenceFingerprint"] = baseline.fingerprints[result.id]
    return out


def _baseline_state(result: ControlResult, baseline: BaselineComparison) -> str:
    """``updated`` for a failure whose evidence changed, ``unchanged`` for a known failure or a waived
    result the baseline reported too; any other failing result is new (a failure whose waiver expired
    counts as new however the baseline saw it)."""
    if result.id in baseline.changed:
        return "updated"
    if baseline.is_known(result.id):
        return "unchanged"
    if result.status != "waived":
        return "new"
    return "unchanged" if baseline.before.get(result.id) in REPORTED else "new"


def _message(result: ControlResult) -> str:
    where = f"stage {result.stage}" + (f", artifact {result.artifact}" if result.artifact else "")
    risk = f"residual risk {result.risk.level} ({view.risk_number(result.risk.residual)})"
    head = f"{result.requirement} {result.requirement_title} ({result.control} on {where})"
    if result.status == "error":
        summary = view.sentence(result.summary)
        return f"{head} could not run: {summary} The gate fails closed on a check that cannot run; {risk}."
    verb = "failed and was waived" if result.status == "waived" else "failed"
    return f"{head} {verb}: {view.sentence(result.summary)} Severity {result.severity}, {risk}."


def fingerprint(result: ControlResult) -> str:
    """sha256 of the policy and the result id: stable across runs and line moves."""
    return hashlib.sha256(f"{result.policy}\0{result.id}".encode()).hexdigest()


_ORDER = {"artifact": 0, "stage": 1, "requirement": 2, "control": 3}
_WHAT = {
    "artifact": "artifact {artifact} of stage {stage} in the pipeline",
    "stage": "stage {stage} in the pipeline",
    "requirement": "requirement {requirement} in policy {policy}",
    "control": "control {control}",
}


def _locations(result: ControlResult, assessment: Assessment) -> tuple[list[Any], list[Any]]:
    """The primary location (artifact, else stage, else requirement) and the others as related ones."""
    places = sorted(result.locations, key=lambda loc: _ORDER.get(loc.what, 9))
    if not places:
        fallback = assessment.pipeline.path or next((p.path for p in assessment.policies if p.path), "")
        if not fallback:
            return [], []
        places = [Location(path=fallback, line=1, column=1, what="stage")]
    located = [_location(place, result) for place in places]
    related = [{"id": i, **loc} for i, loc in enumerate(located[1 : 1 + MAX_RELATED], start=1)]
    return located[:1], related


def _location(place: Location, result: ControlResult) -> dict[str, Any]:
    names = {
        "artifact": result.artifact,
        "stage": result.stage,
        "requirement": result.requirement,
        "policy": result.policy,
        "control": result.control,
    }
    text = _WHAT.get(place.what, place.what).format(**names)
    return {
        "physicalLocation": {
            "artifactLocation": artifact_location(place.path),
            "region": {"startLine": max(1, place.line), "startColumn": max(1, place.column)},
        },
        "message": {"text": text},
    }


def artifact_location(path: str) -> dict[str, str]:
    """A SARIF ``artifactLocation``: relative paths against ``%SRCROOT%``, absolute ones as file URIs.

    >>> artifact_location("examples/poisoned digits/pipeline.yaml")
    {'uri': 'examples/poisoned%20digits/pipeline.yaml', 'uriBaseId': '%SRCROOT%'}
    >>> artifact_location("/srv/ml/pipeline.yaml")
    {'uri': 'file:///srv/ml/pipeline.yaml'}
    """
    if PurePosixPath(path).is_absolute():
        return {"uri": PurePosixPath(path).as_uri()}
    if PureWindowsPath(path).is_absolute():
        return {"uri": PureWindowsPath(path).as_uri()}
    return {"uri": quote(path.replace("\\", "/").removeprefix("./"), safe="/"), "uriBaseId": SRCROOT}


def _suppression(waiver: object) -> dict[str, Any]:
    fields = view.waiver_fields(waiver)
    parts = [str(fields.get("justification") or "waived in the policy")]
    if fields.get("approved_by"):
        parts.append(f"approved by {fields['approved_by']}")
    if fields.get("expires"):
        parts.append(f"until {fields['expires']}")
    return {"kind": "external", "status": "accepted", "justification": "; ".join(parts)}


def _invocation(assessment: Assessment, reported: list[ControlResult], index: dict[str, int]) -> dict[str, Any]:
    invocation: dict[str, Any] = {"executionSuccessful": True}
    end = _utc(assessment.created_at)
    if end:
        invocation["endTimeUtc"] = end
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{r.control} could not run on stage {r.stage}: {r.summary}"},
            "associatedRule": {"id": r.control, "index": index[r.control]},
        }
        for r in reported
        if r.status == "error"
    ]
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return invocation


def _run_properties(assessment: Assessment, baseline: BaselineComparison | None) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "pipeline": assessment.pipeline.name,
        "policies": [p.name for p in assessment.policies],
        "gate": assessment.gate.decision,
        "failOn": assessment.gate.fail_on,
        "riskScore": assessment.summary.risk_score,
        "riskLevel": assessment.summary.level,
        "catalogs": dict(assessment.tool.catalogs),
    }
    if baseline is not None:
        properties["baseline"] = {
            "path": baseline.path,
            "createdAt": baseline.created_at,
            "known": len(baseline.known),
            "new": len(baseline.new),
            "changedEvidence": len(baseline.changed),
            "fixed": len(baseline.fixed),
            "summary": " ".join(baseline.explanation()) or baseline.sentence(),
        }
    return properties


def _utc(timestamp: str) -> str | None:
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _all_locations(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [loc for r in results for loc in (*r["locations"], *r.get("relatedLocations", ()))]


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dumps_sarif(log: dict[str, Any]) -> bytes:
    return (json.dumps(log, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _render(assessment: Assessment, context: RenderContext) -> dict[str, bytes]:
    return {FILE_NAME: dumps_sarif(sarif_log(assessment, comparison_in(context)))}


RENDERER = Renderer(
    name="sarif",
    description="SARIF 2.1.0 for GitHub code scanning: one rule per control, one result per failing run",
    files=(FILE_NAME,),
    render=_render,
)
