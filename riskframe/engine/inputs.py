"""Load and resolve everything an assessment reads, stopping at the first file with problems
(all of that file's problems reported at once)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from riskframe.catalog.store import Catalog, load_catalog
from riskframe.detectors.registry import Registry, default_registry
from riskframe.engine.graph import build_stage_graph
from riskframe.errors import DocumentError
from riskframe.resources import bundled_dir
from riskframe.spec.control import Control
from riskframe.spec.load import control_files, load_controls, load_pipeline, load_policy
from riskframe.spec.pipeline import Pipeline
from riskframe.spec.policy import Policy
from riskframe.spec.resolve import check_control, check_pipeline, check_policy, raise_if

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
                registry: Registry | None = None) -> Inputs:
    """Load, validate and resolve the pipeline, the policies and the controls they use.

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
    loaded = [p if isinstance(p, Policy) else load_policy(p) for p in policies]
    inputs = Inputs(resolved_pipeline, loaded, controls, graph, catalog, registry)
    # Controls first: a bad default in a control is reported against the control's file.
    for control in inputs.used_controls():
        raise_if(check_control(control, catalog, registry))
    for policy in loaded:
        raise_if(check_policy(policy, controls, catalog, registry))
    return inputs
