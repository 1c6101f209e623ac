"""What ``riskframe catalog show`` says about each kind of catalog entry.

A view is a plain dict (printed as JSON with ``--format json``) that :func:`render_view` turns
into aligned ``label: value`` lines.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any, Protocol

from riskframe.catalog.model import NIST_FUNCTIONS, CaseStudy, Mitigation, Tactic, Technique
from riskframe.catalog.store import Catalog
from riskframe.io.paths import shown_path

_ATLAS_URL = "https://atlas.mitre.org"
_LABELS = {"subtechniques": "sub-techniques", "case_studies": "case studies", "stage_kinds": "stage kinds"}
_WIDTH = 100  # wrap long statements for an ordinary terminal


class _Named(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


def view_of(catalog: Catalog, kind: str, entry: Any, controls: list[Any]) -> dict[str, Any]:
    """The view of ``entry`` (of ``kind``, as :meth:`Catalog.find` names it), with the
    ``controls`` that detect or implement it."""
    return _VIEWS[kind](catalog, entry, controls)


def _technique_view(catalog: Catalog, t: Technique, controls: list[Any]) -> dict[str, Any]:
    parent = catalog.technique(t.parent) if t.parent else None
    return {
        "id": t.id, "name": technique_name(catalog, t), "maturity": t.maturity,
        "tactics": [_ref(catalog.tactics[x], shortname=catalog.tactics[x].shortname) for x in t.tactics],
        "parent": _ref(parent) if parent else None,
        "subtechniques": [_ref(s) for s in catalog.subtechniques(t.id)],
        "mitigations": [_ref(m) for m in catalog.mitigations_for(t.id)],
        "case_studies": [_ref(c) for c in catalog.case_studies_using(t.id)],
        "controls": [_control_ref(c) for c in controls if t.id in _upper(c.atlas.detects)],
        "url": f"{_ATLAS_URL}/techniques/{t.id}",
    }


def _mitigation_view(catalog: Catalog, m: Mitigation, controls: list[Any]) -> dict[str, Any]:
    return {
        "id": m.id, "name": m.name, "category": m.category,
        "stage_kinds": m.lifecycle,
        "techniques": [_ref(catalog.techniques[x], name=technique_name(catalog, catalog.techniques[x]))
                       for x in m.techniques],
        "controls": [_control_ref(c) for c in controls if m.id in _upper(c.atlas.mitigates)],
        "url": f"{_ATLAS_URL}/mitigations/{m.id}",
    }


def _tactic_view(catalog: Catalog, t: Tactic, controls: list[Any]) -> dict[str, Any]:
    top_level = [x for x in catalog.techniques_in(t.id) if not x.parent]
    return {
        "id": t.id, "name": t.name, "shortname": t.shortname, "order": t.order,
        "techniques": [_ref(x, subtechniques=len(catalog.subtechniques(x.id))) for x in top_level],
        "url": f"{_ATLAS_URL}/tactics/{t.id}",
    }


def _case_study_view(catalog: Catalog, c: CaseStudy, controls: list[Any]) -> dict[str, Any]:
    return {
        "id": c.id, "name": c.name, "type": c.type,
        "techniques": [_ref(catalog.techniques[x], name=technique_name(catalog, catalog.techniques[x]))
                       for x in c.techniques],
        "url": f"{_ATLAS_URL}/studies/{c.id}",
    }


def _subcategory_view(catalog: Catalog, s: Any, controls: list[Any]) -> dict[str, Any]:
    category = catalog.nist_categories.get(s.category)
    return {
        "id": s.id, "also_written": f"{NIST_FUNCTIONS[s.function]}-{s.id.split(' ')[1]}",
        "function": s.function,
        "category": {"id": s.category, "name": category.statement if category else ""},
        "statement": s.statement,
        "controls": [_control_ref(c) for c in controls if s.id in {catalog.nist_id(x) for x in c.nist}],
    }


def _category_view(catalog: Catalog, c: Any, controls: list[Any]) -> dict[str, Any]:
    return {"id": c.id, "function": c.function, "statement": c.statement,
            "subcategories": [{"id": s.id, "name": s.statement} for s in catalog.nist.subcategories
                              if s.category == c.id]}


def _function_view(catalog: Catalog, f: Any, controls: list[Any]) -> dict[str, Any]:
    return {"id": f.id, "abbreviation": f.abbreviation, "summary": f.summary,
            "categories": [{"id": c.id, "name": c.statement} for c in catalog.nist.categories
                           if c.function == f.id]}


_VIEWS: dict[str, Callable[[Catalog, Any, list[Any]], dict[str, Any]]] = {
    "technique": _technique_view, "mitigation": _mitigation_view, "tactic": _tactic_view,
    "case-study": _case_study_view, "subcategory": _subcategory_view, "category": _category_view,
    "function": _function_view}


def _ref(entry: _Named, **extra: Any) -> dict[str, Any]:
    return {"id": entry.id, "name": entry.name, **extra}


def _control_ref(control: Any) -> dict[str, Any]:
    return {"id": control.id, "name": control.title, "file": shown_path(control.path) if control.path else None}


def technique_name(catalog: Catalog, technique: Technique) -> str:
    """A sub-technique's name reads as ATLAS shows it: 'AI Supply Chain Compromise: Data'."""
    parent = catalog.technique(technique.parent) if technique.parent else None
    return f"{parent.name}: {technique.name}" if parent else technique.name


def _upper(ids: list[str]) -> set[str]:
    return {i.strip().upper() for i in ids}


def render_view(view: dict[str, Any]) -> list[str]:
    """A view as aligned ``label: value`` lines under an ``ID  name`` title; lists one item a line
    (one item of the list returned per terminal line)."""
    fields = {key: value for key, value in view.items() if key not in ("id", "name")}
    width = max(len(_LABELS.get(key, key.replace("_", " "))) for key in fields) + 1
    lines = [f"{view['id']}  {view['name']}" if view.get("name") else view["id"]]
    for key, value in fields.items():
        label = _LABELS.get(key, key.replace("_", " ")) + ":"
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            value = ", ".join(value)  # names (stage kinds, categories) read best on one line
        items = value if isinstance(value, list) else [value]
        texts = [_item_text(item) for item in items] or ["-"]
        for index, text in enumerate(texts):
            prefix = f"  {label if index == 0 else '':<{width}} "
            # paths and hyphenated names (initial-access, label-flip-screen.yaml) stay whole
            wrapped = textwrap.wrap(text, _WIDTH - len(prefix), break_long_words=False,
                                    break_on_hyphens=False) or ["-"]
            lines.append(prefix + wrapped[0])
            lines += [" " * (len(prefix) + 2) + more for more in wrapped[1:]]
    return lines


def _item_text(item: Any) -> str:
    if item is None or item == "":
        return "-"
    if isinstance(item, dict):
        text = f"{item['id']}  {item['name']}"
        if item.get("subtechniques"):
            text += f"  (+{item['subtechniques']} sub-techniques)"
        return f"{text}  ({item['file']})" if item.get("file") else text
    return str(item)


