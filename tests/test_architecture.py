"""The shape of the package: no import cycles, and layers that import one way.

The graph is built from the source (``ast``), from module-level imports only: an import inside a
function runs when the function is called, which is how heavy libraries are kept off the start-up
path, and an import under ``if TYPE_CHECKING:`` never runs. docs/architecture.md draws the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "riskframe"

# Lowest first. A module may import modules of its own layer and of the layers below it, never
# one above. A package not listed belongs to the layer of its nearest listed parent.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("riskframe.vocabulary", "riskframe.errors", "riskframe.io", "riskframe.results",
                    "riskframe.assessment", "riskframe.scoring", "riskframe.scanning",
                    "riskframe.signing")),
    ("documents", ("riskframe.spec", "riskframe.catalog")),
    ("detectors", ("riskframe.data", "riskframe.representations", "riskframe.detectors", "riskframe.scenarios",
                   "riskframe.testing")),
    ("resolution", ("riskframe.spec.check", "riskframe.spec.resolved")),
    ("engine", ("riskframe.engine", "riskframe.remediation")),
    ("outputs", ("riskframe.reports", "riskframe.compare", "riskframe.threat", "riskframe.tracking")),
    ("commands", ("riskframe.commands", "riskframe.cli", "riskframe.__main__", "riskframe.catalog.commands")),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """Module-level statements that run on import: ``if TYPE_CHECKING:`` blocks left out."""
    out: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out += node.orelse
        elif isinstance(node, (ast.If, ast.Try)):
            out += _runtime_statements(node.body) + _runtime_statements(node.orelse)
            out += [s for handler in getattr(node, "handlers", []) for s in _runtime_statements(handler.body)]
        else:
            out.append(node)
    return out


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The riskframe modules ``path`` imports at module level (``from pkg import mod`` names mod)."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_statements(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names}
    return {name for name in found if name in modules and name != me}


def import_graph() -> nx.DiGraph:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(f) for f in files}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for file in files:
        graph.add_edges_from((module_name(file), target) for target in imports_of(file, modules))
    return graph


def layer_of(module: str) -> int:
    best, rank = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    return rank


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    return import_graph()


def test_the_graph_sees_the_package(graph):
    assert graph.has_edge("riskframe.engine.assess", "riskframe.engine.compose")
    assert graph.has_edge("riskframe.spec.load", "riskframe.spec.inherit")
    assert not graph.has_edge("riskframe.spec.inherit", "riskframe.spec.load")


def test_no_module_imports_itself_through_others(graph):
    cycles = sorted(sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1)
    assert cycles == []


def test_every_module_has_a_layer(graph):
    assert [m for m in graph if m != "riskframe" and layer_of(m) < 0] == []


def test_layers_import_one_way(graph):
    upward = sorted(f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]})"
                    for a, b in graph.edges if a != "riskframe" and layer_of(b) > layer_of(a))
    assert upward == []
