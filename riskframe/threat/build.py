"""``build_threat_model``: from a pipeline and policies to a :class:`~riskframe.threat.model.ThreatModel`.

load and resolve -> plan (no data read) -> applicable techniques -> what the controls cover ->
design-time risk per stage -> (:mod:`riskframe.threat.document`) attack paths, gaps, case studies.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from riskframe.assessment import NotAssessed
from riskframe.catalog.store import Catalog
from riskframe.detectors.registry import Registry
from riskframe.engine.plan import plan_runs
from riskframe.scoring import RiskModel, maturity_prior
from riskframe.spec.graph import topological_stages
from riskframe.spec.pipeline import Pipeline
from riskframe.spec.policy import Policy
from riskframe.spec.resolved import Inputs, PathLike, load_all_controls, load_inputs, resolve_pipeline
from riskframe.threat.applicability import Applicability, applicable_techniques
from riskframe.threat.coverage import Addressing, StageCoverage, addressed_techniques, stage_covers, worst_severity
from riskframe.threat.model import Reason, ThreatModel
from riskframe.threat.paths import StageGraph
from riskframe.threat.risk import StageCurve, StageDesign, Term, remaining_after, score_stages
from riskframe.vocabulary import Level

DEFAULT_MAX_PATHS = 25


@dataclass
class Analysis:
    """Everything known about the pipeline before the document is composed."""

    inputs: Inputs
    model: RiskModel
    applicable: dict[str, Applicability]  # stage -> technique -> reasons
    covers: dict[str, StageCoverage]  # stage -> what the plan runs there
    addressed: dict[str, list[Addressing]]  # technique -> requirements addressing it
    severity: dict[str, str]  # technique -> the severity its risk is scored at
    terms: dict[str, list[Term]]  # stage -> one term per applicable technique
    curves: dict[str, StageCurve]
    graph: StageGraph
    scores: dict[str, StageDesign]
    not_planned: list[NotAssessed]
    assumed_severity: Level

    def label(self, entry: Addressing) -> str:
        """A requirement as the document names it: its id, prefixed by its policy when there are several."""
        return f"{entry.policy}/{entry.requirement}" if len(self.inputs.policies) > 1 else entry.requirement


def build_threat_model(
    pipeline: Pipeline | PathLike,
    policies: Sequence[Policy | PathLike] = (),
    *,
    controls_dirs: Sequence[PathLike] = (),
    max_paths: int = DEFAULT_MAX_PATHS,
    assumed_severity: Level = "high",
    catalog: Catalog | None = None,
    registry: Registry | None = None,
    created_at: str | None = None,
) -> ThreatModel:
    """The design-time threat model of a pipeline under policies. No detector runs, no data is read.

    Parameters
    ----------
    pipeline, policies
        Paths to the YAML documents, or documents already loaded; no policy at all is allowed
        (everything is then a gap).
    max_paths
        How many attack paths the document details, riskiest first.
    assumed_severity
        The severity of techniques no requirement addresses (nobody has said how bad they are;
        ``high`` by default, so that an unaddressed realized technique reaches the default gate).

    Raises
    ------
    riskframe.errors.DocumentError
        Invalid documents, every problem of the first bad file located.

    Examples
    --------
    >>> model = build_threat_model("examples/poisoned-digits/pipeline.yaml", ["policies/data-poisoning.yaml"])
    >>> model.paths[0].stages
    ['ingest', 'prepare', 'train', 'evaluate', 'deploy']
    >>> model.paths[0].tactics[0], model.paths[0].tactics[-1]
    ('Initial Access', 'Impact')
    """
    from riskframe.threat.document import compose

    with gc_paused():
        inputs = load(pipeline, policies, controls_dirs, catalog, registry)
        analysis = analyse(inputs, assumed_severity)
        created_at = created_at or datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        return compose(analysis, max_paths, created_at)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a threat model is built.

    A large pipeline allocates a few hundred thousand long-lived objects (plan runs, stage entries)
    and no cycles worth collecting; each collection the allocations trigger walks all of them, which
    made building a 2,000-stage model four times slower. Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load(pipeline: Pipeline | PathLike, policies: Sequence[Policy | PathLike], controls_dirs: Sequence[PathLike] = (),
         catalog: Catalog | None = None, registry: Registry | None = None) -> Inputs:
    """The resolved inputs, as an assessment loads them; with no policy, the pipeline alone."""
    if policies:
        return load_inputs(pipeline, policies, controls_dirs=controls_dirs, catalog=catalog, registry=registry)
    from riskframe.catalog import load_catalog
    from riskframe.detectors.registry import default_registry

    resolved, graph = resolve_pipeline(pipeline)
    return Inputs(resolved, [], load_all_controls(controls_dirs), graph, catalog or load_catalog(),
                  registry or default_registry())


def analyse(inputs: Inputs, assumed_severity: Level = "high") -> Analysis:
    """Applicability, coverage and design-time risk of every stage."""
    pipeline, catalog = inputs.pipeline, inputs.catalog
    model = inputs.risk_model  # the policies' risk: section, as an assessment would use it
    plan = plan_runs(pipeline, inputs.graph, inputs.policies, inputs.controls, catalog, inputs.registry,
                     inputs.params)
    applicable = applicable_techniques(pipeline, catalog)
    covers = stage_covers(plan.runs, catalog, qualify=len(inputs.policies) > 1)
    _add_policy_reasons(applicable, covers)
    addressed = addressed_techniques(inputs.policies, inputs.controls, catalog)
    techniques = {t for found in applicable.values() for t in found}
    severity = {t: worst_severity(addressed.get(t, ())) or assumed_severity for t in techniques}
    terms = _terms(inputs, model, applicable, covers, severity)
    curves = {name: StageCurve(stage_terms) for name, stage_terms in terms.items()}
    order = {s.name: i for i, s in enumerate(pipeline.stages)}
    topo = tuple(topological_stages(inputs.graph, key=order.__getitem__))
    graph = StageGraph(topo, {n: list(inputs.graph.predecessors(n)) for n in topo},
                       {n: list(inputs.graph.successors(n)) for n in topo})
    untrusted = [s.name for s in pipeline.stages if s.trust == "untrusted"]
    scores = score_stages(topo, graph.predecessors, untrusted, curves, model)
    return Analysis(inputs, model, applicable, covers, addressed, severity, terms, curves, graph, scores,
                    [NotAssessed(**vars(u)) for u in plan.unplanned], assumed_severity)


def _add_policy_reasons(applicable: dict[str, Applicability], covers: Mapping[str, StageCoverage]) -> None:
    """A technique a control checks for at a stage applies there: the policy's author said so."""
    texts: dict[tuple[str, ...], list[Reason]] = {}  # shared: the same controls give the same reason
    for stage, coverage in covers.items():
        found = applicable[stage]
        for technique_id, controls in coverage.techniques.items():
            if technique_id not in found:
                key = tuple(controls)
                if key not in texts:
                    texts[key] = [Reason(source="policy", text=f"the policy checks for it here with {', '.join(key)}")]
                found[technique_id] = texts[key]


def _terms(inputs: Inputs, model: RiskModel, applicable: Mapping[str, Applicability],
           covers: Mapping[str, StageCoverage], severity: Mapping[str, str]) -> dict[str, list[Term]]:
    catalog = inputs.catalog
    factor = model.criticality_factor[inputs.pipeline.metadata.criticality]
    cache: dict[tuple[str, tuple[str, ...]], Term] = {}  # equal terms are shared across stages
    out: dict[str, list[Term]] = {}
    for stage, found in applicable.items():
        coverage = covers.get(stage, StageCoverage())
        terms = []
        for technique_id in found:
            controls = tuple(coverage.techniques.get(technique_id, ()))
            key = (technique_id, controls)
            if key not in cache:
                technique = catalog.technique(technique_id)
                cache[key] = Term(technique_id, maturity_prior([technique.maturity if technique else None], model),
                                  model.severity_impact[severity[technique_id]] * factor,
                                  remaining_after((coverage.controls[c].effectiveness for c in controls), model))
            terms.append(cache[key])
        out[stage] = terms
    return out
