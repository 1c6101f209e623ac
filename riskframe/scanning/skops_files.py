"""skops files: a zip whose ``schema.json`` names every type and function it will reconstruct.

skops never unpickles; it rebuilds objects from ``schema.json`` and refuses types outside its
trusted list unless the caller passes them in ``trusted=``. The scan reads the schema as JSON and
judges each named type (``module.Class``, and ``module.function`` for ``FunctionNode``) like a
pickle global: known gadgets are findings whatever skops trusts; other types outside riskframe's
allowlist are findings unless skops' own defaults trust them. When skops is installed, its
``get_untrusted_types`` (which reads the schema without importing anything) decides the latter,
and its list is recorded in the notes, to pass as ``trusted=`` after review. Arrays stored beside
the schema (``.npy``) are scanned as members like any other.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from riskframe.scanning.findings import Finding

if TYPE_CHECKING:
    from riskframe.scanning.scan import Scope

MAX_SCHEMA_BYTES = 100_000_000
# Node types that only carry JSON data, or names skops writes for builtin types.
_DATA_ONLY = frozenset({"builtins.NoneType", "builtins.function", "builtins.type"})


def schema_types(schema: Any) -> Iterator[tuple[str, str]]:
    """Every ``(module.name, loader)`` the schema names, depth first, without recursion.

    >>> node = {"__module__": "sklearn.linear_model._logistic", "__class__": "LogisticRegression",
    ...         "__loader__": "ObjectNode", "content": {}}
    >>> list(schema_types(node))
    [('sklearn.linear_model._logistic.LogisticRegression', 'ObjectNode')]
    """
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            module, name = node.get("__module__"), node.get("__class__")
            if isinstance(module, str) and isinstance(name, str):
                yield f"{module}.{name}", str(node.get("__loader__", ""))
            pending.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            pending.extend(reversed(node))


def scan_skops_schema(archive: zipfile.ZipFile, scope: Scope) -> None:
    """Judge every type ``schema.json`` names; findings go to ``scope``."""
    info = archive.getinfo("schema.json")
    if info.file_size > MAX_SCHEMA_BYTES:
        scope.add(Finding(None, None, "medium", f"schema.json declares {info.file_size} bytes, more than "
                                                f"the {MAX_SCHEMA_BYTES} the scan reads",
                          title=f"schema.json is larger than the {MAX_SCHEMA_BYTES} bytes the scan reads"))
        return
    try:
        with archive.open(info) as raw:
            schema = json.loads(raw.read(MAX_SCHEMA_BYTES + 1))
    except (ValueError, RecursionError, RuntimeError, zipfile.BadZipFile) as exc:
        scope.add(Finding(None, None, "low", f"schema.json is not valid JSON: {exc}", "schema.json",
                          title="schema.json is not valid JSON"))
        return
    skops_untrusted = _skops_untrusted(scope)
    seen: set[str] = set()
    for dotted, loader in schema_types(schema):
        if dotted in seen or dotted in _DATA_ONLY:
            continue
        seen.add(dotted)
        _judge(dotted, loader, skops_untrusted, scope)
    if skops_untrusted:
        scope.note("skops.io.get_untrusted_types lists: " + ", ".join(sorted(skops_untrusted)))


def _judge(dotted: str, loader: str, skops_untrusted: set[str] | None, scope: Scope) -> None:
    module, _, name = dotted.rpartition(".")
    verdict = scope.allowlist.classify(module, name)
    if verdict.severity is None:
        return
    trusted_by_skops = skops_untrusted is not None and dotted not in skops_untrusted
    if trusted_by_skops and verdict.severity not in ("high", "critical"):
        return
    kind = "function" if loader == "FunctionNode" else "type"
    scope.add(Finding(dotted, None, verdict.severity,
                      f"schema.json names the {kind} {dotted} ({loader}): {verdict.reason}", "schema.json"))


def _skops_untrusted(scope: Scope) -> set[str] | None:
    """skops' own verdict for a top-level skops file, when skops is installed."""
    if scope.member is not None:
        return None
    try:
        from skops.io import get_untrusted_types
    except ImportError:
        return None
    try:
        return set(get_untrusted_types(file=scope.scan.path))
    except Exception as exc:  # skops rejects schemas it cannot read: report, do not crash
        scope.note(f"skops could not read the schema ({type(exc).__name__}: {exc})")
        return None
