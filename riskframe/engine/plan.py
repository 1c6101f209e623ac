"""The plan: which (stage, requirement, control) runs an assessment makes, in topological order.

A control applies at a stage when the stage's kind is one of the control's stage kinds (its own,
or its mitigations' ATLAS lifecycle), the requirement's scope admits the stage, and the stage has
an artifact for the detector's primary role. The detector runs once per such artifact (the
``files`` role binds every artifact of the stage in one run). Requirements that apply nowhere are
reported, not dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

from riskframe.catalog.store import Catalog
from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.registry import Registry
from riskframe.engine.graph import topological_stages
from riskframe.spec.control import Control
from riskframe.spec.pipeline import Artifact, Pipeline, Stage
from riskframe.spec.policy import ControlRef, Policy, Requirement
from riskframe.spec.resolve import control_stage_kinds, effective_params


@dataclass(frozen=True)
class PlannedRun:
    id: str
    policy: Policy
    requirement: Requirement
    control: Control
    detector: type[Detector]
    params: DetectorParams
    stage: Stage
    bindings: Mapping[str, tuple[Artifact, ...]]
    primary: Artifact | None

    @property
    def techniques(self) -> list[str]:
        """ATLAS techniques the run addresses: the requirement's threats, then the control's."""
        return list(dict.fromkeys([*self.requirement.threats, *self.control.atlas.detects]))

    @property
    def nist(self) -> list[str]:
        return list(dict.fromkeys([*self.requirement.nist, *self.control.nist]))


@dataclass(frozen=True)
class Unplanned:
    """A (requirement, control) pair that applies to no stage of the pipeline, and why."""

    policy: str
    requirement: str
    control: str
    reason: str


@dataclass(frozen=True)
class Plan:
    runs: list[PlannedRun]
    unplanned: list[Unplanned]


def plan_runs(pipeline: Pipeline, graph: nx.DiGraph, policies: Sequence[Policy],
              controls: Mapping[str, Control], catalog: Catalog, registry: Registry) -> Plan:
    """Every run of the assessment, stages in topological order (ties in pipeline order)."""
    order = {s.name: i for i, s in enumerate(pipeline.stages)}
    stages = [pipeline.stage(n) for n in topological_stages(graph, key=order.__getitem__)]
    runs: list[PlannedRun] = []
    unplanned: list[Unplanned] = []
    for policy in policies:
        for requirement in policy.requirements:
            for ref in requirement.controls:
                found = _runs_for(policy, requirement, ref, stages, pipeline, graph, controls, catalog, registry)
                if isinstance(found, Unplanned):
                    unplanned.append(found)
                else:
                    runs.extend(found)
    runs.sort(key=lambda r: order[r.stage.name])  # stable: policy order within a stage
    return Plan(runs, unplanned)


def _runs_for(policy: Policy, requirement: Requirement, ref: ControlRef, stages: list[Stage],
              pipeline: Pipeline, graph: nx.DiGraph, controls: Mapping[str, Control],
              catalog: Catalog, registry: Registry) -> list[PlannedRun] | Unplanned:
    control = controls[ref.control]
    detector = registry[control.detector]
    params = effective_params(control, ref, registry)
    kinds = control_stage_kinds(control, catalog)
    eligible = [s for s in stages if s.kind in kinds and _in_scope(requirement, s)]
    runs = []
    for stage in eligible:
        for primary, bindings in _bindings(detector, stage, pipeline, graph):
            parts = [requirement.id, stage.name, control.id] + ([primary.name] if primary else [])
            runs.append(PlannedRun("/".join(parts), policy, requirement, control, detector, params,
                                   stage, bindings, primary))
    if runs:
        return runs
    role = detector.requires[0]
    where = ", ".join(kinds)
    reason = (f"no stage of kind {where} in scope" if not eligible
              else f"no {role} artifact at the eligible stages ({', '.join(s.name for s in eligible)})")
    return Unplanned(policy.metadata.name, requirement.id, control.id, reason)


def _in_scope(requirement: Requirement, stage: Stage) -> bool:
    scope = requirement.scope
    return ((not scope.stages or stage.name in scope.stages)
            and (not scope.kinds or stage.kind in scope.kinds)
            and (scope.trust is None or stage.trust == scope.trust))


def _bindings(detector: type[Detector], stage: Stage, pipeline: Pipeline,
              graph: nx.DiGraph) -> list[tuple[Artifact | None, dict[str, tuple[Artifact, ...]]]]:
    primary_role = detector.requires[0]
    if primary_role == "files":
        return [(None, {"files": tuple(stage.artifacts)})] if stage.artifacts else []
    out = []
    for primary in (a for a in stage.artifacts if a.type == primary_role):
        bindings: dict[str, tuple[Artifact, ...]] = {primary_role: (primary,)}
        for role in (*detector.requires[1:], *detector.optional):
            found = _companion(role, primary, stage, pipeline, graph)
            if found is not None:
                bindings[role] = (found,)
        if all(role in bindings for role in detector.requires):
            out.append((primary, bindings))
    return out


def _companion(role: str, primary: Artifact, stage: Stage, pipeline: Pipeline,
               graph: nx.DiGraph) -> Artifact | None:
    """The artifact that goes with ``primary`` for ``role``: representations ``of`` it, the dataset
    representations are ``of``, or the nearest model at or upstream of the stage."""
    everything = [a for _, a in pipeline.artifacts()]
    if role == "files":
        return None
    if role == "representations":
        return next((a for a in everything if a.type == role and a.of == primary.name), None)
    if role == "dataset" and primary.of:
        return next((a for a in everything if a.name == primary.of), None)
    nearby = [stage.name, *sorted(graph.predecessors(stage.name))]
    for name in nearby:
        match = next((a for a in pipeline.stage(name).artifacts if a.type == role), None)
        if match is not None:
            return match
    return None
