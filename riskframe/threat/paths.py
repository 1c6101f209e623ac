"""Attack paths: from each untrusted entry stage to each deployment, the riskiest chain of stages,
and along it an ATLAS tactic progression.

Enumerating simple paths is exponential in a layered pipeline, so nothing here enumerates. For one
entry, a dynamic programme over the stage graph in topological order gives every stage the highest
likelihood any path from the entry can carry into it (a stage's likelihood grows with what flows
in, so the best path into a stage extends a best path into one of its predecessors). Each stage is
scored as in :mod:`riskframe.threat.risk`, exposed, as if this entry were the only way in. The
riskiest path to a deployment runs through the riskiest stage that lies between the entry and the
deployment, entered along its best path; its risk is that stage's residual. Cost: O(stages +
edges) per entry, plus O(stages) per (entry, deployment) pair.

The tactic progression reads the path as an attack: one ATLAS tactic per step, moving forward
through the matrix (Resource Development, Initial Access, ... Impact), starting at the entry with
the way in (Resource Development or Initial Access) and ending at the deployment with Impact where
those apply, and picking the techniques with the highest residual risk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from riskframe.scoring import DEFAULT_MODEL, RiskModel
from riskframe.threat.risk import StageCurve, Term, likelihood

ENTRY_TACTICS = frozenset({"AML.TA0003", "AML.TA0004"})  # Resource Development, Initial Access
IMPACT_TACTIC = "AML.TA0011"
_SPECIFIC_BONUS = 1e-3


@dataclass(frozen=True)
class Step:
    """One step of a tactic progression: a tactic, and the technique that carries it at a stage."""

    stage: str
    tactic: str
    technique: str
    likelihood: float
    residual: float
    covered: bool


@dataclass(frozen=True)
class AttackPath:
    entry: str
    target: str
    stages: tuple[str, ...]
    count: int  # how many distinct paths lead from entry to target
    likelihood: float  # at the target, along this path
    risk: float  # the highest residual of a stage along it
    riskiest_stage: str
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class StageGraph:
    """What the search needs of the stage graph: a topological order and adjacency by name."""

    order: tuple[str, ...]
    predecessors: Mapping[str, Sequence[str]]
    successors: Mapping[str, Sequence[str]]

    def reach(self, start: str, forward: bool = True) -> set[str]:
        """``start`` and every stage downstream of it (upstream when ``forward`` is false)."""
        edges = self.successors if forward else self.predecessors
        seen, stack = {start}, [start]
        while stack:
            for nxt in edges.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen


@dataclass
class _Sweep:
    """The programme's tables for one entry."""

    reach: set[str]
    likelihood: dict[str, float]
    residual: dict[str, float]
    back: dict[str, str | None]
    count: dict[str, int]


def attack_paths(graph: StageGraph, entries: Sequence[str], targets: Sequence[str],
                 curves: Mapping[str, StageCurve], model: RiskModel = DEFAULT_MODEL,
                 limit: int | None = None) -> tuple[list[AttackPath], int]:
    """The riskiest path of every (entry, target) pair that is connected, riskiest first (ties in
    entry, then target order), at most ``limit`` of them; and how many pairs are connected.

    Examples
    --------
    >>> g = StageGraph(("a", "b"), {"b": ["a"]}, {"a": ["b"]})
    >>> curves = {"a": StageCurve([Term("T", 0.6, 0.75)]), "b": StageCurve([Term("U", 0.4, 1.0)])}
    >>> paths, pairs = attack_paths(g, ["a"], ["b"], curves)
    >>> paths[0].stages, paths[0].riskiest_stage, round(paths[0].risk, 3)
    (('a', 'b'), 'b', 0.754)
    """
    upstream = {t: graph.reach(t, forward=False) for t in targets}
    found: list[AttackPath] = []
    for entry in entries:
        sweep = _sweep(graph, entry, curves, model)
        for target in targets:
            if target in sweep.reach:
                found.append(_riskiest_path(graph, sweep, entry, target, upstream[target]))
    ranked = sorted(found, key=lambda p: -p.risk)  # stable: entry, then target order on ties
    return ranked[:limit] if limit is not None else ranked, len(found)


def _sweep(graph: StageGraph, entry: str, curves: Mapping[str, StageCurve], model: RiskModel) -> _Sweep:
    reach = graph.reach(entry)
    sweep = _Sweep(reach, {}, {}, {}, {})
    for stage in graph.order:
        if stage not in reach:
            continue
        preds = [p for p in graph.predecessors.get(stage, ()) if p in reach] if stage != entry else []
        best = max(preds, key=sweep.likelihood.__getitem__, default=None)
        inherited = model.propagation * sweep.likelihood[best] if best else 0.0
        sweep.likelihood[stage] = curves[stage].likelihood(model.exposure, inherited)
        sweep.residual[stage] = curves[stage].residual(model.exposure, inherited)
        sweep.back[stage] = best
        sweep.count[stage] = sum(sweep.count[p] for p in preds) if preds else 1
    return sweep


def _riskiest_path(graph: StageGraph, sweep: _Sweep, entry: str, target: str, upstream: set[str]) -> AttackPath:
    between = [s for s in graph.order if s in sweep.reach and s in upstream]
    pivot = max(between, key=sweep.residual.__getitem__)  # first in topological order on ties
    head: list[str] = []
    stage: str | None = pivot
    while stage is not None:
        head.append(stage)
        stage = sweep.back[stage]
    tail = [pivot]
    while tail[-1] != target:
        options = [s for s in graph.successors.get(tail[-1], ()) if s in upstream]
        tail.append(max(options, key=sweep.likelihood.__getitem__))
    stages = tuple(reversed(head)) + tuple(tail[1:])
    return AttackPath(entry, target, stages, sweep.count[target], sweep.likelihood[target],
                      sweep.residual[pivot], pivot)


def inheritance_along(stages: Sequence[str], curves: Mapping[str, StageCurve],
                      model: RiskModel = DEFAULT_MODEL) -> list[float]:
    """The likelihood inherited at each stage of a path when the attack flows along it alone."""
    inherited, out = 0.0, []
    for stage in stages:
        out.append(inherited)
        inherited = model.propagation * curves[stage].likelihood(model.exposure, inherited)
    return out


def progression(stages: Sequence[str], terms: Mapping[str, Sequence[Term]],
                tactics: Mapping[str, Sequence[tuple[int, str]]], curves: Mapping[str, StageCurve],
                model: RiskModel = DEFAULT_MODEL, specific: Mapping[str, set[str]] | None = None) -> list[Step]:
    """The tactic progression along ``stages``: at most one step per stage, tactics strictly forward
    in the ATLAS matrix, the highest total residual risk.

    ``tactics`` maps a technique to its (matrix order, tactic id) pairs. ``specific`` names, per
    stage, the techniques something about the stage itself opens (its trust, its artifacts, a
    control): between techniques of equal risk, those tell the stage's own story, so they win.
    """
    inherited = inheritance_along(stages, curves, model)
    specific = specific or {}
    options = [_stage_options(s, h, terms.get(s, ()), tactics, model, specific.get(s, set()))
               for s, h in zip(stages, inherited, strict=True)]
    last = len(stages) - 1
    options[0] = _restrict(options[0], lambda tactic: tactic in ENTRY_TACTICS)
    if last > 0:
        options[last] = _restrict(options[last], lambda tactic: tactic == IMPACT_TACTIC)
    chains: dict[int, tuple[float, _Chain | None]] = {} if options[0] else {0: (0.0, None)}
    for index, stage_options in enumerate(options):
        # The entry step, and an Impact step at the deployment, are taken whenever they exist.
        forced = index == 0 or (index == last and any(s.tactic == IMPACT_TACTIC for _, s in stage_options))
        grown = {} if forced else dict(chains)
        for order, step in stage_options:
            # A technique carries one step of a path: an attack does not evade the model twice.
            before = ([c for o, c in chains.items() if o < order and not _holds(c[1], step.technique)]
                      if index else [(0.0, None)])
            if not before:
                continue
            score, chain = max(before, key=lambda c: c[0])
            gained = score + _weight(step, specific.get(step.stage, set()))
            if order not in grown or grown[order][0] < gained:
                grown[order] = (gained, (step, chain))
        chains = grown or chains
    best = max(chains.values(), key=lambda c: c[0])[1]
    out: list[Step] = []
    while best is not None:
        out.append(best[0])
        best = best[1]
    return out[::-1]


_Chain = tuple[Step, "_Chain | None"]
# Candidates kept per tactic at a stage, so that a technique already on the path has a next best.
_CANDIDATES = 3


def _holds(chain: _Chain | None, technique: str) -> bool:
    while chain is not None:
        if chain[0].technique == technique:
            return True
        chain = chain[1]
    return False


def _stage_options(stage: str, inherited: float, terms: Sequence[Term],
                   tactics: Mapping[str, Sequence[tuple[int, str]]], model: RiskModel,
                   specific: set[str]) -> list[tuple[int, Step]]:
    """For each tactic present at the stage, the steps of its riskiest techniques, best first (ties:
    the specific one, then the lowest id), :data:`_CANDIDATES` at most."""
    by_order: dict[int, list[Step]] = {}
    for term in sorted(terms, key=lambda t: t.technique):
        chance = likelihood(term, model.exposure, inherited)
        step = Step(stage, "", term.technique, round(chance, 6), round(chance * term.impact, 6),
                    covered=term.remaining < 1.0)
        for order, tactic in tactics.get(term.technique, ()):
            by_order.setdefault(order, []).append(replace(step, tactic=tactic))
    out = []
    for order in sorted(by_order):
        ranked = sorted(by_order[order], key=lambda s: (-_weight(s, specific), s.technique))
        out += [(order, step) for step in ranked[:_CANDIDATES]]
    return out


def _weight(step: Step, specific: set[str]) -> float:
    # A thousandth decides between near-equal risks only; it never outweighs a real difference.
    return step.residual + (_SPECIFIC_BONUS if step.technique in specific else 0.0)


def _restrict(options: list[tuple[int, Step]], keep: object) -> list[tuple[int, Step]]:
    """The options whose tactic passes ``keep``, or all of them when none does."""
    kept = [(o, s) for o, s in options if keep(s.tactic)]  # type: ignore[operator]
    return kept or options
