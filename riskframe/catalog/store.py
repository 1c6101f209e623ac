"""Look-ups over the generated catalogs in ``atlas_catalog/``.

>>> from riskframe.catalog import load_catalog
>>> catalog = load_catalog()
>>> catalog.technique("AML.T0020").name
'Poison Training Data'
>>> catalog.nist_id("ms-2.7")
'MEASURE 2.7'
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import cached_property, lru_cache
from pathlib import Path

import yaml

from riskframe.catalog.model import (
    AtlasCatalog,
    CaseStudy,
    Mitigation,
    NistCatalog,
    NistSubcategory,
    Tactic,
    Technique,
)
from riskframe.errors import DocumentError
from riskframe.resources import bundled_dir
from riskframe.spec.validation import did_you_mean

_NIST_ABBREVIATIONS = {"GV": "GOVERN", "MP": "MAP", "MS": "MEASURE", "MG": "MANAGE"}
_NIST_PATTERN = re.compile(r"^\s*([A-Za-z]+)[\s\-_.]*(\d+(?:\.\d+)?)\s*$")
_ATLAS_PATTERN = re.compile(r"^AML\.(TA|T|M|CS)\d{4}(\.\d{3})?$")


class Catalog:
    """ATLAS and the NIST AI RMF Core, indexed for look-ups."""

    def __init__(self, atlas: AtlasCatalog, nist: NistCatalog) -> None:
        self.atlas, self.nist = atlas, nist
        self.tactics: dict[str, Tactic] = {t.id: t for t in atlas.tactics}
        self.techniques: dict[str, Technique] = {t.id: t for t in atlas.techniques}
        self.mitigations: dict[str, Mitigation] = {m.id: m for m in atlas.mitigations}
        self.case_studies: dict[str, CaseStudy] = {c.id: c for c in atlas.case_studies}
        self.subcategories: dict[str, NistSubcategory] = {s.id: s for s in nist.subcategories}

    @property
    def versions(self) -> dict[str, str]:
        return {"atlas": self.atlas.version, "nist_ai_rmf": self.nist.version}

    # ATLAS -----------------------------------------------------------------------------------

    def technique(self, technique_id: str) -> Technique | None:
        return self.techniques.get(technique_id.strip().upper())

    def mitigation(self, mitigation_id: str) -> Mitigation | None:
        return self.mitigations.get(mitigation_id.strip().upper())

    def subtechniques(self, technique_id: str) -> list[Technique]:
        return self._children.get(technique_id, [])

    def mitigations_for(self, technique_id: str) -> list[Mitigation]:
        return self._mitigations_by_technique.get(technique_id, [])

    def case_studies_using(self, technique_id: str) -> list[CaseStudy]:
        return self._case_studies_by_technique.get(technique_id, [])

    def atlas_problem(self, entry_id: str, kind: str = "technique") -> str | None:
        """Why ``entry_id`` is not a valid ATLAS ``kind`` id, or None when it is."""
        table = {"technique": self.techniques, "mitigation": self.mitigations,
                 "tactic": self.tactics, "case-study": self.case_studies}[kind]
        if entry_id.strip().upper() in table:
            return None
        hint = did_you_mean(entry_id, table)
        return f"unknown ATLAS {kind} {entry_id!r}{hint} (ATLAS {self.atlas.version})"

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
        match = _NIST_PATTERN.match(text)
        if not match:
            return None
        function = match.group(1).upper()
        function = _NIST_ABBREVIATIONS.get(function, function)
        candidate = f"{function} {match.group(2)}"
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


def looks_like_atlas_id(text: str) -> bool:
    return bool(_ATLAS_PATTERN.match(text.strip().upper()))


def catalog_dir() -> Path:
    return bundled_dir("atlas_catalog")


def latest_atlas_file(directory: Path) -> Path:
    """The ``atlas-<version>.yaml`` with the highest version in ``directory``."""
    files = sorted(directory.glob("atlas-*.yaml"), key=lambda p: _version_key(p.stem.removeprefix("atlas-")))
    if not files:
        raise DocumentError.single(str(directory), "no atlas-<version>.yaml catalog here; run 'riskframe catalog import'")
    return files[-1]


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


@lru_cache(maxsize=4)
def load_catalog(directory: Path | None = None) -> Catalog:
    """Load the newest ATLAS catalog and the NIST AI RMF catalog from ``directory``
    (default: the catalogs shipped with riskframe)."""
    directory = directory or catalog_dir()
    atlas = AtlasCatalog.model_validate(_read(latest_atlas_file(directory)))
    nist_files = sorted(directory.glob("nist-ai-rmf-*.yaml"))
    if not nist_files:
        raise DocumentError.single(str(directory), "no nist-ai-rmf-<version>.yaml catalog here")
    nist = NistCatalog.model_validate(_read(nist_files[-1]))
    return Catalog(atlas, nist)


def _read(path: Path) -> object:
    # The project's own generated files; the C safe loader when PyYAML has it (several times faster).
    safe_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=safe_loader)  # noqa: S506 - a safe loader
