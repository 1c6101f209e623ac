"""Compose the Assessment from the resolved inputs, the plan and the run outcomes (no I/O)."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from riskframe import __version__
from riskframe.assessment import (
    ArtifactInfo,
    Assessment,
    ControlResult,
    DvcOrigin,
    ExcludedRequirement,
    InputFile,
    LineageEntry,
    Location,
    NistSubcategoryStatus,
    NotAssessed,
    PipelineInfo,
    PolicyInfo,
    RegistryLineage,
    Risk,
    StageInfo,
    StageRisk,
    Summary,
    TechniqueStatus,
    ToolInfo,
)
from riskframe.detectors.base import LineageKind
from riskframe.engine.gate import NoVerdict, decide
from riskframe.engine.plan import Plan, PlannedRun
from riskframe.engine.run import Outcome
from riskframe.engine.waivers import WaiverDecision, decide_waiver, index_waivers, waiver_records
from riskframe.scoring import RiskModel, Verdict, level_of, score_pipeline
from riskframe.spec.bound_waivers import BoundWaiver
from riskframe.spec.graph import topological_stages
from riskframe.spec.inherit import ProvenanceMap, display_path, policy_files
from riskframe.spec.pipeline import Pipeline
from riskframe.spec.policy import Policy
from riskframe.spec.resolved import Inputs
from riskframe.vocabulary import NO_VERDICT, STATUSES, Level, strictest, worst

_VERDICTS = frozenset({"pass", "warn", "fail", "waived"})


def compose(inputs: Inputs, plan: Plan, outcomes: Sequence[Outcome], *, files: Sequence[InputFile],
            created_at: str, fail_on: Level | None = None, model: RiskModel | None = None) -> Assessment:
    model = model or inputs.risk_model  # the policies' risk: section, else the defaults
    waivers = inputs.waivers
    by_requirement = index_waivers(waivers)
    decisions = [_waiver_decision(by_requirement.get(o.run.requirement.id, []), inputs.today, o) for o in outcomes]
    results, stage_risks = _score(inputs, outcomes, decisions, model)
    gate_level = fail_on or strictest(p.risk_appetite.fail_on for p in inputs.policies)
    top = max((r.risk.residual for r in results if r.status != "not_applicable"), default=0.0)
    counts: Counter[str] = Counter(r.status for r in results)
    return Assessment(
        created_at=created_at,
        tool=ToolInfo(version=__version__, catalogs=inputs.catalog.versions),
        inputs=list(files),
        pipeline=_pipeline_info(inputs),
        policies=[_policy_info(p) for p in inputs.policies],
        results=results,
        stages=stage_risks,
        atlas=_techniques(inputs, results, model),
        nist=_nist(inputs, results),
        summary=Summary(risk_score=round(100 * top, 1), level=level_of(top, model),
                        counts={s: counts[s] for s in STATUSES},
                        requirements=sum(len(p.requirements) for p in inputs.policies),
                        stages=len(inputs.pipeline.stages)),
        gate=decide(results, gate_level, _unassessed(inputs, plan, results, "fail"),
                    [p.risk_appetite.fail_on for p in inputs.policies],
                    allowed=_unassessed(inputs, plan, results, "allow"),
                    source="policy" if fail_on is None else "command-line"),
        policy_digest=policy_digest(inputs, plan),
        not_assessed=[NotAssessed(**vars(u)) for u in plan.unplanned],
        waivers=waiver_records(waivers, [(r.id, d) for r, d in zip(results, decisions, strict=True)], inputs.today),
        risk_model=model.model_dump(mode="json"),
        lineage=_lineage(inputs, files, results),
    )


def policy_digest(inputs: Inputs, plan: Plan) -> str:
    """sha256 of what decides the results: the resolved policies (waivers apart: a waiver accepts a
    result, it does not change it), and every planned run's control and parameters (a control file's
    default threshold counts as much as a policy's override)."""
    import hashlib

    # Waivers and how they are governed accept results without changing them; a version number
    # alone changes nothing either.
    ignored: dict[str, Any] = {"waivers": True, "metadata": {"version"},
               "risk_appetite": {"approvers", "max_waiver_days", "cli_override"}}
    policies = [p.model_dump(mode="json", exclude=ignored) for p in inputs.policies]
    runs = [{"id": r.id, "control": r.control.id, "params": r.params.model_dump(mode="json"),
             "effectiveness": r.control.effectiveness} for r in plan.runs]
    text = json.dumps({"policies": policies, "runs": runs}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _unassessed(inputs: Inputs, plan: Plan, results: Sequence[ControlResult], appetite: str) -> list[NoVerdict]:
    """Why each requirement, or control of a requirement, that produced no verdict does so, for the
    policies whose ``risk_appetite.unassessed`` is ``appetite``. Per control: a requirement naming
    two screens is not met by the one that could run."""
    reasons = []
    for policy in inputs.policies:
        if policy.risk_appetite.unassessed != appetite:
            continue
        name = policy.metadata.name
        for requirement in policy.requirements:
            mine = [r for r in results if r.policy == name and r.requirement == requirement.id]
            silent = [ref.control for ref in requirement.controls
                      if not any(r.control == ref.control and r.status not in NO_VERDICT for r in mine)]
            if not silent:
                continue
            why = ([f"{r.control} at {r.stage}: {r.summary}" for r in mine if r.control in silent]
                   or [f"{u.control}: {u.reason}" for u in plan.unplanned
                       if u.policy == name and u.requirement == requirement.id and u.control in silent])
            some = () if len(silent) == len(requirement.controls) else tuple(silent)
            reasons.append(NoVerdict(requirement.id, name, "; ".join(why[:3]), some))
    return reasons


def _waiver_decision(waivers: Sequence[BoundWaiver], today: date, outcome: Outcome) -> WaiverDecision:
    run = outcome.run
    return decide_waiver(waivers, policy=run.policy.metadata.name, requirement=run.requirement.id,
                         stage=run.stage.name, control=run.control.id, status=outcome.status, today=today)


def _policy_info(policy: Policy) -> PolicyInfo:
    files = policy_files(policy)
    excluded = []
    for index, exclusion in enumerate(policy.exclude):
        path, line, _ = policy.source.origin(("exclude", index))
        excluded.append(ExcludedRequirement(id=exclusion.id, reason=exclusion.reason,
                                            source=f"{display_path(path)}:{line}"))
    return PolicyInfo(name=policy.metadata.name, version=policy.metadata.version,
                      path=shown_path(policy.path) if policy.path else "",
                      fail_on=policy.risk_appetite.fail_on, requirements=len(policy.requirements),
                      extends=[display_path(f) for f in files[:-1]], excluded=excluded)


def _score(inputs: Inputs, outcomes: Sequence[Outcome], decisions: Sequence[WaiverDecision],
           model: RiskModel) -> tuple[list[ControlResult], list[StageRisk]]:
    catalog, pipeline = inputs.catalog, inputs.pipeline
    verdicts = [Verdict(stage=o.run.stage.name, status=o.status, score=o.score,
                        severity=o.run.requirement.severity,
                        maturities=tuple(t.maturity for i in o.run.techniques if (t := catalog.technique(i))),
                        effectiveness=o.run.control.effectiveness) for o in outcomes]
    order = [s.name for s in pipeline.stages]
    topo = topological_stages(inputs.graph, key=order.index)
    predecessors = {n: list(inputs.graph.predecessors(n)) for n in topo}
    untrusted = [s.name for s in pipeline.stages if s.trust == "untrusted"]
    risks, stage_scores = score_pipeline(topo, predecessors, untrusted, verdicts,
                                         pipeline.metadata.criticality, model)
    # A waiver accepts a risk, it does not remove it: a waived result is scored as the verdict it waives.
    results = [_result(o, risk, pipeline, d) for o, risk, d in zip(outcomes, risks, decisions, strict=True)]
    stages = [StageRisk(name=s.name, kind=s.kind, trust=s.trust, exposed=stage_scores[s.name].exposed,
                        inherited=stage_scores[s.name].inherited, inherited_from=stage_scores[s.name].inherited_from,
                        likelihood=stage_scores[s.name].likelihood,
                        residual=stage_scores[s.name].residual, level=stage_scores[s.name].level,
                        results=[r.id for r in results if r.stage == s.name])
              for s in pipeline.stages]
    return results, stages


def _result(outcome: Outcome, risk: Risk, pipeline: Pipeline, decision: WaiverDecision) -> ControlResult:
    run = outcome.run
    if decision.applied:
        effect = f"{risk.terms.control_effect}; waived: the risk is accepted, the gate ignores it"
        risk = risk.model_copy(update={"terms": risk.terms.model_copy(update={"control_effect": effect})})
    return ControlResult(
        id=run.id, requirement=run.requirement.id, requirement_title=run.requirement.title,
        policy=run.policy.metadata.name, stage=run.stage.name, control=run.control.id,
        control_title=run.control.title, detector=run.detector.name,
        artifact=run.primary.name if run.primary else None, model=run.model.name if run.model else None,
        params=run.params.model_dump(mode="json"), status=decision.status,
        severity=run.requirement.severity, score=outcome.score, summary=outcome.summary,
        metrics=outcome.metrics, evidence=outcome.evidence, attachments=outcome.attachments,
        risk=risk, atlas=run.techniques, mitigations=list(run.control.atlas.mitigates), nist=run.nist,
        remediation=run.control.remediation, waiver=decision.waiver, locations=_locations(run, pipeline),
        duration_s=outcome.duration_s,
    )


def _locations(run: PlannedRun, pipeline: Pipeline) -> list[Location]:
    """The requirement's control entry in the policy (in the file that defined it, and where a child
    policy last overrode it), then the stage and the primary artifact in the pipeline: the lines a
    code-scanning tool points at."""
    req_index = run.policy.requirements.index(run.requirement)
    ref_index = next(i for i, ref in enumerate(run.requirement.controls) if ref.control == run.control.id)
    places: list[tuple[Any, tuple[str | int, ...], str]] = [
        (run.policy, ("requirements", req_index, "controls", ref_index), "requirement")]
    stage_index = pipeline.stages.index(run.stage)
    places.append((pipeline, ("stages", stage_index), "stage"))
    if run.primary is not None:
        artifact_index = run.stage.artifacts.index(run.primary)
        places.append((pipeline, ("stages", stage_index, "artifacts", artifact_index), "artifact"))
    out = []
    for document, loc, what in places:
        if document.path is None:
            continue
        path, line, column = document.source.origin(loc)
        out.append(Location(path=shown_path(Path(path)), line=line, column=column, what=what))
        override = document.source.override(loc) if isinstance(document.source, ProvenanceMap) else None
        if override is not None:
            path, line, column = override
            out.append(Location(path=shown_path(Path(path)), line=line, column=column, what="override"))
    return out


def shown_path(path: Path) -> str:
    """Relative to the working directory when inside it (stable across machines), else absolute."""
    relative = os.path.relpath(path)
    return Path(relative).as_posix() if not relative.startswith("..") else path.resolve().as_posix()


def _techniques(inputs: Inputs, results: Sequence[ControlResult], model: RiskModel) -> list[TechniqueStatus]:
    addressed = dict.fromkeys(t for p in inputs.policies for r in p.requirements for t in r.threats)
    for result in results:
        addressed.update(dict.fromkeys(result.atlas))
    out = []
    for technique_id in addressed:
        technique = inputs.catalog.technique(technique_id)
        if technique is None:
            continue
        mine = [r for r in results if technique_id in r.atlas]
        top = max((r.risk.residual for r in mine if r.status != "not_applicable"), default=0.0)
        out.append(TechniqueStatus(
            id=technique.id, name=technique.name, tactics=technique.tactics, maturity=technique.maturity,
            covered=any(r.status in _VERDICTS for r in mine), status=worst(r.status for r in mine),
            max_residual=top, level=level_of(top, model) if mine else None, results=[r.id for r in mine]))
    return out


def _nist(inputs: Inputs, results: Sequence[ControlResult]) -> list[NistSubcategoryStatus]:
    catalog = inputs.catalog
    out = []
    for sub in catalog.nist.subcategories:
        mine = [r for r in results if any(catalog.nist_id(n) == sub.id for n in r.nist)]
        assessed = [r for r in mine if r.status in (*_VERDICTS, "error")]
        if not assessed:
            status = "not-assessed"
        elif all(r.status == "pass" for r in assessed):
            status = "satisfied"
        else:  # a warning, a waived failure or an error is not evidence the outcome is achieved
            status = "not-satisfied"
        out.append(NistSubcategoryStatus(id=sub.id, function=sub.function, category=sub.category,
                                         statement=sub.statement, status=status, results=[r.id for r in mine]))
    return out


def _lineage(inputs: Inputs, files: Sequence[InputFile], results: Sequence[ControlResult]) -> list[LineageEntry]:
    """Every artifact with its computed and declared digests, the DVC origins and the registry
    records the runs found (from detectors declaring ``lineage``; same path construction as
    :func:`riskframe.engine.assess.input_files`)."""
    digests = {f.path: f.sha256 for f in files if f.role == "artifact"}
    base = inputs.pipeline.path.parent if inputs.pipeline.path else Path(".")
    origins = _lineage_records(inputs, results, "dvc")
    registered = {e["artifact"]: e for e in _lineage_records(inputs, results, "registry")}
    out = []
    for stage, artifact in inputs.pipeline.artifacts():
        actual = digests.get((base / artifact.path).as_posix(), "")
        status = "undeclared" if artifact.sha256 is None else "match" if actual == artifact.sha256 else "mismatch"
        seen = {json.dumps(o, sort_keys=True): o for o in origins if o.get("artifact") == artifact.name}
        out.append(LineageEntry(
            artifact=artifact.name, stage=stage.name, type=artifact.type, path=artifact.path, sha256=actual,
            declared_sha256=artifact.sha256, digest_status=status,
            trained_on=artifact.of if artifact.type == "model" else None, of=artifact.of, task=artifact.task,
            origins=[DvcOrigin(**{k: v for k, v in o.items() if k != "artifact"}) for o in seen.values()],
            registry=_registry_lineage(registered.get(artifact.name))))
    return out


def _lineage_records(inputs: Inputs, results: Sequence[ControlResult], kind: LineageKind) -> list[dict[str, Any]]:
    """The ``lineage`` evidence of the results of detectors that declare ``lineage = kind``."""
    declares = {name for name in {r.detector for r in results}
                if (detector := inputs.registry.get(name)) is not None and detector.lineage == kind}
    return [entry for r in results if r.detector in declares for entry in r.evidence.get("lineage", [])]


def _registry_lineage(record: dict[str, Any] | None) -> RegistryLineage | None:
    """A model registry's record of a model, if a run checked it (the last one, when several did)."""
    if record is None:
        return None
    return RegistryLineage(**{k: v for k, v in record.items() if k not in ("artifact", "trained_on")})


def _pipeline_info(inputs: Inputs) -> PipelineInfo:
    pipeline = inputs.pipeline
    return PipelineInfo(
        name=pipeline.metadata.name, path=str(pipeline.path or ""), owner=pipeline.metadata.owner,
        criticality=pipeline.metadata.criticality,
        stages=[StageInfo(name=s.name, kind=s.kind, trust=s.trust, needs=list(s.needs),
                          artifacts=[ArtifactInfo(name=a.name, type=a.type, path=a.path,
                                                  format=a.resolved_format, sha256=a.sha256)
                                     for a in s.artifacts])
                for s in pipeline.stages])
