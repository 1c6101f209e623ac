"""Every picture riskframe draws, as deterministic SVG: the report's stage graph and score
histograms, and the history's risk over time.

matplotlib is imported inside the functions (it takes a second to import) and used through
``matplotlib.figure.Figure`` rather than pyplot, so no global figure state or GUI backend is
involved. Two renders of the same data give identical bytes: the SVG hash salt is fixed (it seeds
the ids of clip paths and glyphs), the date is left out, and text is drawn as paths with the
DejaVu font matplotlib ships, so the picture does not depend on the fonts of the machine.
"""

from __future__ import annotations

import base64
import io
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal

from riskframe.assessment import PipelineInfo, StageRisk
from riskframe.reports._evidence import Histogram
from riskframe.scoring import DEFAULT_MODEL
from riskframe.vocabulary import LEVELS

# Above this many stages the picture is unreadable; the report shows the stage table instead.
MAX_GRAPH_STAGES = 60

# Fill and border per risk level; the level word is always written in the node as well.
LEVEL_COLOURS: dict[str | None, tuple[str, str]] = {
    "low": ("#d3f0d6", "#2e7d32"),
    "medium": ("#fff1bf", "#b08400"),
    "high": ("#ffdcb8", "#d9480f"),
    "critical": ("#ffc9c9", "#b3261e"),
    None: ("#ececec", "#757575"),
}
_FLAGGED, _KEPT = "#c92a2a", "#74a9cf"


def data_uri(content: bytes, media_type: str = "image/svg+xml") -> str:
    """``data:`` URI for ``content``, to inline an image in a self-contained page."""
    return f"data:{media_type};base64,{base64.b64encode(content).decode('ascii')}"


@contextmanager
def _figure(width: float, height: float, layout: Literal["constrained"] | None = "constrained") -> Iterator[Any]:
    import matplotlib
    from matplotlib.figure import Figure

    # A fixed hash salt seeds the SVG's element ids; text as paths in matplotlib's own font.
    with matplotlib.rc_context(
        {"svg.hashsalt": "riskframe", "svg.fonttype": "path", "font.family": "DejaVu Sans", "font.size": 9}
    ):
        yield Figure(figsize=(width, height), layout=layout)


def _svg(figure: Any, tight: bool = False) -> bytes:
    """The figure as SVG; ``tight`` grows the canvas to hold everything drawn (a legend wider than
    a short pipeline's graph), instead of cutting it at the figure's edge."""
    buffer = io.BytesIO()
    extent = {"bbox_inches": "tight", "pad_inches": 0.05} if tight else {}
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "riskframe"}, **extent)
    return buffer.getvalue()


def risk_over_time_svg(times: Sequence[datetime], scores: Sequence[float], failed: Sequence[bool],
                       thresholds: Mapping[str, float] | None = None) -> bytes:
    """The risk score over time (``riskframe history``): level bands behind, from ``thresholds``
    (the assessments' own, default the scoring model's), one marker per assessment, filled red
    where the gate failed."""
    limits = {name: DEFAULT_MODEL.level_thresholds[name] for name in LEVELS[1:]} | dict(thresholds or {})
    edges = [0.0, *(100 * limits[name] for name in LEVELS[1:]), 100.0]
    bands = ("#e3f5e5", "#fff4cc", "#ffe3cc", "#ffdede")
    with _figure(7.5, 2.8) as figure:
        axes = figure.add_subplot()
        for low, high, colour in zip(edges, edges[1:], bands, strict=False):
            axes.axhspan(low, high, color=colour, zorder=0)
        x = list(range(len(scores)))
        axes.plot(x, list(scores), color="#1d2330", linewidth=1.5, zorder=2)
        for index, (score, fail) in enumerate(zip(scores, failed, strict=True)):
            axes.scatter([index], [score], zorder=3, s=36, edgecolors="#1d2330", color="#c92a2a" if fail else "#ffffff")
        axes.set_ylim(0, 100)
        axes.set_ylabel("risk score")
        step = max(1, len(scores) // 10)  # at most about ten date labels, however long the history
        axes.set_xticks(x[::step], [t.strftime("%Y-%m-%d\n%H:%M") for t in times[::step]])
        axes.tick_params(axis="x", labelsize=7)
        return _svg(figure)


def stage_layers(pipeline: PipelineInfo) -> dict[str, int]:
    """Each stage's column: 0 for stages that need nothing, then one more than what they need.

    A cycle (which the engine refuses, but a hand-edited assessment may hold) shares one column
    instead of failing: the stages of a strongly connected component are placed together.
    """
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(stage.name for stage in pipeline.stages)
    graph.add_edges_from(
        (need, stage.name) for stage in pipeline.stages for need in stage.needs if need in graph and need != stage.name
    )
    condensed = nx.condensation(graph)
    layers: dict[str, int] = {}
    for column, components in enumerate(nx.topological_generations(condensed)):
        for component in components:
            for name in condensed.nodes[component]["members"]:
                layers[name] = column
    return layers


def assessed_levels(stages: Sequence[StageRisk]) -> dict[str, str]:
    """Risk level of each stage where a check ran. A stage with no result of its own is left
    out: its residual is 0 for want of evidence, and colouring it "low" would read as safe."""
    return {stage.name: stage.level for stage in stages if stage.results}


def stage_graph_svg(pipeline: PipelineInfo, stages: Sequence[StageRisk]) -> bytes | None:
    """The stage graph, left to right by dependency, nodes coloured and labelled by risk level.

    Returns None when there is nothing to draw or too many stages to draw legibly.
    """
    if not pipeline.stages or len(pipeline.stages) > MAX_GRAPH_STAGES:
        return None
    layers = stage_layers(pipeline)
    positions = _positions(pipeline, layers)
    edges = [
        (need, stage.name, _bend(need, stage.name, layers, positions))
        for stage in pipeline.stages
        for need in stage.needs
        if need in positions and need != stage.name
    ]
    heights = [y for _, y in positions.values()] + [_arc_peak(edge, positions) for edge in edges]
    low, high = min(heights) - 0.55, max(heights) + 0.55
    columns = max(layers.values()) + 1
    # 2.5 inches per column (and as much per 3 units of height) keeps 10-point labels about 10
    # pixels high when the page fits the picture to its width.
    width, height = min(2.5 * columns + 0.4, 24.0), min(0.85 * (high - low) + 0.7, 16.0)
    with _figure(width, height) as figure:
        axes = figure.add_subplot()
        boxes = _draw_stages(axes, pipeline, positions, assessed_levels(stages))
        _draw_needs(axes, edges, positions, boxes)
        axes.set_xlim(-1.3, 3.0 * (columns - 1) + 1.3)
        axes.set_ylim(low, high)
        axes.set_axis_off()
        _legend(figure)
        return _svg(figure, tight=True)


def _draw_stages(
    axes: Any, pipeline: PipelineInfo, positions: dict[str, tuple[float, float]], levels: dict[str, str]
) -> dict[str, Any]:
    """One rounded box per stage, dashed when untrusted; returns the boxes by stage name."""
    from matplotlib.patches import FancyBboxPatch

    boxes = {}
    for stage in pipeline.stages:
        x, y = positions[stage.name]
        level = levels.get(stage.name)
        fill, edge = LEVEL_COLOURS.get(level, LEVEL_COLOURS[None])
        boxes[stage.name] = axes.add_patch(
            FancyBboxPatch(
                (x - 1.1, y - 0.42),
                2.2,
                0.84,
                boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor=fill,
                edgecolor=edge,
                linewidth=1.8,
                linestyle="--" if stage.trust == "untrusted" else "-",
            )
        )
        label = _node_label(stage.name, stage.kind, stage.trust, level)
        axes.text(x, y, label, ha="center", va="center", fontsize=10, linespacing=1.3)
    return boxes


def _draw_needs(
    axes: Any, edges: list[tuple[str, str, float]], positions: dict[str, tuple[float, float]], boxes: dict[str, Any]
) -> None:
    """An arrow from each needed stage to the stage needing it, with its ``arc3`` bend."""
    from matplotlib.patches import FancyArrowPatch

    for source, target, bend in edges:
        arrow = FancyArrowPatch(
            positions[source],
            positions[target],
            patchA=boxes[source],
            patchB=boxes[target],
            arrowstyle="-|>",
            mutation_scale=12,
            color="#444444",
            linewidth=1.1,
            connectionstyle=f"arc3,rad={bend}",
        )
        axes.add_patch(arrow)


def _arc_peak(edge: tuple[str, str, float], positions: dict[str, tuple[float, float]]) -> float:
    """Height of an arrow's farthest point: arc3 puts its control point ``rad x length`` to the
    right of the midpoint, so the curve strays half that, to (dy, -dx) / length."""
    (x0, y0), (x1, y1) = positions[edge[0]], positions[edge[1]]
    return (y0 + y1) / 2 - 0.5 * edge[2] * (x1 - x0)


def _bend(source: str, target: str, layers: dict[str, int], positions: dict[str, tuple[float, float]]) -> float:
    """``arc3`` curvature for an arrow: straight between neighbouring columns; bowed around the
    stages of the columns it skips, on the side that needs the gentler curve."""
    (x0, y0), (x1, y1) = positions[source], positions[target]
    dx, dy = x1 - x0, y1 - y0
    length = math.hypot(dx, dy)
    skipped = [positions[n] for n, column in layers.items() if layers[source] < column < layers[target]]
    if not skipped or length == 0:
        return 0.0
    # arc3's curve strays 2 t (1 - t) rad length from the straight line at fraction t of the way;
    # each skipped stage needs it to stray past the stage's offset plus half a box and a margin.
    needed = {1: 0.0, -1: 0.0}  # +1 bows to the right of the arrow's direction (arc3's rad > 0)
    for x, y in skipped:
        t = min(max(((x - x0) * dx + (y - y0) * dy) / length**2, 0.1), 0.9)
        right = (dy * (x - x0) - dx * (y - y0)) / length  # the stage's offset to the right of the line
        for side in (1, -1):
            needed[side] = max(needed[side], (side * right + 0.75) / (2 * t * (1 - t) * length))
    side = 1 if needed[1] <= needed[-1] else -1
    return side * min(needed[side], 0.6)


def _legend(figure: Any) -> None:
    from matplotlib.lines import Line2D

    handles = [
        Line2D(
            [],
            [],
            marker="s",
            linestyle="",
            markersize=10,
            markerfacecolor=fill,
            markeredgecolor=edge,
            label=str(level or "not assessed"),
        )
        for level, (fill, edge) in LEVEL_COLOURS.items()
    ]
    handles.append(Line2D([], [], color="#757575", linestyle="--", label="untrusted input (dashed border)"))
    figure.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False, fontsize=9)


def _positions(pipeline: PipelineInfo, layers: dict[str, int]) -> dict[str, tuple[float, float]]:
    """x by column; y spreads each column around 0, ordered by the mean height of what it needs
    (one barycentre pass, which removes most edge crossings in pipeline-shaped graphs)."""
    positions: dict[str, tuple[float, float]] = {}
    needs = {stage.name: stage.needs for stage in pipeline.stages}
    order = {stage.name: index for index, stage in enumerate(pipeline.stages)}
    for column in range(max(layers.values()) + 1):
        members = [name for name in order if layers[name] == column]

        def barycentre(name: str) -> tuple[float, int]:
            placed = [positions[n][1] for n in needs[name] if n in positions]
            return (-sum(placed) / len(placed) if placed else 0.0, order[name])

        members.sort(key=barycentre)
        for index, name in enumerate(members):
            positions[name] = (3.0 * column, 1.2 * ((len(members) - 1) / 2 - index))
    return positions


def _node_label(name: str, kind: str, trust: str, level: str | None) -> str:
    short = name if len(name) <= 22 else name[:21] + "…"
    risk = f"{level} risk" if level else "not assessed"
    untrusted = ", untrusted" if trust == "untrusted" else ""
    return f"{short}\n{kind}\n{risk}{untrusted}"


def stage_graph_alt(pipeline: PipelineInfo, stages: Sequence[StageRisk]) -> str:
    """A text alternative for the stage graph picture: every stage, its level and its inputs."""
    levels = assessed_levels(stages)
    parts = []
    for stage in pipeline.stages:
        needs = f", after {', '.join(stage.needs)}" if stage.needs else ""
        level = f"{levels[stage.name]} risk" if stage.name in levels else "not assessed"
        parts.append(f"{stage.name} ({stage.kind}, {stage.trust}, {level}{needs})")
    return f"Stage graph of {len(parts)} stage{'s' if len(parts) != 1 else ''}: " + "; ".join(parts) + "."


def histogram_svg(panels: Sequence[Histogram], title: str) -> bytes | None:
    """Score histograms, flagged samples (hatched) beside the kept ones, one panel per class."""
    if not panels:
        return None
    columns = min(4, len(panels))
    rows = math.ceil(len(panels) / columns)
    width, height = (5.0 if len(panels) == 1 else 3.2 * columns), 2.2 * rows + 0.9
    # Fixed margins (in inches, turned into figure fractions) instead of a layout engine: the
    # layout pass would draw every panel twice, and a report may hold a dozen of these.
    margins = {
        "left": 0.65 / width,
        "right": 1 - 0.15 / width,
        "bottom": 0.6 / height,
        "top": 1 - 0.55 / height,
        "wspace": 0.3,
        "hspace": 0.45,
    }
    with _figure(width, height, layout=None) as figure:
        figure.suptitle(title, fontsize=10)
        figure.supxlabel("suspicion score (1 = most suspicious)", fontsize=8, y=0.02)
        figure.supylabel("samples", fontsize=8, x=0.01)
        grid = figure.subplots(rows, columns, squeeze=False, gridspec_kw=margins)
        for axes, panel in zip(grid.flat, panels, strict=False):  # the grid may have spare cells
            _grouped_bars(axes, panel)
            if max(panel.kept + panel.flagged) > 50:
                axes.set_yscale("symlog", linthresh=1)  # a few flagged samples stay visible next to many kept
            if len(panels) > 1:
                axes.set_title(panel.title, fontsize=9)
            axes.tick_params(labelsize=7)
        for axes in list(grid.flat)[len(panels) :]:
            axes.set_axis_off()
        grid.flat[0].legend(fontsize=8, frameon=False)
        return _svg(figure)


def _grouped_bars(axes: Any, panel: Histogram) -> None:
    # Side by side rather than overlaid, so neither series hides the other in a shared bin.
    lefts = panel.edges[:-1]
    halves = [(b - a) / 2 for a, b in itertools.pairwise(panel.edges)]
    axes.bar(lefts, panel.kept, width=halves, align="edge", color=_KEPT, label="kept")
    axes.bar(
        [x + h for x, h in zip(lefts, halves, strict=True)],
        panel.flagged,
        width=halves,
        align="edge",
        color=_FLAGGED,
        edgecolor="#7a1010",
        hatch="///",
        label="flagged",
    )


def histogram_alt(panels: Sequence[Histogram]) -> str:
    """A text alternative for the histogram: per panel, how many samples were flagged and kept."""
    parts = [f"{p.title}: {int(sum(p.flagged)):,} flagged, {int(sum(p.kept)):,} kept" for p in panels]
    return "Histogram of suspicion scores, flagged versus kept samples. " + "; ".join(parts) + "."
