"""The plan: which (stage, requirement, control) runs an assessment makes, in topological order.

A control applies at a stage when the stage's kind is one of the control's stage kinds (its own,
or its mitigations' ATLAS lifecycle), the requirement's scope admits the stage, and the stage has
an artifact for the detector's primary role. The detector runs once per such artifact (the
``files`` role binds every artifact of the stage in one run). Requirements that apply nowhere are
reported, not dropped. A detector with ``binds_training_data = True`` also gets the bound model's
training data (the model's ``of:``) as a second ``dataset``.

A detector that takes a ``model`` (required or optional) runs once per model of the nearest stage
that has models: the stage itself, else its nearest ancestor by graph distance (all models of the
stages at that distance, when several tie). Every model is examined, and a model the detector
cannot read (an ONNX export for a TorchScript-only detector) is its own ``not_applicable`` result.
Such a run's id names both artifacts, ``<requirement>/<stage>/<control>/<primary>+<model>``, and
always names the model, so adding a second model to a pipeline renames no existing run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import networkx as nx

from riskframe.catalog.store import Catalog
from riskframe.data.text import is_text_dataset
from riskframe.detectors.base import DetectorClass, DetectorParams
from riskframe.detectors.registry import Registry
from riskframe.spec.check import control_stage_kinds
from riskframe.spec.control import Control
from riskframe.spec.graph import topological_stages
from riskframe.spec.pipeline import Artifact, Pipeline, Stage
from riskframe.spec.policy import ControlRef, Policy, Requirement


@dataclass(frozen=True)
class PlannedRun:
    id: str
    policy: Policy
    requirement: Requirement
    control: Control
    detector: DetectorClass
    params: DetectorParams
    stage: Stage
    bindings: Mapping[str, tuple[Artifact, ...]]
    primary: Artifact | None

    @property
    def model(self) -> Artifact | None:
        """The model bound beside the primary artifact (the id names it after the primary), if any."""
        return _bound_model(self.primary, self.bindings) if self.primary else None

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
              controls: Mapping[str, Control], catalog: Catalog, registry: Registry,
              params: Mapping[tuple[str, str], DetectorParams]) -> Plan:
    """Every run of the assessment, stages in topological order (ties in pipeline order).

    ``params`` are the validated parameters of each (requirement id, control id), as
    :func:`riskframe.spec.resolved.load_inputs` resolved them (:attr:`Inputs.params`)."""
    order = {s.name: i for i, s in enumerate(pipeline.stages)}
    stages = [pipeline.stage(n) for n in topological_stages(graph, key=order.__getitem__)]
    runs: list[PlannedRun] = []
    unplanned: list[Unplanned] = []
    cache = _Cache()  # shared by every requirement: a 1,000-requirement policy looks each thing up once
    for policy in policies:
        for requirement in policy.requirements:
            for ref in requirement.controls:
                found = _runs_for(policy, requirement, ref, params[(requirement.id, ref.control)], stages,
                                  pipeline, graph, controls, catalog, registry, cache)
                if isinstance(found, Unplanned):
                    unplanned.append(found)
                else:
                    runs.extend(found)
    runs.sort(key=lambda r: order[r.stage.name])  # stable: policy order within a stage
    shared = [run_id for run_id, n in Counter(r.id for r in runs).items() if n > 1]
    if shared:  # load_inputs refuses the policies that cause this; results must never merge silently
        raise ValueError(f"{len(shared)} run id(s) shared by several runs, e.g. {shared[0]!r}: a requirement id in two "
                         "policies, or a control used twice by one requirement")
    return Plan(runs, unplanned)


def _runs_for(policy: Policy, requirement: Requirement, ref: ControlRef, params: DetectorParams, stages: list[Stage],
              pipeline: Pipeline, graph: nx.DiGraph, controls: Mapping[str, Control],
              catalog: Catalog, registry: Registry, cache: _Cache | None = None) -> list[PlannedRun] | Unplanned:
    control = controls[ref.control]
    detector = registry[control.detector]
    kinds = control_stage_kinds(control, catalog)
    cache = cache or _Cache()
    named = set(requirement.scope.stages)  # a scope naming stages: only those are looked at
    if named:
        candidates = [s for s in stages if s.name in named and s.kind in kinds]
    else:
        if kinds not in cache.of_kinds:
            cache.of_kinds[kinds] = [s for s in stages if s.kind in kinds]
        candidates = cache.of_kinds[kinds]
    eligible = [s for s in candidates if _in_scope(requirement, s)]
    runs = []
    for stage in eligible:
        key = (detector.name, stage.name)
        if key not in cache.bindings:
            cache.bindings[key] = _bindings(detector, stage, pipeline, graph)
        for primary, bindings in cache.bindings[key]:
            parts = [requirement.id, stage.name, control.id] + ([_bound_names(primary, bindings)] if primary else [])
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


_Binding = tuple[Artifact | None, dict[str, tuple[Artifact, ...]]]


@dataclass
class _Cache:
    """Look-ups a plan's requirements share: bindings by (detector, stage), stages by stage kinds."""

    bindings: dict[tuple[str, str], list[_Binding]] = field(default_factory=dict)
    of_kinds: dict[tuple[str, ...], list[Stage]] = field(default_factory=dict)


def _bindings(detector: DetectorClass, stage: Stage, pipeline: Pipeline,
              graph: nx.DiGraph) -> list[_Binding]:
    primary_role = detector.requires[0]
    if primary_role == "files":
        return [(None, {"files": tuple(stage.artifacts)})] if stage.artifacts else []
    companions = [role for role in (*detector.requires[1:], *detector.optional) if role != primary_role]
    models: list[Artifact | None] = [None]
    if "model" in companions:
        companions.remove("model")
        models = [*nearest_upstream("model", stage.name, pipeline, graph)] or [None]
    out: list[_Binding] = []
    for primary in (a for a in stage.artifacts if a.type == primary_role and takes(detector, a)):
        shared: dict[str, tuple[Artifact, ...]] = {primary_role: (primary,)}
        for role in companions:
            found = _companion(role, primary, stage, pipeline, graph, detector)
            if found is not None:
                shared[role] = (found,)
        for model in models:
            bindings = {**shared, "model": (model,)} if model is not None else dict(shared)
            if getattr(detector, "binds_training_data", False):
                _bind_training_data(bindings, primary, pipeline)
            if all(role in bindings for role in detector.requires):
                out.append((primary, bindings))
    return out


def takes(detector: DetectorClass, artifact: Artifact) -> bool:
    """Whether ``detector`` reads ``artifact``: a dataset only of its ``dataset_kind`` (a text corpus
    is no array dataset, nor the other way round); any artifact of another type."""
    return artifact.type != "dataset" or is_text_dataset(artifact) == (detector.dataset_kind == "text")


def _bound_names(primary: Artifact, bindings: Mapping[str, tuple[Artifact, ...]]) -> str:
    """The id part naming what a run examines: ``test``, or ``test+model`` when a model is bound."""
    model = _bound_model(primary, bindings)
    return f"{primary.name}+{model.name}" if model else primary.name


def _bound_model(primary: Artifact, bindings: Mapping[str, tuple[Artifact, ...]]) -> Artifact | None:
    model = bindings.get("model")
    return model[0] if model and model[0] is not primary else None


def nearest_upstream(kind: str, stage: str, pipeline: Pipeline, graph: nx.DiGraph,
                     keep: Callable[[Artifact], bool] | None = None) -> list[Artifact]:
    """The ``kind`` artifacts of the nearest stage at or upstream of ``stage`` that has any.

    Nearest by graph distance (``stage`` itself is at 0); stages tied at that distance all count,
    in pipeline order. Empty when no stage at or upstream of ``stage`` declares one. ``keep``
    narrows which artifacts count (a detector's dataset kind).

    Examples
    --------
    >>> [m.name for m in nearest_upstream("model", "evaluate", pipeline, graph)]  # doctest: +SKIP
    ['model-onnx', 'model']
    """
    distance = nx.single_source_shortest_path_length(graph.reverse(copy=False), stage)
    def counts(a: Artifact) -> bool:
        return a.type == kind and (keep is None or keep(a))

    holding = [s for s in pipeline.stages if s.name in distance and any(counts(a) for a in s.artifacts)]
    if not holding:
        return []
    nearest = min(distance[s.name] for s in holding)
    return [a for s in holding if distance[s.name] == nearest for a in s.artifacts if counts(a)]


def _bind_training_data(bindings: dict[str, tuple[Artifact, ...]], primary: Artifact, pipeline: Pipeline) -> None:
    """Bind the model's training data (its ``of:``) as the second ``dataset``, after the primary.

    Detectors that evaluate a model on held-out data and also need what it was trained on (to
    retrain it, or to find the training samples that carry a trigger) set ``binds_training_data``.
    """
    model = bindings.get("model")
    found = pipeline.artifact_index.get(model[0].of) if model and model[0].of else None
    if found is not None and found.type == "dataset" and found.name != primary.name and "dataset" in bindings:
        bindings["dataset"] = (*bindings["dataset"], found)


def _companion(role: str, primary: Artifact, stage: Stage, pipeline: Pipeline,
               graph: nx.DiGraph, detector: DetectorClass) -> Artifact | None:
    """The artifact that goes with ``primary`` for ``role`` (models aside: every nearest one gets
    its own run): representations ``of`` it, the dataset representations are ``of``, or the first
    artifact of the role at the nearest stage at or upstream of the stage."""
    if role == "files":
        return None
    if role == "representations":
        return next((a for a in pipeline.derived_from.get(primary.name, ()) if a.type == role), None)
    if role == "dataset" and primary.of:
        found = pipeline.artifact_index.get(primary.of)
        return found if found is not None and takes(detector, found) else None
    return next(iter(nearest_upstream(role, stage.name, pipeline, graph, partial(takes, detector))), None)
