"""A result's evidence as a person reads it: facts, lists, tables, flagged samples, histograms.

Evidence is free-form JSON written by detectors, so nothing here may assume a key exists or has
a sane size: every shape that is not understood falls through to the (capped) JSON block, and
every list is cut to a readable length with a note saying how much was left out.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

from riskframe.reports.view import number

MAX_INLINE_ITEMS = 20
MAX_TABLE_ROWS = 20
MAX_FLAGGED_ROWS = 10
MAX_TABLE_COLUMNS = 8
MAX_TEXT_CHARS = 2_000
MAX_CELL_CHARS = 240
MAX_FACTS = 40
MAX_HISTOGRAM_PANELS = 12
JSON_LIST_ITEMS = 50
JSON_MAP_KEYS = 200
JSON_DEPTH = 8
JSON_MAX_CHARS = 200_000

_SCALARS = (str, int, float, bool, type(None))
# Evidence mappings come back from assessment.json with sorted keys, so the page must not depend
# on the order a detector wrote them in; these usual identifying columns go first, the rest follow
# alphabetically.
_FIRST_COLUMNS = ("index", "line", "row", "file", "shard", "id", "name", "measure", "column", "class", "label",
                  "given", "suggested", "count", "before", "after", "change", "limit", "values")
# Lists parallel to flagged_indices: shown together in the flagged-samples table.
_PER_FLAGGED = ("flagged_indices", "scores", "given_labels", "suggested_labels")
_LABELS = {
    "class_pairs": "class pairs (given label -> suggested label)",
    "flagged_indices": "flagged samples",
    "flagged_rows": "flagged samples in the data files (most suspicious first)",
    "before_after": "before and after retraining",
}


@dataclass(frozen=True)
class Block:
    """A piece of evidence that is more than one value: ``kind`` is ``pre``, ``list`` or ``table``."""

    kind: str
    label: str
    text: str = ""
    items: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    more: int = 0


@dataclass(frozen=True)
class Flagged:
    """The flagged samples: how many, and the most suspicious ones.

    ``rows`` are (rank, index, score, "given -> suggested"); ``relabelled`` says whether the
    evidence carried the given and suggested labels.
    """

    count: int
    rows: list[tuple[int, str, str, str]]
    more: int
    relabelled: bool = False


@dataclass(frozen=True)
class Histogram:
    """One panel of a score histogram: bin ``edges`` and the flagged and kept counts per bin."""

    title: str
    edges: list[float]
    flagged: list[float]
    kept: list[float]


@dataclass(frozen=True)
class ReadableEvidence:
    facts: list[tuple[str, str]]
    blocks: list[Block]
    flagged: Flagged | None
    histograms: list[Histogram]
    histograms_left_out: int
    json: str


def readable(evidence: dict[str, Any]) -> ReadableEvidence:
    """Split ``evidence`` into what is rendered readably; the whole of it also goes to ``json``."""
    facts: list[tuple[str, str]] = []
    blocks: list[Block] = []
    for key in sorted(evidence, key=str):
        if key == "score_histogram" or (key in _PER_FLAGGED and _is_per_flagged(evidence, key)):
            continue
        value, label = evidence[key], _label(key)
        if isinstance(value, str) and ("\n" in value or len(value) > 200):
            blocks.append(Block("pre", label, text=_clip(value)))
        elif isinstance(value, _SCALARS):
            facts.append((label, _cell(value)))
        else:
            block = _block(label, value)
            if block is not None:
                blocks.append(block)
    if len(facts) > MAX_FACTS:
        facts = [*facts[:MAX_FACTS], ("more facts", f"{len(facts) - MAX_FACTS:,} more in the JSON below")]
    histograms, left_out = histograms_in(evidence.get("score_histogram"))
    return ReadableEvidence(facts, blocks, _flagged(evidence), histograms, left_out, capped_json(evidence))


def _is_per_flagged(evidence: dict[str, Any], key: str) -> bool:
    indices = evidence.get("flagged_indices")
    return isinstance(indices, list) and (key == "flagged_indices" or bool(_aligned(evidence, key, len(indices))))


def _label(key: object) -> str:
    text = str(key)
    return _LABELS.get(text, text.replace("_", " "))


def _clip(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return f"{text[:MAX_TEXT_CHARS]}... ({len(text) - MAX_TEXT_CHARS:,} more characters)"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return number(value)
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "none"}[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _clip(value)
    return _clip(json.dumps(value, ensure_ascii=False, default=str))


def _short(value: Any) -> str:
    """A table cell: scalars as they are, nested values as compact JSON cut to one line or so."""
    text = _cell(value)
    if isinstance(value, _SCALARS) or len(text) <= MAX_CELL_CHARS:
        return text
    return f"{text[:MAX_CELL_CHARS]}... (all of it in the JSON below)"


def _block(label: str, value: Any) -> Block | None:
    """A list, a table or nothing (left to the JSON block) for a non-scalar value."""
    if isinstance(value, dict) and value:
        keys = sorted(value, key=_natural)[:MAX_TABLE_ROWS]
        rows = [[_cell(k), _short(value[k])] for k in keys]
        return Block("table", label, columns=["key", "value"], rows=rows, more=len(value) - len(rows))
    if not isinstance(value, list) or not value:
        return None
    if all(isinstance(v, _SCALARS) for v in value):
        shown = value[:MAX_INLINE_ITEMS]
        return Block("list", label, items=[_cell(v) for v in shown], more=len(value) - len(shown))
    if all(isinstance(v, dict) for v in value):
        columns = sorted({str(k) for row in value for k in row}, key=_column_order)[:MAX_TABLE_COLUMNS]
        shown = value[:MAX_TABLE_ROWS]
        rows = [[_short({str(k): v for k, v in row.items()}.get(c, "")) for c in columns] for row in shown]
        return Block("table", label, columns=columns, rows=rows, more=len(value) - len(shown))
    if all(isinstance(v, list) for v in value):
        width = min(max(len(v) for v in value), MAX_TABLE_COLUMNS)
        shown = value[:MAX_TABLE_ROWS]
        rows = [[_cell(v[i]) if i < len(v) else "" for i in range(width)] for v in shown]
        return Block(
            "table", label, columns=[f"column {i + 1}" for i in range(width)], rows=rows, more=len(value) - len(shown)
        )
    return None


def _column_order(name: str) -> tuple[int, str]:
    return (_FIRST_COLUMNS.index(name) if name in _FIRST_COLUMNS else len(_FIRST_COLUMNS), name)


def _flagged(evidence: dict[str, Any]) -> Flagged | None:
    indices = evidence.get("flagged_indices")
    if not isinstance(indices, list):
        return None
    scores, given, suggested = (_aligned(evidence, key, len(indices)) for key in _PER_FLAGGED[1:])
    shown = min(len(indices), MAX_FLAGGED_ROWS)
    rows = [
        (
            rank + 1,
            _cell(indices[rank]),
            _cell(scores[rank]) if scores else "",
            f"{_cell(given[rank])} -> {_cell(suggested[rank])}" if given and suggested else "",
        )
        for rank in range(shown)
    ]
    return Flagged(len(indices), rows, len(indices) - shown, relabelled=bool(given and suggested))


def _aligned(evidence: dict[str, Any], key: str, length: int) -> list[Any]:
    """``evidence[key]`` when it is a list parallel to ``flagged_indices``, else empty."""
    value = evidence.get(key)
    return value if isinstance(value, list) and len(value) == length else []


def histograms_in(value: Any) -> tuple[list[Histogram], int]:
    """Panels from ``evidence["score_histogram"]``, and how many class panels were left out.

    The shape ``label-issues`` writes: ``{"bins": [...], "flagged": [...], "kept": [...],
    "per_class": {label: {"flagged": [...], "kept": [...]}}}`` with ``len(bins) == len(flagged) + 1``
    (``edges`` is accepted for ``bins``, and a class may carry its own). A bare mapping of class
    label to histogram is understood too. Whatever is malformed gives no panel; its data still
    shows in the JSON block.

    Beside the overall panel, only classes holding flagged samples are drawn (at most
    ``MAX_HISTOGRAM_PANELS``): a class with nothing flagged looks like the overall panel and
    would bury the ones that matter.
    """
    if not isinstance(value, dict):
        return [], 0
    edges = _edges(value)
    overall = _histogram("all samples", value, edges)
    classes = value.get("per_class") if overall is not None else value
    per_class = (
        []
        if not isinstance(classes, dict)
        else [
            panel
            for key, part in sorted(classes.items(), key=lambda kv: _natural(kv[0]))
            if (panel := _histogram(f"class {key}", part, edges)) is not None
        ]
    )
    telling = [panel for panel in per_class if sum(panel.flagged) > 0]
    if overall is None and not telling:
        telling = per_class  # nothing flagged anywhere: the classes are all there is to show
    shown = telling[:MAX_HISTOGRAM_PANELS]
    return ([overall] if overall else []) + shown, len(per_class) - len(shown)


def _edges(value: dict[str, Any]) -> Any:
    return value.get("bins", value.get("edges"))


def _natural(key: object) -> tuple[int, float | str]:
    text = str(key)
    try:
        return 0, float(text)
    except ValueError:
        return 1, text


def _histogram(title: str, value: Any, default_edges: Any) -> Histogram | None:
    if not isinstance(value, dict):
        return None
    own = _edges(value)
    edges, flagged, kept = (
        _numbers(v) for v in (own if own is not None else default_edges, value.get("flagged"), value.get("kept"))
    )
    if edges is None or flagged is None or kept is None:
        return None
    if len(edges) < 2 or len(flagged) != len(edges) - 1 or len(kept) != len(flagged):
        return None
    if any(b <= a for a, b in itertools.pairwise(edges)) or min(flagged + kept) < 0:
        return None
    return Histogram(title, edges, flagged, kept)


def _numbers(value: Any) -> list[float] | None:
    if not isinstance(value, list) or len(value) > 10_000:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        return None
    return [float(v) for v in value]


def capped_json(value: Any) -> str:
    """Pretty JSON of ``value`` with long lists and strings cut, saying how much was left out."""
    text = json.dumps(_cap(value, 0), indent=2, ensure_ascii=False, sort_keys=True, default=str)
    if len(text) > JSON_MAX_CHARS:
        text = f"{text[:JSON_MAX_CHARS]}\n... ({len(text) - JSON_MAX_CHARS:,} more characters not shown)"
    return text


def _cap(value: Any, depth: int) -> Any:
    if depth > JSON_DEPTH:
        return "... (nested too deep to show)"
    if isinstance(value, dict):
        kept = {str(k): _cap(v, depth + 1) for k, v in list(value.items())[:JSON_MAP_KEYS]}
        if len(value) > JSON_MAP_KEYS:
            kept["..."] = f"{len(value) - JSON_MAP_KEYS:,} more keys not shown"
        return kept
    if isinstance(value, (list, tuple)):
        items = [_cap(v, depth + 1) for v in value[:JSON_LIST_ITEMS]]
        if len(value) > JSON_LIST_ITEMS:
            items.append(f"... {len(value) - JSON_LIST_ITEMS:,} more items not shown")
        return items
    if isinstance(value, str):
        return _clip(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
