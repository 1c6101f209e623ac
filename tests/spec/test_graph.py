"""The stage graph: located errors for missing stages and cycles; properties over random DAGs."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe.errors import DocumentError
from riskframe.spec import load_pipeline
from riskframe.spec.graph import build_stage_graph, topological_stages
from riskframe.spec.pipeline import Pipeline


def pipeline_file(tmp_path, stages):
    lines = ["apiVersion: riskframe/v1", "kind: Pipeline", "metadata: {name: g}", "stages:"]
    for name, needs in stages:
        lines += [f"  - name: {name}", "    kind: data-preparation", f"    needs: [{', '.join(needs)}]"]
    path = tmp_path / "p.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_edges_run_from_needed_to_needing(tmp_path):
    graph = build_stage_graph(load_pipeline(pipeline_file(tmp_path, [("a", []), ("b", ["a"]), ("c", ["a", "b"])])))
    assert sorted(graph.edges) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert topological_stages(graph) == ["a", "b", "c"]


def test_needs_naming_a_missing_stage(tmp_path):
    path = pipeline_file(tmp_path, [("ingest", []), ("train", ["injest"])])
    with pytest.raises(DocumentError) as info:
        build_stage_graph(load_pipeline(path))
    assert str(info.value) == f"{path}:10:13: stages[1].needs[0]: no stage named 'injest' (did you mean 'ingest'?)"


def test_a_cycle_is_a_located_error_naming_the_cycle(tmp_path):
    path = pipeline_file(tmp_path, [("a", ["c"]), ("b", ["a"]), ("c", ["b"])])
    with pytest.raises(DocumentError) as info:
        build_stage_graph(load_pipeline(path))
    message = str(info.value)
    assert message.startswith(f"{path}:")
    assert "stages form a cycle: " in message
    cycle = message.split("stages form a cycle: ")[1].split(" -> ")
    assert cycle[0] == cycle[-1] and sorted(cycle[:-1]) == ["a", "b", "c"]


def test_self_loop_is_a_cycle(tmp_path):
    path = pipeline_file(tmp_path, [("a", ["a"])])
    with pytest.raises(DocumentError, match=r"stages form a cycle: a -> a"):
        build_stage_graph(load_pipeline(path))


def _pipeline(edges: dict[int, list[int]], n: int) -> Pipeline:
    return Pipeline.model_validate({
        "apiVersion": "riskframe/v1", "kind": "Pipeline", "metadata": {"name": "h"},
        "stages": [{"name": f"s{i}", "kind": "data-preparation", "needs": [f"s{j}" for j in edges.get(i, [])]}
                   for i in range(n)]})


@st.composite
def dags(draw):
    n = draw(st.integers(1, 12))
    edges = {i: sorted(draw(st.sets(st.integers(0, i - 1), max_size=3))) if i else [] for i in range(n)}
    return n, edges


@settings(max_examples=60, deadline=None)
@given(dags())
def test_any_acyclic_graph_builds_and_orders(dag):
    n, edges = dag
    graph = build_stage_graph(_pipeline(edges, n))
    order = topological_stages(graph)
    assert sorted(order) == sorted(f"s{i}" for i in range(n))
    position = {name: k for k, name in enumerate(order)}
    assert all(position[u] < position[v] for u, v in graph.edges)


@settings(max_examples=60, deadline=None)
@given(dags(), st.data())
def test_any_back_edge_is_reported_as_a_cycle(dag, data):
    n, edges = dag
    candidates = [(i, j) for i in range(n) for j in edges[i]]
    if not candidates:
        return
    i, j = data.draw(st.sampled_from(candidates))
    # s_i needs s_j; making s_j need s_i closes a cycle
    edges = {k: list(v) for k, v in edges.items()}
    edges[j] = [*edges[j], i]
    with pytest.raises(DocumentError, match="stages form a cycle"):
        build_stage_graph(_pipeline(edges, n))
    assert not nx.is_directed_acyclic_graph(nx.DiGraph([(f"s{b}", f"s{a}") for a in edges for b in edges[a]]))
