"""Compose the :class:`~riskframe.threat.model.ThreatModel` document from an analysis.

A 2,000-stage pipeline has some 200,000 (stage, technique) entries: each stage's are validated in
one call, and identical reasons are shared (immutable) objects rather than copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter

from riskframe import __version__
from riskframe.assessment import ArtifactInfo, PipelineInfo, PolicyInfo, StageInfo, ToolInfo
from riskframe.scoring import RiskModel, level_of, prior_likelihood
from riskframe.spec.pipeline import Pipeline, Stage
from riskframe.spec.policy import Policy
from riskframe.threat import model as tm
from riskframe.threat.build import Analysis
from riskframe.threat.coverage import CaseStudyShare, case_study_shares, gap_order, most_exposed
from riskframe.threat.paths import attack_paths, progression
from riskframe.threat.risk import level_function, likelihood


def compose(analysis: Analysis, max_paths: int, created_at: str) -> tm.ThreatModel:
    """The document, from the analysis."""
    inputs, model = analysis.inputs, analysis.model
    stages = [_stage(analysis, s) for s in inputs.pipeline.stages]
    techniques = _techniques(analysis, stages)
    paths, pairs = _paths(analysis, max_paths)
    gaps = _gaps(analysis, techniques)
    shares = case_study_shares(inputs.catalog, {t.id for t in techniques}, set(analysis.addressed))
    top = max((p.risk for p in paths), default=0.0)
    summary = tm.ThreatSummary(
        stages=len(stages), entries=sum(s.trust == "untrusted" for s in inputs.pipeline.stages),
        deployments=sum(s.kind == "deployment" for s in inputs.pipeline.stages),
        applicable_techniques=len(techniques), addressed_techniques=sum(bool(t.requirements) for t in techniques),
        gaps=len(gaps), attack_paths=pairs, max_path_risk=top, level=level_of(top, model))
    return tm.ThreatModel(
        created_at=created_at, tool=ToolInfo(version=__version__, catalogs=inputs.catalog.versions),
        pipeline=pipeline_info(inputs.pipeline), policies=[policy_info(p) for p in inputs.policies],
        assumptions=assumptions(model, analysis.assumed_severity, inputs.pipeline.metadata.criticality),
        techniques=techniques, stages=stages, paths=paths, gaps=gaps, unenforced=_unenforced(analysis),
        case_studies=[_case_study(s) for s in shares], most_exposed=[s.id for s in most_exposed(shares)],
        not_planned=analysis.not_planned, summary=summary)


def assumptions(model: RiskModel, assumed: str, criticality: str) -> list[str]:
    """What the numbers of a threat model rest on, in words (every report prints them)."""
    impact = model.severity_impact[assumed] * model.criticality_factor[criticality]
    return [
        "Design time: no detector ran and no data was read; the pipeline and policy documents are all it uses.",
        "Each control the plan runs for a technique at a stage is assumed to pass at its effectiveness; "
        "several controls covering one technique at a stage are independent layers (residual likelihood "
        "= prior x (1 - effectiveness) for each).",
        "A technique is scored at the severity of the most severe requirement naming it in its threats; one no "
        f"requirement names, at the assumed severity '{assumed}' (impact {impact:.2f}).",
        "A technique applies at a stage when an ATLAS mitigation addressing it is applied at the stage's "
        "lifecycle phase, when the stage is an untrusted source (Initial Access and Resource Development "
        "techniques), when the stage holds an artifact that opens it (datasets, pickle-format models, text "
        "corpora), or when a control of the policy checks for it there.",
        f"An attack path is scored as if its entry were the only way in: exposure {model.exposure:g} from the "
        f"entry, and likelihood flowing along the path with propagation {model.propagation:g}.",
    ]


def _stage(analysis: Analysis, stage: Stage) -> tm.StageThreats:
    model, score, level = analysis.model, analysis.scores[stage.name], level_function(analysis.model)
    exposure = model.exposure if score.exposed else 0.0
    coverage = analysis.covers.get(stage.name)
    found = analysis.applicable[stage.name]
    numbers: dict[tuple[float, float, float], dict[str, Any]] = {}  # techniques with equal terms share them
    entries: list[dict[str, Any]] = []
    for term in analysis.terms[stage.name]:
        key = (term.maturity, term.remaining, term.impact)
        if key not in numbers:
            chance = likelihood(term, exposure, score.inherited)
            prior = prior_likelihood(term.maturity, exposure, score.inherited)
            numbers[key] = {"likelihood": _r(chance), "inherent": _r(prior * term.impact),
                            "residual": _r(chance * term.impact), "level": level(chance * term.impact)}
        covered = list(coverage.techniques.get(term.technique, ())) if coverage else []
        entries.append({"id": term.technique, "reasons": found[term.technique], "covered_by": covered, **numbers[key]})
    entries.sort(key=lambda t: (-t["residual"], t["id"]))
    controls = [tm.StageControl(control=c, effectiveness=use.effectiveness, requirements=list(use.requirements))
                for c, use in (coverage.controls.items() if coverage else ())]
    return tm.StageThreats(name=stage.name, kind=stage.kind, trust=stage.trust, exposed=score.exposed,
                           inherited=score.inherited, inherited_from=score.inherited_from,
                           likelihood=score.likelihood, residual=score.residual,
                           level=level_of(score.residual, model), controls=controls,
                           techniques=_stage_techniques().validate_python(entries))


@lru_cache(maxsize=1)
def _stage_techniques() -> TypeAdapter[list[tm.StageTechnique]]:
    # One validation call per stage, in pydantic's core: twice as fast as building each entry alone.
    return TypeAdapter(list[tm.StageTechnique])


def _techniques(analysis: Analysis, stages: Sequence[tm.StageThreats]) -> list[tm.Technique]:
    """Every applicable technique once, riskiest first (ties by id)."""
    catalog, model = analysis.inputs.catalog, analysis.model
    worst: dict[str, float] = {}
    count: dict[str, int] = {}
    for stage in stages:
        for entry in stage.techniques:
            worst[entry.id] = max(worst.get(entry.id, 0.0), entry.residual)
            count[entry.id] = count.get(entry.id, 0) + 1
    out = []
    for technique_id in sorted(worst, key=lambda t: (-worst[t], t)):
        technique = catalog.techniques[technique_id]
        requirements = list(dict.fromkeys(analysis.label(a) for a in analysis.addressed.get(technique_id, ())))
        out.append(tm.Technique(id=technique_id, name=technique.name, tactics=list(technique.tactics),
                                maturity=technique.maturity, severity=analysis.severity[technique_id],
                                requirements=requirements, stages=count[technique_id],
                                mitigations=[f"{m.id} {m.name}" for m in catalog.mitigations_for(technique_id)],
                                max_residual=worst[technique_id], level=level_of(worst[technique_id], model)))
    return out


def _paths(analysis: Analysis, limit: int) -> tuple[list[tm.AttackPath], int]:
    pipeline, catalog, model = analysis.inputs.pipeline, analysis.inputs.catalog, analysis.model
    entries = [s.name for s in pipeline.stages if s.trust == "untrusted"]
    targets = [s.name for s in pipeline.stages if s.kind == "deployment"]
    found, pairs = attack_paths(analysis.graph, entries, targets, analysis.curves, model, limit)
    tactics = {t.id: [(catalog.tactics[x].order, x) for x in t.tactics if x in catalog.tactics]
               for t in catalog.atlas.techniques}
    specific = {stage: {t for t, reasons in here.items() if any(r.source != "kind" for r in reasons)}
                for stage, here in analysis.applicable.items()}
    out = []
    for path in found:
        steps = progression(path.stages, analysis.terms, tactics, analysis.curves, model, specific)
        out.append(tm.AttackPath(
            entry=path.entry, target=path.target, stages=list(path.stages), alternatives=path.count,
            likelihood=_r(path.likelihood), risk=_r(path.risk), level=level_of(path.risk, model),
            riskiest_stage=path.riskiest_stage,
            steps=[tm.PathStep(stage=s.stage, tactic=s.tactic, tactic_name=catalog.tactics[s.tactic].name,
                               technique=s.technique, technique_name=catalog.techniques[s.technique].name,
                               likelihood=s.likelihood, residual=s.residual, level=level_of(s.residual, model),
                               covered=s.covered) for s in steps]))
    return out, pairs


def _where(analysis: Analysis) -> dict[str, list[str]]:
    """technique -> the stages where it applies, in pipeline order."""
    out: dict[str, list[str]] = {}
    for stage, found in analysis.applicable.items():
        for technique_id in found:
            out.setdefault(technique_id, []).append(stage)
    return out


def _gaps(analysis: Analysis, techniques: Sequence[tm.Technique]) -> list[tm.CoverageGap]:
    catalog, where = analysis.inputs.catalog, _where(analysis)
    gaps = [t for t in techniques if not t.requirements]
    gaps.sort(key=lambda t: gap_order(t.id, catalog, t.max_residual, t.stages))
    return [tm.CoverageGap(id=t.id, name=t.name, tactics=t.tactics, maturity=t.maturity, stages=where[t.id],
                           max_residual=t.max_residual, level=t.level) for t in gaps]


def _unenforced(analysis: Analysis) -> list[tm.Unenforced]:
    catalog = analysis.inputs.catalog
    out = []
    for technique_id, stages in _where(analysis).items():
        if technique_id not in analysis.addressed:
            continue
        bare = [s for s in stages if technique_id not in (c.techniques if (c := analysis.covers.get(s)) else {})]
        if bare:
            technique = catalog.techniques[technique_id]
            requirements = list(dict.fromkeys(analysis.label(a) for a in analysis.addressed[technique_id]))
            out.append(tm.Unenforced(id=technique_id, name=technique.name, maturity=technique.maturity,
                                     requirements=requirements, stages=bare))
    return sorted(out, key=lambda u: gap_order(u.id, catalog, 0.0, len(u.stages)))


def _case_study(share: CaseStudyShare) -> tm.CaseStudyCoverage:
    return tm.CaseStudyCoverage(
        id=share.id, name=share.name, type=share.type, techniques=list(share.techniques),
        covered=list(share.covered), applicable=list(share.applicable), exposed=list(share.exposed),
        share_covered=round(share.share_covered, 4), share_applicable=round(share.share_applicable, 4))


def pipeline_info(pipeline: Pipeline) -> PipelineInfo:
    return PipelineInfo(
        name=pipeline.metadata.name, path=str(pipeline.path or ""), owner=pipeline.metadata.owner,
        criticality=pipeline.metadata.criticality,
        stages=[StageInfo(name=s.name, kind=s.kind, trust=s.trust, needs=list(s.needs),
                          artifacts=[ArtifactInfo(name=a.name, type=a.type, path=a.path, format=a.resolved_format,
                                                  sha256=a.sha256) for a in s.artifacts])
                for s in pipeline.stages])


def policy_info(policy: Policy) -> PolicyInfo:
    return PolicyInfo(name=policy.metadata.name, version=policy.metadata.version, path=str(policy.path or ""),
                      fail_on=policy.risk_appetite.fail_on, requirements=len(policy.requirements))


def _r(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 6)
