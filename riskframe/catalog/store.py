"""Look-ups over the generated catalogs in ``atlas_catalog/``, and the format of those files.

>>> from riskframe.catalog import load_catalog
>>> catalog = load_catalog()
>>> catalog.technique("AML.T0020").name
'Poison Training Data'
>>> catalog.nist_id("ms-2.7")
'MEASURE 2.7'
>>> catalog.find("initial-access")[1].id
'AML.TA0004'
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from riskframe.catalog.model import (
    NIST_FUNCTIONS,
    AtlasCatalog,
    CaseStudy,
    Mitigation,
    NistCatalog,
    NistCategory,
    NistFunction,
    NistSubcategory,
    Tactic,
    Technique,
)
from riskframe.errors import DocumentError
from riskframe.io.resources import bundled_dir
from riskframe.spec.validation import did_you_mean

_NIST_ABBREVIATIONS = {abbreviation: function for function, abbreviation in NIST_FUNCTIONS.items()}
_NIST_PATTERN = re.compile(r"^\s*([A-Za-z]+)[\s\-_.]*(\d+(?:\.\d+)?)\s*$")

# A release version becomes part of a file name (atlas-5.6.0.yaml): nothing that leaves the directory.
VERSION_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]*$")

# Which table an ATLAS id prefix points into, for suggestions restricted to the right kind.
_ATLAS_KIND_BY_PREFIX = {"TA": "tactic", "T": "technique", "M": "mitigation", "CS": "case-study"}


def normalize_nist_id(text: str) -> str | None:
    """``MEASURE 2.7`` for ``MEASURE 2.7``, ``MS-2.7``, ``measure-2.7`` or ``ms_2.7``.

    Only the form is checked, not whether the subcategory exists (see :meth:`Catalog.nist_id`).
    A category (``MS-2``) normalises to ``MEASURE 2``.

    >>> normalize_nist_id(" gv-1.1 ")
    'GOVERN 1.1'
    >>> normalize_nist_id("AML.T0020") is None
    True
    """
    match = _NIST_PATTERN.match(text)
    if not match:
        return None
    function = match.group(1).upper()
    function = _NIST_ABBREVIATIONS.get(function, function)
    if function not in NIST_FUNCTIONS:
        return None
    return f"{function} {match.group(2)}"


class Catalog:
    """ATLAS and the NIST AI RMF Core, indexed for look-ups."""

    def __init__(self, atlas: AtlasCatalog, nist: NistCatalog) -> None:
        self.atlas, self.nist = atlas, nist
        self.tactics: dict[str, Tactic] = {t.id: t for t in atlas.tactics}
        self.techniques: dict[str, Technique] = {t.id: t for t in atlas.techniques}
        self.mitigations: dict[str, Mitigation] = {m.id: m for m in atlas.mitigations}
        self.case_studies: dict[str, CaseStudy] = {c.id: c for c in atlas.case_studies}
        self.subcategories: dict[str, NistSubcategory] = {s.id: s for s in nist.subcategories}
        self.nist_categories: dict[str, NistCategory] = {c.id: c for c in nist.categories}
        self.nist_functions: dict[str, NistFunction] = {f.id: f for f in nist.functions}

    @property
    def versions(self) -> dict[str, str]:
        return {"atlas": self.atlas.version, "nist_ai_rmf": self.nist.version}

    # ATLAS -----------------------------------------------------------------------------------

    def technique(self, technique_id: str) -> Technique | None:
        return self.techniques.get(technique_id.strip().upper())

    def mitigation(self, mitigation_id: str) -> Mitigation | None:
        return self.mitigations.get(mitigation_id.strip().upper())

    def case_study(self, case_study_id: str) -> CaseStudy | None:
        return self.case_studies.get(case_study_id.strip().upper())

    def tactic(self, text: str) -> Tactic | None:
        """A tactic by id (``AML.TA0004``), Navigator short name (``initial-access``) or name."""
        text = text.strip()
        return self.tactics.get(text.upper()) or self._tactics_by_shortname.get(
            text.lower().replace(" ", "-")
        )

    def subtechniques(self, technique_id: str) -> list[Technique]:
        return self._children.get(technique_id, [])

    def techniques_in(self, tactic_id: str) -> list[Technique]:
        """Techniques and sub-techniques under a tactic, in catalog order."""
        return [t for t in self.atlas.techniques if tactic_id in t.tactics]

    def mitigations_for(self, technique_id: str) -> list[Mitigation]:
        return self._mitigations_by_technique.get(technique_id, [])

    def case_studies_using(self, technique_id: str) -> list[CaseStudy]:
        return self._case_studies_by_technique.get(technique_id, [])

    def atlas_problem(self, entry_id: str, kind: str = "technique") -> str | None:
        """Why ``entry_id`` is not a valid ATLAS ``kind`` id, or None when it is."""
        table = self._atlas_table(kind)
        if entry_id.strip().upper() in table:
            return None
        return f"unknown ATLAS {kind} {entry_id!r}{_atlas_hint(entry_id, table)} (ATLAS {self.atlas.version})"

    def _atlas_table(self, kind: str) -> dict[str, Any]:
        tables: dict[str, dict[str, Any]] = {"technique": self.techniques, "mitigation": self.mitigations,
                                             "tactic": self.tactics, "case-study": self.case_studies}
        return tables[kind]

    @cached_property
    def _tactics_by_shortname(self) -> dict[str, Tactic]:
        return {t.shortname: t for t in self.atlas.tactics}

    @cached_property
    def _children(self) -> dict[str, list[Technique]]:
        children: dict[str, list[Technique]] = defaultdict(list)
        for technique in self.atlas.techniques:
            if technique.parent:
                children[technique.parent].append(technique)
        return dict(children)

    @cached_property
    def _mitigations_by_technique(self) -> dict[str, list[Mitigation]]:
        index: dict[str, list[Mitigation]] = defaultdict(list)
        for mitigation in self.atlas.mitigations:
            for technique_id in mitigation.techniques:
                index[technique_id].append(mitigation)
        return dict(index)

    @cached_property
    def _case_studies_by_technique(self) -> dict[str, list[CaseStudy]]:
        index: dict[str, list[CaseStudy]] = defaultdict(list)
        for study in self.atlas.case_studies:
            for technique_id in dict.fromkeys(study.techniques):
                index[technique_id].append(study)
        return dict(index)

    # NIST AI RMF -----------------------------------------------------------------------------

    def nist_id(self, text: str) -> str | None:
        """Canonical subcategory id for ``MEASURE 2.7``, ``MS-2.7`` or ``measure-2.7``; None if unknown."""
        candidate = normalize_nist_id(text)
        return candidate if candidate in self.subcategories else None

    def nist_problem(self, text: str) -> str | None:
        """Why ``text`` is not a NIST AI RMF subcategory id, or None when it is."""
        if self.nist_id(text):
            return None
        match = _NIST_PATTERN.match(text)
        guess = text
        if match:
            function = match.group(1).upper()
            guess = f"{_NIST_ABBREVIATIONS.get(function, function)} {match.group(2)}"
        hint = did_you_mean(guess, self.subcategories)
        return (f"unknown NIST AI RMF subcategory {text!r}{hint}; "
                "write it as 'MEASURE 2.7' (also accepted: 'MS-2.7', 'measure-2.7')")

    def nist_function(self, text: str) -> NistFunction | None:
        """``GOVERN`` by name or abbreviation (``gv``)."""
        name = text.strip().upper()
        return self.nist_functions.get(_NIST_ABBREVIATIONS.get(name, name))

    # Any id ------------------------------------------------------------------------------------

    def find(self, text: str) -> tuple[str, BaseModel] | None:
        """The entry ``text`` names and its kind (``technique``, ``mitigation``, ``tactic``,
        ``case-study``, ``subcategory``, ``category``, ``function``), or None."""
        key = text.strip().upper()
        for kind in ("technique", "mitigation", "tactic", "case-study"):
            entry = self._atlas_table(kind).get(key)
            if entry is not None:
                return kind, entry
        if tactic := self.tactic(text):
            return "tactic", tactic
        nist = normalize_nist_id(text)
        if nist in self.subcategories:
            return "subcategory", self.subcategories[nist]
        if nist in self.nist_categories:
            return "category", self.nist_categories[nist]
        if function := self.nist_function(text):
            return "function", function
        return None

    def unknown_id_message(self, text: str) -> str:
        """What to tell someone who asked for an id that :meth:`find` does not know."""
        key = text.strip().upper()
        prefix = re.match(r"^AML\.(TA|CS|T|M)", key)
        if prefix:
            choices: Iterable[str] = self._atlas_table(_ATLAS_KIND_BY_PREFIX[prefix.group(1)])
        elif normalize_nist_id(text):
            return f"{self.nist_problem(text)}"
        else:
            choices = [*self.techniques, *self.mitigations, *self.tactics, *self.case_studies,
                       *self._tactics_by_shortname, *self.subcategories]
        return (f"unknown catalog id {text!r}{_atlas_hint(text, choices)}. Ids look like AML.T0020 "
                "(technique), AML.M0007 (mitigation), AML.TA0004 or initial-access (tactic), "
                "AML.CS0000 (case study), MEASURE 2.7 (NIST AI RMF subcategory)")


def _atlas_hint(text: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'AML.M0007'?)``: the zero-padded id when it exists (``AML.M007``, ``aml.t20``),
    else the closest by spelling."""
    choices = list(choices)
    match = re.match(r"^AML\.(TA|CS|T|M)(\d{1,4})(?:\.(\d{1,3}))?$", text.strip().upper())
    if match:
        prefix, number, sub = match.groups()
        padded = f"AML.{prefix}{int(number):04d}" + (f".{int(sub):03d}" if sub else "")
        if padded in choices:
            return f" (did you mean {padded!r}?)"
    return did_you_mean(text, choices)


def catalog_dir() -> Path:
    return bundled_dir("atlas_catalog")


def latest_atlas_file(directory: Path) -> Path:
    """The ``atlas-<version>.yaml`` with the highest version in ``directory``."""
    files = sorted(directory.glob("atlas-*.yaml"), key=lambda p: _version_key(p.stem.removeprefix("atlas-")))
    if not files:
        raise DocumentError.single(
            str(directory), "no atlas-<version>.yaml catalog here; run 'riskframe catalog import'")
    return files[-1]


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


@lru_cache(maxsize=4)
def load_catalog(directory: Path | None = None) -> Catalog:
    """Load the newest ATLAS catalog and the NIST AI RMF catalog from ``directory``
    (default: the catalogs shipped with riskframe).

    Raises
    ------
    DocumentError
        A catalog file is missing or is not a catalog riskframe wrote (a hand-edited file).
    """
    directory = directory or catalog_dir()
    atlas = _read_model(AtlasCatalog, latest_atlas_file(directory))
    nist_files = sorted(directory.glob("nist-ai-rmf-*.yaml"))
    if not nist_files:
        raise DocumentError.single(str(directory), "no nist-ai-rmf-<version>.yaml catalog here")
    return Catalog(atlas, _read_model(NistCatalog, nist_files[-1]))


def _read_model(model: type[AtlasCatalog] | type[NistCatalog], path: Path) -> Any:
    try:
        return model.model_validate(_read(path))
    except (yaml.YAMLError, ValidationError) as exc:
        detail = str(exc).splitlines()[0] if isinstance(exc, yaml.YAMLError) else _first_error(exc)
        raise DocumentError.single(
            str(path), f"not a catalog riskframe generated ({detail}); regenerate it with "
                       "'riskframe catalog import' (see atlas_catalog/README.md)") from None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def _read(path: Path) -> object:
    # The project's own generated files; the C safe loader when PyYAML has it (several times faster).
    safe_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=safe_loader)  # a safe loader


class _CatalogDumper(yaml.SafeDumper):
    """Lists of plain values on one line (``tactics: [AML.TA0003, AML.TA0006]``), so that an entry
    reads as one small block and a diff between releases shows one changed line."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(isinstance(item, (str, int, float)) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_CatalogDumper.add_representer(list, _represent_list)


def write_catalog_file(path: Path, catalog: BaseModel, header: Iterable[str]) -> Path:
    """Write a generated catalog: comment lines, then the model as YAML (the same bytes for the
    same catalog, so that a regenerated file can be compared with the committed one)."""
    body = yaml.dump(catalog.model_dump(mode="json", exclude_none=True), Dumper=_CatalogDumper,
                     sort_keys=False, allow_unicode=True, width=100)
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(comments + body, encoding="utf-8")
    return path


def file_sha256(path: str | Path) -> str | None:
    """The digest of a source file, recorded in a generated catalog; None if it cannot be read."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None
