"""The catalogs riskframe reasons with: MITRE ATLAS and the NIST AI RMF Core.

Identifiers, names and relations only; no prose from ATLAS. Generated from the official releases
by :mod:`riskframe.catalog.atlas_import` and :mod:`riskframe.catalog.nist_import`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Maturity = Literal["feasible", "demonstrated", "realized"]
MATURITY_RANK: dict[str | None, int] = {"realized": 3, "demonstrated": 2, "feasible": 1, None: 0}

# The four functions of the AI RMF Core, in the framework's order, with the abbreviations NIST's
# playbook uses (GV-1.1, MS-2.7, ...).
NIST_FUNCTIONS: dict[str, str] = {"GOVERN": "GV", "MAP": "MP", "MEASURE": "MS", "MANAGE": "MG"}


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tactic(_Entry):
    id: str
    name: str
    shortname: str = Field(description="as ATLAS Navigator writes it, e.g. 'ml-attack-staging'")
    order: int = Field(description="position in the ATLAS matrix, left to right")


class Technique(_Entry):
    id: str
    name: str
    tactics: list[str] = Field(default_factory=list, description="tactic ids; a sub-technique inherits its parent's")
    parent: str | None = None
    maturity: Maturity | None = None


class Mitigation(_Entry):
    id: str
    name: str
    techniques: list[str] = Field(default_factory=list)
    lifecycle: list[str] = Field(default_factory=list, description="riskframe stage kinds, from ATLAS ml-lifecycle")
    category: list[str] = Field(default_factory=list)


class CaseStudy(_Entry):
    id: str
    name: str
    type: str | None = None
    techniques: list[str] = Field(default_factory=list)


class AtlasCatalog(_Entry):
    version: str
    source: str = Field(description="file name of the official release it was imported from")
    source_sha256: str | None = Field(default=None, description="digest of that file, for provenance")
    tactics: list[Tactic]
    techniques: list[Technique]
    mitigations: list[Mitigation]
    case_studies: list[CaseStudy]


class NistSubcategory(_Entry):
    id: str = Field(description="canonical form, e.g. 'MEASURE 2.7'")
    function: str
    category: str = Field(description="e.g. 'MEASURE 2'")
    statement: str


class NistCategory(_Entry):
    id: str
    function: str
    statement: str


class NistFunction(_Entry):
    id: str = Field(description="GOVERN, MAP, MEASURE or MANAGE")
    abbreviation: str = Field(description="GV, MP, MS or MG")
    summary: str


class NistCatalog(_Entry):
    framework: str
    version: str
    source: str = Field(default="", description="file name it was imported from")
    source_sha256: str | None = Field(default=None, description="digest of that file, for provenance")
    functions: list[NistFunction]
    categories: list[NistCategory]
    subcategories: list[NistSubcategory]
