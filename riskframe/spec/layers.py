"""Merging policy layers: the rules of inheritance, and where each merged value came from.

:mod:`riskframe.spec.inherit` finds and loads the files of an ``extends:`` chain (the
*layers*, most basic first); :func:`merge_layers` merges them, a later layer winning where both say
something:

- ``requirements`` merge by ``id``: a requirement whose id is inherited changes only the fields it
  writes; ``controls`` merge by control id and their ``with:`` key by key; ``scope`` key by key;
  lists such as ``threats`` and ``nist`` are replaced whole; a new id adds a requirement;
- ``exclude: [{id, reason}]`` is the only way to drop an inherited requirement;
- ``risk_appetite`` and ``risk`` merge key by key (tables row by row); ``waivers`` accumulate;
- ``apiVersion``, ``kind``, ``metadata`` and ``extends`` are the policy's own.

The merged data comes with a :class:`ProvenanceMap`: for every location, the layer and the place in
that layer's file it came from, so that validation problems and assessment locations name the file
and line that wrote the value.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from riskframe.errors import DocumentError, Problem
from riskframe.io.paths import shown_path as display_path
from riskframe.spec.policy import Exclusion
from riskframe.spec.validation import did_you_mean
from riskframe.spec.yaml_source import Loc, SourceMap, YamlDocument

Origin = tuple[int, Loc]  # (layer index, location in that layer's file)


class ProvenanceMap(SourceMap):
    """A source map for data merged from several files: every location of the effective policy
    resolves to the file, line and column it came from."""

    def __init__(self, path: str, layers: Sequence[SourceMap], origins: dict[Loc, Origin],
                 overrides: dict[Loc, Origin]) -> None:
        super().__init__(path)
        self.layers, self.origins, self.overrides = list(layers), origins, overrides

    def trace(self, loc: Sequence[str | int]) -> tuple[SourceMap, Loc]:
        """The layer a location came from, and the location in that layer's file."""
        key = tuple(loc)
        for cut in range(len(key), -1, -1):
            hit = self.origins.get(key[:cut])
            if hit is not None:
                layer, base = hit
                return self.layers[layer], (*base, *key[cut:])
        return self.layers[-1], key

    def origin(self, loc: Sequence[str | int]) -> tuple[str, int, int]:
        layer, at = self.trace(loc)
        return (layer.path, *layer.locate(at))

    def locate(self, loc: Sequence[str | int]) -> tuple[int, int]:
        return self.origin(loc)[1:]

    def problem(self, loc: Sequence[str | int], message: str, value: Any = None) -> Problem:
        layer, at = self.trace(loc)
        return layer.problem(at, message, value)

    def override(self, loc: Sequence[str | int]) -> tuple[str, int, int] | None:
        """Where a later layer last changed the control entry or requirement at (or around) ``loc``,
        if one did; the most specific override wins."""
        key = tuple(loc)
        hit = next((found for cut in range(len(key), 0, -1) if (found := self.overrides.get(key[:cut]))), None)
        if hit is None:
            return None
        layer = self.layers[hit[0]]
        return (layer.path, *layer.locate(hit[1]))

    @property
    def files(self) -> list[str]:
        """The files merged, in the order they apply (the policy itself last)."""
        return [layer.path for layer in self.layers]


class _RefShape(BaseModel):
    model_config = ConfigDict(extra="allow")
    control: str
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")


class _RequirementShape(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    controls: list[_RefShape] = Field(default_factory=list)
    scope: dict[str, Any] = Field(default_factory=dict)


class LayerShape(BaseModel):
    """What merging needs of one file: the rest is checked once, on the merged policy."""

    model_config = ConfigDict(extra="allow")
    extends: list[Annotated[str, StringConstraints(min_length=1)]] = Field(default_factory=list)
    exclude: list[Exclusion] = Field(default_factory=list)
    requirements: list[_RequirementShape] = Field(default_factory=list)
    risk_appetite: dict[str, Any] = Field(default_factory=dict)
    risk: dict[str, Any] | None = None
    waivers: list[Any] = Field(default_factory=list)


@dataclass
class Layer:
    """One file of an ``extends:`` chain: its parsed document and the shape merging relies on."""

    doc: YamlDocument
    shape: LayerShape

    @property
    def data(self) -> dict[str, Any]:
        return self.doc.data  # type: ignore[no-any-return]

    @property
    def source(self) -> SourceMap:
        return self.doc.source


_OWN = ("apiVersion", "kind", "metadata", "extends")
_MERGED = ("exclude", "requirements", "risk_appetite", "risk", "waivers")


@dataclass
class _Entry:
    """One requirement being merged: its data and, per relative location, where each part came from."""

    data: dict[str, Any]
    origins: dict[Loc, Origin]
    override: Origin | None = None
    control_overrides: dict[int, Origin] = field(default_factory=dict)


class _Merger:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.origins: dict[Loc, Origin] = {}
        self.requirements: dict[str, _Entry] = {}
        self.excluded: dict[str, str] = {}  # id -> file:line of the exclusion
        self.exclusions: list[tuple[dict[str, Any], Origin]] = []
        self.waivers: list[tuple[Any, Origin]] = []

    def apply(self, k: int, layer: Layer) -> None:
        problems = self._exclude(k, layer) + self._requirements(k, layer)
        if problems:
            raise DocumentError(problems)
        for section in ("risk_appetite", "risk"):
            values = layer.data.get(section)
            if isinstance(values, dict):
                target = self.data.setdefault(section, {})
                self.origins.setdefault((section,), (k, (section,)))
                _merge_into(target, self.origins, (section,), values, k, (section,))
        self.waivers += [(w, (k, ("waivers", i))) for i, w in enumerate(layer.data.get("waivers") or [])]
        for key, value in layer.data.items():  # unknown keys: kept, so that validation reports them
            if key not in (*_OWN, *_MERGED):
                self.data[key], self.origins[(key,)] = copy.deepcopy(value), (k, (key,))

    def _exclude(self, k: int, layer: Layer) -> list[Problem]:
        problems, src = [], layer.source
        own = {r.id for r in layer.shape.requirements}
        if layer.shape.exclude and not layer.shape.extends:
            return [src.problem(("exclude",), "this policy extends no other policy: there is nothing to exclude")]
        for x, exclusion in enumerate(layer.shape.exclude):
            at: Loc = ("exclude", x, "id")
            rid = exclusion.id
            if rid in own:
                problems.append(src.problem(at, f"requirement {rid!r} is both excluded and defined in this policy; "
                                            "keep one", rid))
            elif rid in self.excluded:
                problems.append(src.problem(at, f"requirement {rid!r} is already excluded at {self.excluded[rid]}",
                                            rid))
            elif rid not in self.requirements:
                inherited = list(self.requirements)
                problems.append(src.problem(at, f"no inherited requirement {rid!r} to exclude"
                                            f"{did_you_mean(rid, inherited)}; inherited: "
                                            f"{_short_list(inherited)}", rid))
            else:
                del self.requirements[rid]
                self.excluded[rid] = f"{display_path(src.path)}:{src.locate(('exclude', x))[0]}"
                self.exclusions.append(({"id": rid, "reason": exclusion.reason}, (k, ("exclude", x))))
        return problems

    def _requirements(self, k: int, layer: Layer) -> list[Problem]:
        problems, src = [], layer.source
        seen: dict[str, int] = {}
        for i, raw in enumerate(layer.data.get("requirements") or []):
            at: Loc = ("requirements", i)
            rid = raw["id"]
            if rid in seen:
                problems.append(src.problem((*at, "id"), f"requirement id {rid!r} is already used by "
                                            f"requirements[{seen[rid]}]", rid))
                continue
            seen[rid] = i
            if rid in self.excluded:
                problems.append(src.problem((*at, "id"), f"requirement {rid!r} is excluded at {self.excluded[rid]}; "
                                            "an excluded requirement cannot be overridden (remove the exclusion, or "
                                            "give a new requirement a new id)", rid))
            elif rid in self.requirements:
                _override(self.requirements[rid], raw, k, at)
            else:
                self.requirements[rid] = _Entry(copy.deepcopy(raw), {(): (k, at)})
        return problems

    def finish(self, layers: Sequence[Layer]) -> tuple[dict[str, Any], ProvenanceMap]:
        top = len(layers) - 1
        data, origins = self.data, self.origins
        origins[()] = (top, ())
        for key in _OWN:
            if key in layers[top].data:
                data[key], origins[(key,)] = copy.deepcopy(layers[top].data[key]), (top, (key,))
        overrides: dict[Loc, Origin] = {}
        data["requirements"] = []
        holder = max((k for k, layer in enumerate(layers) if "requirements" in layer.data), default=top)
        origins[("requirements",)] = (holder, ("requirements",))
        for j, entry in enumerate(self.requirements.values()):
            data["requirements"].append(entry.data)
            origins.update({("requirements", j, *rel): o for rel, o in entry.origins.items()})
            if entry.override is not None:
                overrides[("requirements", j)] = entry.override
            overrides.update({("requirements", j, "controls", m): o for m, o in entry.control_overrides.items()})
        for name, items in (("exclude", self.exclusions), ("waivers", self.waivers)):
            if items:
                data[name] = [copy.deepcopy(value) for value, _ in items]
                origins.update({(name, n): o for n, (_, o) in enumerate(items)})
                origins[(name,)] = (items[-1][1][0], (name,))
        provenance = ProvenanceMap(layers[top].source.path, [layer.source for layer in layers], origins, overrides)
        return data, provenance


def merge_layers(layers: Sequence[Layer]) -> tuple[dict[str, Any], ProvenanceMap]:
    merger = _Merger()
    for k, layer in enumerate(layers):
        merger.apply(k, layer)
    return merger.finish(layers)


def _override(entry: _Entry, raw: dict[str, Any], k: int, at: Loc) -> None:
    """A later layer's requirement with an inherited id: field by field over the inherited one."""
    for key, value in raw.items():
        if key == "id":
            continue
        if key == "controls" and isinstance(value, list):
            _override_controls(entry, value, k, (*at, "controls"))
        elif key == "scope" and isinstance(value, dict) and isinstance(entry.data.get("scope"), dict):
            _merge_into(entry.data["scope"], entry.origins, ("scope",), value, k, (*at, "scope"))
        else:
            entry.data[key], entry.origins[(key,)] = copy.deepcopy(value), (k, (*at, key))
    entry.override = (k, at)


def _override_controls(entry: _Entry, refs: list[dict[str, Any]], k: int, at: Loc) -> None:
    controls = entry.data.setdefault("controls", [])
    for c, ref in enumerate(refs):
        m = next((m for m, mine in enumerate(controls) if mine.get("control") == ref["control"]), None)
        if m is None:
            controls.append(copy.deepcopy(ref))
            entry.origins[("controls", len(controls) - 1)] = (k, (*at, c))
            continue
        for key, value in ref.items():
            if key == "with" and isinstance(value, dict) and isinstance(controls[m].get("with", {}), dict):
                if "with" not in controls[m]:
                    controls[m]["with"] = {}
                    entry.origins[("controls", m, "with")] = (k, (*at, c, "with"))
                _merge_into(controls[m]["with"], entry.origins, ("controls", m, "with"), value, k, (*at, c, "with"))
            elif key != "control":
                controls[m][key], entry.origins[("controls", m, key)] = copy.deepcopy(value), (k, (*at, c, key))
        entry.control_overrides[m] = (k, (*at, c))


def _merge_into(target: dict[str, Any], origins: dict[Loc, Origin], at: Loc, values: dict[str, Any],
                k: int, layer_at: Loc) -> None:
    """Key by key, recursing into mappings both sides have; everything else is replaced whole."""
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], origins, (*at, key), value, k, (*layer_at, key))
        else:
            here: Loc = (*at, key)
            target[key], origins[here] = copy.deepcopy(value), (k, (*layer_at, key))


def _short_list(items: Sequence[str], limit: int = 10) -> str:
    if not items:
        return "none"
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
