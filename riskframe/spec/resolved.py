"""Load and resolve everything an assessment reads, stopping at the first file with problems
(all of that file's problems reported at once)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

import networkx as nx

from riskframe.catalog.store import Catalog, load_catalog
from riskframe.detectors.base import DetectorParams
from riskframe.detectors.registry import Registry, default_registry
from riskframe.errors import DocumentError
from riskframe.io.resources import bundled_dir
from riskframe.scoring import DEFAULT_MODEL, RiskModel
from riskframe.spec.bound_waivers import BoundWaiver, date_problems, file_waivers, policy_waivers, reference_problems
from riskframe.spec.check import (
    ParamsTable,
    check_control,
    check_pipeline,
    check_policy,
    raise_if,
    scope_problems,
    shared_requirement_problems,
)
from riskframe.spec.control import Control
from riskframe.spec.graph import build_stage_graph
from riskframe.spec.inherit import risk_model_of
from riskframe.spec.load import control_files, load_controls, load_pipeline, load_waivers, resolve_policy
from riskframe.spec.pipeline import Pipeline
from riskframe.spec.policy import Policy
from riskframe.spec.waivers import WaiverSet

PathLike = str | Path


@dataclass(frozen=True)
class Inputs:
    """A resolved assessment's inputs: every reference in them is known to be valid."""

    pipeline: Pipeline
    policies: list[Policy]
    controls: dict[str, Control]
    graph: nx.DiGraph
    catalog: Catalog
    registry: Registry
    waiver_sets: list[WaiverSet] = field(default_factory=list)
    risk_model: RiskModel = DEFAULT_MODEL
    today: date = field(default_factory=date.today)
    # Each use of a control by a requirement: its parameters, validated once by the policy check.
    params: Mapping[tuple[str, str], DetectorParams] = field(default_factory=dict)

    @cached_property  # computed once, so that results can refer to a waiver by identity
    def waivers(self) -> list[BoundWaiver]:
        """The policies' own waivers, then those of the waiver files."""
        return ([w for p in self.policies for w in policy_waivers(p)]
                + [w for s in self.waiver_sets for w in file_waivers(s)])

    def used_controls(self) -> list[Control]:
        """The controls the policies use, in first-use order (unknown ids are the policy check's)."""
        ids = dict.fromkeys(ref.control for p in self.policies for r in p.requirements for ref in r.controls)
        return [self.controls[i] for i in ids if i in self.controls]


def load_all_controls(extra_dirs: Sequence[PathLike] = ()) -> dict[str, Control]:
    """The bundled controls plus those in ``extra_dirs``, by id (shape checked; references are
    checked for the controls a policy uses, see :func:`load_inputs`)."""
    return load_controls(control_files([bundled_dir("controls"), *map(Path, extra_dirs)]))


def resolve_pipeline(pipeline: Pipeline | PathLike) -> tuple[Pipeline, nx.DiGraph]:
    pipeline = pipeline if isinstance(pipeline, Pipeline) else load_pipeline(pipeline)
    raise_if(check_pipeline(pipeline))
    return pipeline, build_stage_graph(pipeline)


def load_inputs(pipeline: Pipeline | PathLike, policies: Sequence[Policy | PathLike], *,
                controls_dirs: Sequence[PathLike] = (), catalog: Catalog | None = None,
                registry: Registry | None = None, waivers: Sequence[WaiverSet | PathLike] = (),
                today: date | None = None) -> Inputs:
    """Load, validate and resolve the pipeline, the policies (``extends:`` resolved; a policy may be
    named by its bundled name), the controls they use and the waivers (``today`` is the
    assessment's date, for their expiry).

    Raises
    ------
    DocumentError
        The first file with problems, all its problems located.
    """
    if not policies:
        raise DocumentError.single("<command line>", "at least one policy is needed (--policy FILE)")
    catalog = catalog or load_catalog()
    registry = registry or default_registry()
    controls = load_all_controls(controls_dirs)
    resolved_pipeline, graph = resolve_pipeline(pipeline)
    loaded = [p if isinstance(p, Policy) else resolve_policy(p) for p in policies]
    waiver_sets = [w if isinstance(w, WaiverSet) else load_waivers(w) for w in waivers]
    today = today or date.today()
    params: ParamsTable = {}
    inputs = Inputs(resolved_pipeline, loaded, controls, graph, catalog, registry, waiver_sets,
                    risk_model_of(loaded), today, params)
    # Controls first: a bad default in a control is reported against the control's file.
    for control in inputs.used_controls():
        raise_if(check_control(control, catalog, registry))
    for policy in loaded:
        raise_if(check_policy(policy, controls, catalog, registry, params) + scope_problems(policy, resolved_pipeline))
    raise_if(shared_requirement_problems(loaded))
    # Expired waivers are no input error here: the assessment reports them as not applied.
    groups = [(policy_waivers(p), [p]) for p in loaded] + [(file_waivers(s), loaded) for s in waiver_sets]
    for bound, owners in groups:
        raise_if(reference_problems(bound, owners, resolved_pipeline)
                 + date_problems(bound, owners, today, allow_expired=True))
    return inputs
