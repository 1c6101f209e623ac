"""Attack paths: a dynamic programme over the stage graph, checked against brute-force enumeration
on hand-built graphs and on hypothesis-generated DAGs."""

from __future__ import annotations

import math

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe.scoring import DEFAULT_MODEL
from riskframe.threat.paths import (
    ENTRY_TACTICS,
    IMPACT_TACTIC,
    StageGraph,
    attack_paths,
    inheritance_along,
    progression,
)
from riskframe.threat.risk import StageCurve, Term


def graph_of(nodes, edges):
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(edges)
    order = tuple(nx.lexicographical_topological_sort(g))
    return g, StageGraph(order, {n: list(g.predecessors(n)) for n in order}, {n: list(g.successors(n)) for n in order})


def path_risk(stages, curves):
    inherited = inheritance_along(stages, curves)
    return max(curves[s].residual(DEFAULT_MODEL.exposure, h) for s, h in zip(stages, inherited, strict=True))


def curve(*terms):
    return StageCurve([Term(f"T{i}", m, impact, left) for i, (m, impact, left) in enumerate(terms)])


def test_a_diamond_takes_the_branch_that_carries_more_likelihood():
    # entry -> (guarded | open) -> deploy: the open branch has no control, so the attack goes there.
    _, graph = graph_of("egod", [("e", "g"), ("e", "o"), ("g", "d"), ("o", "d")])
    curves = {"e": curve((0.6, 0.75, 1.0)), "g": curve((0.6, 0.75, 0.1)), "o": curve((0.6, 0.75, 1.0)),
              "d": curve((0.4, 1.0, 1.0))}
    paths, pairs = attack_paths(graph, ["e"], ["d"], curves)
    assert pairs == 1 and paths[0].stages == ("e", "o", "d") and paths[0].count == 2
    assert math.isclose(paths[0].risk, path_risk(("e", "o", "d"), curves))
    assert paths[0].risk > path_risk(("e", "g", "d"), curves)


def test_no_path_without_an_untrusted_stage_upstream_of_a_deployment():
    _, graph = graph_of("abc", [("a", "b")])
    curves = {n: curve((0.6, 0.75, 1.0)) for n in "abc"}
    assert attack_paths(graph, ["b"], ["c"], curves) == ([], 0)
    assert attack_paths(graph, [], ["b"], curves) == ([], 0)


def test_paths_are_ranked_and_limited():
    _, graph = graph_of("xyd", [("x", "d"), ("y", "d")])
    curves = {"x": curve((0.2, 0.25, 1.0)), "y": curve((0.6, 1.0, 1.0)), "d": curve((0.2, 0.25, 1.0))}
    paths, pairs = attack_paths(graph, ["x", "y"], ["d"], curves, limit=1)
    assert pairs == 2 and [p.entry for p in paths] == ["y"]


@st.composite
def dags(draw):
    n = draw(st.integers(min_value=2, max_value=7))
    nodes = [f"s{i}" for i in range(n)]
    edges = [(nodes[i], nodes[j]) for i in range(n) for j in range(i + 1, n) if draw(st.booleans())]
    entries = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=3, unique=True))
    targets = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=3, unique=True))
    term = st.tuples(st.sampled_from([0.2, 0.4, 0.6]), st.sampled_from([0.25, 0.5, 0.75, 1.0]),
                     st.floats(min_value=0, max_value=1))
    terms = {node: draw(st.lists(term, max_size=3)) for node in nodes}
    return nodes, edges, entries, targets, terms


@settings(max_examples=120, deadline=None)
@given(dags())
def test_every_path_is_a_simple_chain_from_an_entry_to_a_deployment_and_as_risky_as_the_worst(case):
    nodes, edges, entries, targets, terms = case
    g, graph = graph_of(nodes, edges)
    curves = {n: curve(*terms[n]) for n in nodes}
    paths, pairs = attack_paths(graph, entries, targets, curves)
    connected = [(e, t) for e in entries for t in targets if e == t or nx.has_path(g, e, t)]
    assert pairs == len(paths) == len(connected)
    for path in paths:
        assert path.entry in entries and path.target in targets
        assert path.stages[0] == path.entry and path.stages[-1] == path.target
        assert len(set(path.stages)) == len(path.stages)
        assert all(g.has_edge(a, b) for a, b in zip(path.stages, path.stages[1:], strict=False))
        assert 0.0 <= path.risk <= 1.0 and 0.0 <= path.likelihood <= 1.0
        every = [[path.entry]] if path.entry == path.target else list(nx.all_simple_paths(g, path.entry, path.target))
        assert path.count == len(every)
        assert math.isclose(path.risk, path_risk(path.stages, curves), abs_tol=1e-9)
        assert math.isclose(path.risk, max(path_risk(p, curves) for p in every), abs_tol=1e-9)


@settings(max_examples=80, deadline=None)
@given(dags(), st.data())
def test_adding_a_control_never_raises_a_path_risk(case, data):
    nodes, edges, entries, targets, terms = case
    _, graph = graph_of(nodes, edges)
    before, _ = attack_paths(graph, entries, targets, {n: curve(*terms[n]) for n in nodes})
    node = data.draw(st.sampled_from(nodes))
    if terms[node]:
        index = data.draw(st.integers(min_value=0, max_value=len(terms[node]) - 1))
        effectiveness = data.draw(st.floats(min_value=0, max_value=1))
        m, impact, left = terms[node][index]
        terms[node][index] = (m, impact, left * (1 - effectiveness))
    after, _ = attack_paths(graph, entries, targets, {n: curve(*terms[n]) for n in nodes})
    risk_before = {(p.entry, p.target): p.risk for p in before}
    for path in after:
        assert path.risk <= risk_before[(path.entry, path.target)] + 1e-12


def test_the_tactic_progression_moves_forward_from_the_way_in_to_impact():
    tactics = {"IN": [(3, "AML.TA0004")], "RECON": [(1, "AML.TA0002")], "PERSIST": [(6, "AML.TA0006")],
               "IMPACT": [(16, IMPACT_TACTIC)], "EXFIL": [(15, "AML.TA0010")]}
    terms = {"e": [Term("RECON", 0.6, 1.0), Term("IN", 0.4, 0.5)], "m": [Term("PERSIST", 0.4, 0.75)],
             "d": [Term("EXFIL", 0.6, 1.0), Term("IMPACT", 0.2, 0.25)]}
    curves = {s: StageCurve(t) for s, t in terms.items()}
    steps = progression(("e", "m", "d"), terms, tactics, curves)
    # The riskier reconnaissance and exfiltration lose to the way in and to the impact.
    assert [(s.stage, s.technique) for s in steps] == [("e", "IN"), ("m", "PERSIST"), ("d", "IMPACT")]
    assert steps[0].tactic in ENTRY_TACTICS and steps[-1].tactic == IMPACT_TACTIC
    assert not any(s.covered for s in steps)
