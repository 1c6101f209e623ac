"""Check a document's references against the catalogs, the detector registry and the controls.

Loading (:mod:`riskframe.spec.load`) checks each file's shape; resolving checks what the file
names: ATLAS and NIST ids, detectors, controls, parameters, stages and artifacts. Every problem
of a file is reported at once, located at the field that names the unknown thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from riskframe.catalog.store import Catalog
from riskframe.detectors.base import DetectorParams
from riskframe.detectors.registry import Registry
from riskframe.errors import DocumentError, Problem
from riskframe.spec.bound_waivers import policy_waivers, reference_problems
from riskframe.spec.common import ATLAS_LIFECYCLE_TO_STAGE_KIND, STAGE_KINDS
from riskframe.spec.control import Control
from riskframe.spec.pipeline import Pipeline
from riskframe.spec.policy import ControlRef, Policy
from riskframe.spec.validation import did_you_mean, problems_from
from riskframe.spec.yaml_source import Loc, SourceMap

# The validated parameters of every use of a control by a policy: (requirement id, control id) ->
# the control's defaults with the policy's overrides, validated once here for the planner.
ParamsTable = dict[tuple[str, str], DetectorParams]


def raise_if(problems: Sequence[Problem]) -> None:
    if problems:
        raise DocumentError(problems)


def check_control(control: Control, catalog: Catalog, registry: Registry) -> list[Problem]:
    src = control.source
    problems = _atlas_problems(src, ("atlas", "detects"), control.atlas.detects, catalog, "technique")
    problems += _atlas_problems(src, ("atlas", "mitigates"), control.atlas.mitigates, catalog, "mitigation")
    problems += _nist_problems(src, ("nist",), control.nist, catalog)
    detector = registry.get(control.detector)
    if detector is None:
        hint = did_you_mean(control.detector, registry)
        problems.append(src.problem(("detector",), f"unknown detector {control.detector!r}{hint}; "
                                    f"registered: {', '.join(registry)}", control.detector))
    else:
        problems += _params_problems(detector.Params, control.with_, src, ("with",))
    return problems


def check_policy(policy: Policy, controls: Mapping[str, Control], catalog: Catalog,
                 registry: Registry, params: ParamsTable | None = None) -> list[Problem]:
    """Every problem of ``policy``'s references, located; ``params``, when given, receives the
    validated parameters of each of its uses of a control (those without problems)."""
    src, problems = policy.source, []
    seen: dict[str, int] = {}
    for i, req in enumerate(policy.requirements):
        at: Loc = ("requirements", i)
        if req.id in seen:
            problems.append(src.problem((*at, "id"), f"requirement id {req.id!r} is already used by "
                                        f"requirements[{seen[req.id]}]", req.id))
        seen.setdefault(req.id, i)
        problems += _atlas_problems(src, (*at, "threats"), req.threats, catalog, "technique")
        problems += _nist_problems(src, (*at, "nist"), req.nist, catalog)
        used: dict[str, int] = {}
        for j, ref in enumerate(req.controls):
            if ref.control in used:  # its runs would share one id, and one result would stand for both
                problems.append(src.problem((*at, "controls", j, "control"), (
                    f"control {ref.control!r} is already used by this requirement at controls[{used[ref.control]}]; "
                    "a requirement uses a control once (set its parameters in one `with:`, or use the control in "
                    "another requirement)"), ref.control))
            used.setdefault(ref.control, j)
            found, validated = _control_ref_problems(src, (*at, "controls", j), ref, controls, registry)
            problems += found
            if params is not None and validated is not None:
                params[(req.id, ref.control)] = validated
    # Dates are checked against the assessment's day, where there is one: waivers.date_problems.
    problems += reference_problems(policy_waivers(policy), [policy])
    return problems


def shared_requirement_problems(policies: Sequence[Policy]) -> list[Problem]:
    """A requirement id defined by two of an assessment's policies (or one policy given twice): its
    results would share ids, so which policy a result answers to would be lost."""
    problems: list[Problem] = []
    owner: dict[str, str] = {}
    for policy in policies:
        for i, req in enumerate(policy.requirements):
            if req.id in owner:
                problems.append(policy.source.problem(("requirements", i, "id"), (
                    f"requirement id {req.id!r} is already used by policy {owner[req.id]!r}; the policies of one "
                    "assessment need distinct requirement ids (rename one, or assess with only the policy that "
                    "extends the other)"),
                    req.id))
            owner.setdefault(req.id, policy.metadata.name)
    return problems


def scope_problems(policy: Policy, pipeline: Pipeline) -> list[Problem]:
    """Stage names in requirements' ``scope.stages`` that the pipeline does not have: a misspelt
    name would otherwise drop its stage from the requirement without a word."""
    stages = [s.name for s in pipeline.stages]
    problems = []
    for i, req in enumerate(policy.requirements):
        for j, name in enumerate(req.scope.stages):
            if name not in stages:
                problems.append(policy.source.problem(("requirements", i, "scope", "stages", j), (
                    f"no stage {name!r} in pipeline {pipeline.metadata.name!r}{did_you_mean(name, stages)}"), name))
    return problems


def check_pipeline(pipeline: Pipeline) -> list[Problem]:
    """Unique stage and artifact names, ``of:`` naming a dataset. (``needs`` and cycles are
    checked where the stage graph is built: :func:`riskframe.spec.graph.build_stage_graph`.)"""
    src, problems = pipeline.source, []
    stages: set[str] = set()
    artifacts: dict[str, str] = {}
    for i, stage in enumerate(pipeline.stages):
        if stage.name in stages:
            problems.append(src.problem(("stages", i, "name"), f"stage {stage.name!r} is defined twice", stage.name))
        stages.add(stage.name)
        for j, artifact in enumerate(stage.artifacts):
            if artifact.name in artifacts:
                problems.append(src.problem(("stages", i, "artifacts", j, "name"),
                                            f"artifact {artifact.name!r} is already defined in stage "
                                            f"{artifacts[artifact.name]!r}", artifact.name))
            artifacts.setdefault(artifact.name, stage.name)
    datasets = {a.name for _, a in pipeline.artifacts() if a.type == "dataset"}
    for i, stage in enumerate(pipeline.stages):
        for j, artifact in enumerate(stage.artifacts):
            if artifact.of is not None and artifact.of not in datasets:
                hint = did_you_mean(artifact.of, datasets)
                problems.append(src.problem(("stages", i, "artifacts", j, "of"),
                                            f"no dataset artifact named {artifact.of!r}{hint}", artifact.of))
    return problems


def control_stage_kinds(control: Control, catalog: Catalog) -> tuple[str, ...]:
    """Where a control runs: its ``stage_kinds``, else the ATLAS lifecycle of its mitigations,
    else every stage kind."""
    if control.stage_kinds:
        return tuple(control.stage_kinds)
    kinds = {k for m in control.atlas.mitigates if (mit := catalog.mitigation(m)) for k in mit.lifecycle}
    return tuple(k for k in STAGE_KINDS if k in kinds) or STAGE_KINDS


def _control_ref_problems(src: SourceMap, at: Loc, ref: ControlRef, controls: Mapping[str, Control],
                          registry: Registry) -> tuple[list[Problem], DetectorParams | None]:
    """The problems of one use of a control, or its parameters: the control's defaults, then the
    policy's overrides, validated."""
    control = controls.get(ref.control)
    if control is None:
        hint = did_you_mean(ref.control, controls)
        return [src.problem((*at, "control"), f"unknown control {ref.control!r}{hint}", ref.control)], None
    detector = registry.get(control.detector)
    if detector is None:  # reported against the control's own file by check_control
        return [], None
    merged = {**control.with_, **ref.with_}
    try:
        return [], detector.Params.model_validate(merged)
    except ValidationError as exc:
        problems = problems_from(exc, detector.Params, src, (*at, "with"))
        return [_blame_override(p, ref, at, src) for p in problems], None


def _blame_override(problem: Problem, ref: ControlRef, at: Loc, src: SourceMap) -> Problem:
    # An error on a parameter the policy did not override belongs to the control's defaults.
    key = problem.field.rsplit(".", 1)[-1]
    if key in ref.with_ or not ref.with_:
        return problem
    return src.problem((*at, "with"), f"{key}: {problem.message}", problem.value)


def _params_problems(params: type[DetectorParams], values: dict[str, Any], src: SourceMap, at: Loc) -> list[Problem]:
    try:
        params.model_validate(values)
    except ValidationError as exc:
        return problems_from(exc, params, src, at)
    return []


def _atlas_problems(src: SourceMap, at: Loc, ids: Iterable[str], catalog: Catalog, kind: str) -> list[Problem]:
    return [src.problem((*at, i), message, entry)
            for i, entry in enumerate(ids) if (message := catalog.atlas_problem(entry, kind))]


def _nist_problems(src: SourceMap, at: Loc, ids: Iterable[str], catalog: Catalog) -> list[Problem]:
    return [src.problem((*at, i), message, entry)
            for i, entry in enumerate(ids) if (message := catalog.nist_problem(entry))]


__all__ = ["ATLAS_LIFECYCLE_TO_STAGE_KIND", "check_control", "check_pipeline", "check_policy",
           "control_stage_kinds", "raise_if"]
