"""Policy inheritance: ``extends:``, overrides by requirement id, ``exclude:``, and where every
value of the effective policy came from.

A policy names its parents in ``extends:``: a name is a policy file (``NAME.yaml``) next to it or
among the bundled ``policies/``; a path is relative to the policy. Resolving a policy:

1. loads every file once, each after all the policies it extends (a depth-first walk of the
   ``extends`` lists, in order): these are the *layers*. An unknown parent or a cycle is a located
   error at the ``extends`` entry;
2. merges the layers in that order, a later layer winning where both say something (the rules
   are in :mod:`riskframe.spec.layers`);
3. validates the merged data once as a :class:`~riskframe.spec.policy.Policy` whose ``source`` is a
   :class:`ProvenanceMap`: every problem, and every location an assessment reports, names the file
   and line the value came from.

>>> from riskframe.spec.load import resolve_policy
>>> policy = resolve_policy("data-poisoning")  # a bundled policy, by name  # doctest: +SKIP
>>> [r.id for r in policy.requirements]  # doctest: +SKIP
['DP-1', 'DP-2', 'DP-3']
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from riskframe.errors import DocumentError
from riskframe.io.paths import shown_path as display_path  # the one way paths are shown
from riskframe.io.resources import bundled_dir
from riskframe.scoring import DEFAULT_MODEL, RiskModel
from riskframe.spec.common import API_VERSION
from riskframe.spec.layers import Layer, LayerShape, ProvenanceMap, merge_layers
from riskframe.spec.policy import Policy
from riskframe.spec.validation import did_you_mean, validate_model
from riskframe.spec.yaml_source import Loc, SourceMap, YamlDocument, load_yaml

SUFFIXES = (".yaml", ".yml")
MAX_DEPTH = 200  # far beyond any real hierarchy; keeps a runaway chain a located error, not a RecursionError


def policy_files(policy: Policy) -> list[Path]:
    """Every file the effective policy was read from, ancestors first."""
    if isinstance(policy.source, ProvenanceMap):
        return [Path(p) for p in policy.source.files]
    return [policy.path] if policy.path else []


# ---------------------------------------------------------------- finding and loading

def find_policy(ref: str | Path, base_dir: str | Path | None = None) -> Path:
    """The file ``ref`` names: an existing path, else a policy name looked up next to ``base_dir``
    and among the bundled policies."""
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    found = _lookup(str(ref), base)
    if found is None:
        shown = str(ref)
        if _is_path(shown):
            raise DocumentError.single(shown, "file not found")
        where = "in the current folder" if base_dir is None else f"in {display_path(base)}"
        raise DocumentError.single(shown, _unknown_name_message(shown, base, where))
    return found


def _lookup(ref: str, base: Path) -> Path | None:
    candidate = base / ref
    if candidate.is_file():
        return candidate
    if _is_path(ref):
        return None
    for folder in (base, bundled_dir("policies")):
        for suffix in SUFFIXES:
            if (folder / f"{ref}{suffix}").is_file():
                return folder / f"{ref}{suffix}"
    return None


def _is_path(ref: str) -> bool:
    return "/" in ref or "\\" in ref or ref.endswith(SUFFIXES)


def _unknown_name_message(name: str, base: Path, where: str = "next to this file") -> str:
    """``where`` says what ``base`` is: the folder of the file that names the policy, or the
    current folder for a name given on the command line."""
    known = sorted({p.stem for folder in (base, bundled_dir("policies")) for s in SUFFIXES
                    for p in folder.glob(f"*{s}")})
    return f"no policy named {name!r} {where} or among the bundled policies{did_you_mean(name, known)}"


def resolve_document(top: YamlDocument) -> Policy:
    """The effective policy of an already parsed policy document (see the module docstring)."""
    layers = _collect(top)
    data, provenance = merge_layers(layers)
    policy = validate_model(Policy, data, provenance)
    policy._source = provenance
    return policy


def _collect(top: YamlDocument) -> list[Layer]:
    order: list[Layer] = []
    done: set[Path] = set()

    def visit(doc: YamlDocument, stack: list[Path]) -> None:
        key = Path(doc.path).resolve()
        layer = Layer(doc, validate_model(LayerShape, doc.data, doc.source))
        stack.append(key)
        for index, ref in enumerate(layer.shape.extends):
            at: Loc = ("extends", index)
            parent = _lookup(ref, key.parent)
            if parent is None:
                message = (f"file not found: {display_path(key.parent / ref)}" if _is_path(ref)
                           else _unknown_name_message(ref, key.parent))
                raise doc.source.error(at, message, ref)
            parent_key = parent.resolve()
            if parent_key in stack:
                cycle = [*stack[stack.index(parent_key):], parent_key]
                raise doc.source.error(at, "extends makes a cycle: " + " -> ".join(map(display_path, cycle)), ref)
            if len(stack) >= MAX_DEPTH:
                raise doc.source.error(at, f"extends chain is deeper than {MAX_DEPTH} policies; refused", ref)
            if parent_key not in done:
                visit(_read_parent(parent, doc.source, at), stack)
        stack.pop()
        done.add(key)
        order.append(layer)

    visit(top, [])
    return order


def _read_parent(path: Path, child: SourceMap, at: Loc) -> YamlDocument:
    doc = load_yaml(path)
    data = doc.data

    def via() -> str:
        line, column = child.locate(at)
        return f"extended from {display_path(child.path)}:{line}:{column}"

    if not isinstance(data, dict):
        raise DocumentError.single(doc.path, f"a policy must be a mapping with apiVersion and kind ({via()})",
                                   line=1, column=1)
    if data.get("kind") != "Policy":
        raise doc.source.error(("kind",), f"expected a Policy document ({via()}), got {data.get('kind')!r}",
                               data.get("kind"))
    if data.get("apiVersion") not in (None, API_VERSION):
        raise doc.source.error(("apiVersion",), f"must be {API_VERSION!r}. Got {data['apiVersion']!r} instead.")
    return doc


# ---------------------------------------------------------------- merging

# ---------------------------------------------------------------- the risk model of several policies

def risk_model_of(policies: Sequence[Policy]) -> RiskModel:
    """The one risk model an assessment uses: the ``risk:`` section the policies agree on.

    Policies without a ``risk:`` section accept any; two that set it must set the same values
    (after defaults), else the second is a located error. Shared settings belong in a policy both
    extend.
    """
    configured = [p for p in policies if p.risk is not None]
    if not configured:
        return DEFAULT_MODEL
    first = configured[0]
    assert first.risk is not None
    for other in configured[1:]:
        assert other.risk is not None
        differences = _differences(first.risk.model_dump(), other.risk.model_dump())
        if differences:
            path, line, _ = first.source.origin(("risk",))
            raise other.source.error(("risk",), (
                f"differs from the risk section of policy {first.metadata.name!r} ({display_path(path)}:{line}) in "
                f"{'; '.join(differences)}. An assessment uses one risk model: make the risk sections agree, or "
                "set it once in a policy both extend"))
    return first.risk


def _differences(mine: dict[str, Any], theirs: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in mine.items():
        other = theirs[key]
        if isinstance(value, dict):
            out += _differences(value, other, f"{prefix}{key}.")
        elif value != other:
            out.append(f"{prefix}{key} ({other:g} here, {value:g} there)")
    return out


__all__ = ["ProvenanceMap", "display_path", "find_policy", "policy_files", "resolve_document", "risk_model_of"]
