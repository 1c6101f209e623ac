"""The pipeline's stage graph: a networkx DiGraph with an edge from each needed stage to the
stage that needs it.

>>> from riskframe.spec.graph import build_stage_graph
>>> graph = build_stage_graph(pipeline)  # doctest: +SKIP
>>> list(nx.topological_sort(graph))  # doctest: +SKIP
['ingest', 'prepare', 'train']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import networkx as nx

from riskframe.errors import DocumentError, Problem
from riskframe.spec.pipeline import Pipeline
from riskframe.spec.validation import did_you_mean


def build_stage_graph(pipeline: Pipeline) -> nx.DiGraph:
    """Nodes are stage names (attribute ``stage``: the Stage model); edges run upstream -> downstream.

    Raises
    ------
    DocumentError
        A ``needs`` entry names no stage (with a suggestion), or the stages form a cycle (located
        at the ``needs`` entry that closes it, with the whole cycle in the message).
    """
    src = pipeline.source
    graph = nx.DiGraph()
    for stage in pipeline.stages:
        graph.add_node(stage.name, stage=stage)
    problems: list[Problem] = []
    where: dict[tuple[str, str], tuple[int, int]] = {}
    for i, stage in enumerate(pipeline.stages):
        for j, needed in enumerate(stage.needs):
            if needed not in graph:
                problems.append(src.problem(("stages", i, "needs", j),
                                            f"no stage named {needed!r}{did_you_mean(needed, graph.nodes)}", needed))
            else:
                graph.add_edge(needed, stage.name)
                where[(needed, stage.name)] = (i, j)
    if problems:
        raise DocumentError(problems)
    if nx.is_directed_acyclic_graph(graph):  # a topological sort: 7x cheaper than searching for a cycle
        return graph
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return graph
    i, j = where[cycle[-1]]
    names = [u for u, _ in cycle] + [cycle[0][0]]
    raise DocumentError([src.problem(("stages", i, "needs", j),
                                     f"stages form a cycle: {' -> '.join(names)}", cycle[-1][0])])


def topological_stages(graph: nx.DiGraph, key: Callable[[str], Any] | None = None) -> list[str]:
    """Stages in dependency order; ties broken by ``key`` (default: the name), so plans are
    deterministic."""
    return list(nx.lexicographical_topological_sort(graph, key=key))


def upstream(graph: nx.DiGraph, stage: str) -> set[str]:
    return set(nx.ancestors(graph, stage))
