"""The trestle models of :mod:`riskframe.reports.oscal`, built from an assessment.

Imported only once compliance-trestle is known to be installed; the design (what maps to what,
how UUIDs are made) is in :mod:`riskframe.reports.oscal`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from trestle.oscal import OSCAL_VERSION
from trestle.oscal import assessment_results as ar
from trestle.oscal import common as oc

from riskframe.assessment import Assessment, ControlResult, NistSubcategoryStatus, TechniqueStatus
from riskframe.reports import decision, view
from riskframe.reports._oscal_parts import Resources
from riskframe.reports.oscal import (
    ATLAS_URL,
    NAMESPACE,
    Uuids,
    nist_control_id,
    nist_statement_id,
    single_line,
    unique,
)
from riskframe.vocabulary import FAILING

JSON_REPORT = "assessment.json"
MAX_FLAGGED_SHOWN = 10


def build(assessment: Assessment, siblings: Sequence[str], ids: Uuids, when: datetime) -> ar.AssessmentResults:
    """The whole document (see :func:`riskframe.reports.oscal.assessment_results`)."""
    return _Builder(assessment, siblings, ids, when).document()


def prop(name: str, value: object, cls: str | None = None) -> oc.Property:
    return oc.Property(name=name, value=single_line(value), ns=NAMESPACE, class_=cls)


class _Builder:
    def __init__(self, assessment: Assessment, siblings: Sequence[str], ids: Uuids, when: datetime) -> None:
        self.assessment, self.ids, self.when = assessment, ids, when
        self.resources = Resources(assessment, ids)
        self.json_report = JSON_REPORT if JSON_REPORT in siblings else None
        self.tool = ids.of("component", "riskframe")
        self.by_id = {r.id: r for r in assessment.results}
        self.observation_ids = {r.id: ids.of("observation", r.id) for r in assessment.results}
        self.failing = [t for t in assessment.atlas if t.status in FAILING]
        self.risk_ids = {t.id: ids.of("risk", t.id) for t in self.failing}

    def document(self) -> ar.AssessmentResults:
        a = self.assessment
        return ar.AssessmentResults(
            uuid=self.ids.document,
            metadata=oc.Metadata(
                title=single_line(f"riskframe assessment results: pipeline {a.pipeline.name}"),
                last_modified=self.when,
                published=self.when,
                version=a.created_at,
                oscal_version=OSCAL_VERSION,
                props=[
                    prop("tool-version", a.tool.version),
                    prop("assessment-schema-version", a.schema_version),
                    *(prop(f"catalog-{name}", version) for name, version in sorted(a.tool.catalogs.items())),
                ],
            ),
            import_ap=ar.ImportAp(
                href=f"#{self.resources.plan_uuid}",
                remarks="riskframe keeps no separate OSCAL assessment plan: the policies and the pipeline "
                "document it assessed are the plan (see that back-matter resource).",
            ),
            results=[self.result()],
            back_matter=oc.BackMatter(resources=self.resources.all()),
        )

    def result(self) -> ar.Result:
        a = self.assessment
        findings, risks = self.findings(), [self.risk(t) for t in self.failing]
        return ar.Result(
            uuid=self.ids.of("result", self.ids.document),
            title=single_line(f"riskframe assess {a.pipeline.name}"),
            description=f"{decision.gate_sentence(a)} Risk score {a.summary.risk_score:g}/100 ({a.summary.level}). "
            f"Results: {view.counts_sentence(a)}.",
            start=self.when,
            props=[
                prop("gate-decision", a.gate.decision),
                prop("fail-on", a.gate.fail_on),
                prop("risk-score", f"{a.summary.risk_score:g}"),
                prop("risk-level", a.summary.level),
            ],
            links=self.resources.links() or None,
            local_definitions=self.local_definitions(),
            reviewed_controls=self.reviewed_controls(),
            observations=[self.observation(r, i) for i, r in enumerate(a.results)] or None,
            findings=findings or None,
            risks=risks or None,
            remarks="\n\n".join(f"{s.title}:\n" + "\n".join(f"- {r}" for r in s.reasons)
                                 for s in decision.sections(a)) or None,
        )

    # --- who and what was assessed ---------------------------------------------------------------

    def local_definitions(self) -> ar.LocalDefinitions1:
        a = self.assessment
        tool = oc.SystemComponent(
            uuid=self.tool,
            type="software",
            title=single_line(f"riskframe {a.tool.version}"),
            description="riskframe: ATLAS-aligned policy-as-code risk assessment of ML pipelines.",
            props=[prop("version", a.tool.version)],
            status=oc.Status(state="operational"),
        )
        pipeline = oc.SystemComponent(
            uuid=self.ids.of("component", "pipeline"),
            type="software",
            title=single_line(f"ML pipeline {a.pipeline.name}"),
            description=f"The machine-learning pipeline described by {a.pipeline.path}.",
            props=[prop("criticality", a.pipeline.criticality)]
            + ([prop("owner", a.pipeline.owner)] if a.pipeline.owner else []),
            status=oc.Status(state="operational"),
        )
        stages = [
            oc.SystemComponent(
                uuid=self.stage_uuid(stage.name),
                type="process-procedure",
                title=single_line(f"stage {stage.name} of pipeline {a.pipeline.name}"),
                description=f"A {stage.kind} stage ({stage.trust} inputs) of the pipeline.",
                props=[prop("stage-kind", stage.kind), prop("trust", stage.trust)],
                status=oc.Status(state="operational"),
            )
            for stage in a.pipeline.stages
        ]
        platform = oc.AssessmentPlatform(
            uuid=self.ids.of("assessment-platform", "riskframe"),
            title="riskframe",
            uses_components=[oc.UsesComponent(component_uuid=self.tool)],
        )
        return ar.LocalDefinitions1(
            components=[pipeline, *stages],
            assessment_assets=oc.AssessmentAssets(components=[tool], assessment_platforms=[platform]),
        )

    def stage_uuid(self, stage: str) -> str:
        return self.ids.of("component", f"stage/{stage}")

    def reviewed_controls(self) -> oc.ReviewedControls:
        in_scope = sorted(unique(n for r in self.assessment.results for n in r.nist), key=_nist_order)
        link = [oc.Link(href=f"#{self.resources.nist_uuid}", rel="reference", text="NIST AI RMF 1.0 Core")]
        if not in_scope:
            selection: Any = oc.ControlSelectionsAll(
                include_all=oc.IncludeAll(),
                description="No run produced a result, so no NIST AI RMF subcategory was assessed.",
            )
        else:
            by_control: dict[str, list[str]] = {}
            for subcategory in in_scope:
                by_control.setdefault(nist_control_id(subcategory), []).append(nist_statement_id(subcategory))
            selection = oc.ControlSelections(
                description="The NIST AI RMF subcategories the policies' controls evidence, each an item of "
                "its category's statement (MEASURE 2.7 -> measure-2_smt.7).",
                include_controls=[
                    oc.SelectControlById(control_id=control, statement_ids=statements)
                    for control, statements in by_control.items()
                ],
            )
        return oc.ReviewedControls(
            description="NIST AI RMF 1.0 (NIST AI 100-1) Core, as an OSCAL catalog: functions are groups, "
            "categories controls, subcategories statement items.",
            links=link,
            control_selections=[selection],
        )

    # --- observations, findings, risks -----------------------------------------------------------

    def origin(self) -> oc.Origin:
        return oc.Origin(actors=[oc.OriginActor(type="tool", actor_uuid=self.tool)])

    def observation(self, result: ControlResult, index: int) -> oc.Observation:
        evidence = self.evidence_summary(result, index)
        evidence += self.resources.evidence_for(result)
        return oc.Observation(
            uuid=self.observation_ids[result.id],
            title=single_line(f"{result.control} at stage {result.stage} ({result.requirement}): {result.status}"),
            description=result.summary or f"{result.control} returned {result.status}.",
            props=_result_props(result),
            methods=["TEST"],
            types=["control-objective", "finding"] if result.status in FAILING else ["control-objective"],
            origins=[self.origin()],
            subjects=[
                oc.SubjectReference(
                    subject_uuid=self.stage_uuid(result.stage), type="component", title=f"stage {result.stage}"
                )
            ],
            relevant_evidence=evidence,
            collected=self.when,
            remarks=_waiver_remarks(result),
        )

    def evidence_summary(self, result: ControlResult, index: int) -> list[oc.RelevantEvidence]:
        lines = [f"- {name}: {view.number(value)}" for name, value in sorted(result.metrics.items())]
        lines += [f"- {fact}" for fact in _evidence_facts(result.evidence)]
        described = f"Detector {result.detector}, score {result.score:g} (1 is worst). {result.summary}"
        if lines:
            described += "\n\n" + "\n".join(lines)
        href = f"{self.json_report}#/results/{index}" if self.json_report else None
        return [oc.RelevantEvidence(href=href, description=described)]

    def findings(self) -> list[oc.Finding]:
        assessed = [n for n in self.assessment.nist if n.status in ("satisfied", "not-satisfied")]
        return [self.finding(n) for n in sorted(assessed, key=lambda n: _nist_order(n.id))]

    def finding(self, subcategory: NistSubcategoryStatus) -> oc.Finding:
        satisfied = subcategory.status == "satisfied"
        results = [r for r in subcategory.results if r in self.by_id]
        behind = [self.by_id[r] for r in results]
        failing = {r.id for r in behind if r.status in FAILING}
        risks = [self.risk_ids[t.id] for t in self.failing if failing & set(t.results)]
        # OSCAL's reasons: pass, fail, or other; a check that could not run is neither pass nor fail.
        reason = "pass" if satisfied else "fail" if any(r.status == "fail" for r in behind) else "other"
        return oc.Finding(
            uuid=self.ids.of("finding", subcategory.id),
            title=single_line(f"NIST AI RMF {subcategory.id}: {subcategory.status}"),
            description=f"{subcategory.statement}\n\n{self.finding_sentence(behind)}",
            props=[prop("nist-function", subcategory.function), prop("nist-category", subcategory.category)],
            origins=[self.origin()],
            target=oc.FindingTarget(
                type="statement-id",
                target_id=nist_statement_id(subcategory.id),
                title=single_line(f"NIST AI RMF {subcategory.id}"),
                status=oc.ObjectiveStatus(state="satisfied" if satisfied else "not-satisfied", reason=reason),
            ),
            related_observations=[oc.RelatedObservation(observation_uuid=self.observation_ids[r]) for r in results]
            or None,
            related_risks=[oc.AssociatedRisk(risk_uuid=u) for u in risks] or None,
        )

    def finding_sentence(self, results: Sequence[ControlResult]) -> str:
        parts = [f"{r.id}: {r.status}" for r in results]
        return f"Evidenced by {len(results)} run(s): " + "; ".join(parts) + "."

    def risk(self, technique: TechniqueStatus) -> oc.Risk:
        behind = [self.by_id[i] for i in technique.results if i in self.by_id]
        failing = [r for r in behind if r.status in FAILING]
        # An assessment edited by hand may list no run behind a technique; the risk still stands.
        worst = max(failing or behind, key=lambda r: r.risk.residual, default=None)
        tactics = ", ".join(view.tactic_label(t) for t in technique.tactics) or "no tactic"
        url = f"{ATLAS_URL}/techniques/{technique.id}"
        statement = f"Residual risk {_rounded(technique.max_residual)} ({technique.level or 'unrated'})"
        if worst is not None:
            statement += f"; the worst run is {worst.id} at stage {worst.stage}: {worst.summary}"
        return oc.Risk(
            uuid=self.risk_ids[technique.id],
            title=single_line(f"{technique.id} {technique.name}"),
            description=f"MITRE ATLAS technique {technique.id} ({technique.name}; {tactics}; maturity "
            f"{technique.maturity or 'unknown'}). {len(failing)} of the {len(behind)} run(s) that check it "
            f"did not pass: " + "; ".join(f"{r.id}: {r.status}" for r in failing) + ".",
            statement=statement,
            props=[prop("atlas-status", technique.status)],
            status="open",
            origins=[self.origin()],
            threat_ids=[oc.ThreatId(system=ATLAS_URL, id=url, href=url)],
            characterizations=[self.characterization(technique, worst)],
            remediations=self.remediations(technique, failing) or None,
            related_observations=[oc.RelatedObservation(observation_uuid=self.observation_ids[r.id]) for r in behind]
            or None,
        )

    def characterization(self, technique: TechniqueStatus, worst: ControlResult | None) -> oc.Characterization:
        values = {"residual-risk": _rounded(technique.max_residual), "risk-level": technique.level or "unrated"}
        if worst is not None:
            values |= {
                "likelihood": _rounded(worst.risk.likelihood),
                "impact": _rounded(worst.risk.impact),
                "inherent-risk": _rounded(worst.risk.inherent),
            }
        facets = [oc.Facet(name=name, system=NAMESPACE, value=value) for name, value in values.items()]
        return oc.Characterization(origin=self.origin(), facets=facets)

    def remediations(self, technique: TechniqueStatus, failing: list[ControlResult]) -> list[oc.Response]:
        advice = unique(r.remediation.strip() for r in failing if r.remediation.strip())
        return [
            oc.Response(
                uuid=self.ids.of("remediation", f"{technique.id}/{n}"),
                lifecycle="recommendation",
                title=single_line(f"Remediate {technique.id}"),
                description=text,
                origins=[self.origin()],
            )
            for n, text in enumerate(advice)
        ]


def _result_props(result: ControlResult) -> list[oc.Property]:
    props = [
        prop("result-id", result.id),
        prop("policy", result.policy),
        prop("requirement", result.requirement),
        prop("control", result.control),
        prop("detector", result.detector),
        prop("stage", result.stage),
        prop("status", result.status),
        prop("severity", result.severity),
        prop("score", _rounded(result.score)),
        prop("residual-risk", _rounded(result.risk.residual)),
        prop("risk-level", result.risk.level),
    ]
    props += [prop("atlas-technique", t) for t in result.atlas]
    props += [prop("nist-subcategory", n) for n in result.nist]
    props += [prop(f"metric-{name}", f"{value:g}", cls="metric") for name, value in sorted(result.metrics.items())]
    return [p for p in props if _valid_name(p.name)]


def _evidence_facts(evidence: dict[str, Any]) -> list[str]:
    """The short scalar facts of the evidence, and how many samples it flags; the rest of it (lists,
    tables, per-sample scores) is in assessment.json, which the evidence links to."""
    facts = [
        f"{key.replace('_', ' ')}: {view.number(value)}"
        for key, value in sorted(evidence.items())
        if isinstance(value, (int, float, str)) and not isinstance(value, bool) and len(str(value)) <= 200
    ]
    flagged = evidence.get("flagged_indices")
    if isinstance(flagged, list) and flagged:
        first = ", ".join(str(i) for i in flagged[:MAX_FLAGGED_SHOWN])
        more = ", ..." if len(flagged) > MAX_FLAGGED_SHOWN else ""
        facts.append(f"flagged samples: {len(flagged)} (most suspicious first: {first}{more})")
    return facts


def _rounded(value: float) -> str:
    return f"{round(value, 4):g}"


def _valid_name(name: str) -> bool:
    # Detector metric names are free text; one that is not an XML name cannot be an OSCAL
    # property name, and it is still in the evidence summary.
    return all(c.isalnum() or c in "_-." for c in name)


def _waiver_remarks(result: ControlResult) -> str | None:
    waiver = result.waiver
    if waiver is None:
        return None
    return (
        f"Waiver ({waiver.status}, {'applied' if waiver.applied else 'not applied'}): {waiver.justification} "
        f"Approved by {waiver.approved_by}, expires {waiver.expires}. {waiver.note}".strip()
    )


def _nist_order(subcategory: str) -> tuple[int, str]:
    function = subcategory.split(" ", 1)[0]
    rank = view.NIST_FUNCTIONS.index(function) if function in view.NIST_FUNCTIONS else 99
    numbers = subcategory.split(" ", 1)[-1]
    padded = ".".join(part.zfill(4) for part in numbers.split("."))
    return rank, padded
