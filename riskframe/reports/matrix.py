"""The ATLAS matrix seen through one assessment: tactics in matrix order, each technique's state.

Shared by the ATLAS Navigator layers and the heat map of the HTML report. An assessment carries
technique and tactic ids only; tactic names, the short names the Navigator uses, and the
techniques no requirement addresses come from the installed catalog. A report must still render
where that catalog is missing or broken: the matrix then holds the assessment's own techniques
under their tactic ids.

>>> from riskframe.reports.matrix import atlas_matrix
>>> matrix = atlas_matrix(assessment)  # doctest: +SKIP
>>> [column.tactic.shortname for column in matrix.columns][:3]  # doctest: +SKIP
['reconnaissance', 'resource-development', 'initial-access']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from riskframe.assessment import Assessment, TechniqueStatus
from riskframe.errors import RiskframeError

if TYPE_CHECKING:
    from riskframe.catalog import Catalog

# covered: a control produced a verdict for it; unverified: the policy names it but no control
# produced a verdict (every run erred, did not apply or found no stage); gap: no requirement names it.
State = Literal["covered", "unverified", "gap"]


@dataclass(frozen=True)
class Tactic:
    id: str
    name: str
    shortname: str | None = None


@dataclass(frozen=True)
class Cell:
    """One technique under one tactic."""

    technique_id: str
    name: str
    parent: str | None
    state: State
    status: TechniqueStatus | None

    @property
    def level(self) -> str | None:
        return self.status.level if self.status else None


@dataclass(frozen=True)
class Column:
    tactic: Tactic
    cells: list[Cell]


@dataclass(frozen=True)
class AtlasMatrix:
    columns: list[Column]
    assessment_version: str | None
    catalog_version: str | None

    @property
    def versions_differ(self) -> bool:
        return None not in (self.assessment_version, self.catalog_version) and (
            self.assessment_version != self.catalog_version
        )


def installed_catalog() -> Catalog | None:
    """The installed catalog, or None where it cannot be read (the report renders without it)."""
    try:
        from riskframe.catalog import load_catalog

        return load_catalog()
    except (RiskframeError, OSError, ValueError, ImportError):
        return None


def atlas_matrix(
    assessment: Assessment, catalog: Catalog | None = None, *, gaps: bool = True, subtechniques: bool = False
) -> AtlasMatrix:
    """Every tactic of the matrix with its techniques, in the catalog's order.

    Parameters
    ----------
    assessment
        Its ``atlas`` entries give the state of the techniques the policies address.
    catalog
        Default: :func:`installed_catalog`. Without one, only the assessment's techniques appear.
    gaps
        Include the techniques no requirement addresses (``state == "gap"``).
    subtechniques
        Include every sub-technique; otherwise only those the assessment addresses, right
        after their parent, the way the ATLAS matrix folds them.
    """
    catalog = catalog if catalog is not None else installed_catalog()
    addressed = {t.id: t for t in assessment.atlas}
    version = assessment.tool.catalogs.get("atlas")
    if catalog is None:
        return AtlasMatrix(_columns_without_catalog(assessment), version, None)
    columns = []
    for tactic in sorted(catalog.atlas.tactics, key=lambda t: t.order):
        cells = []
        for technique in catalog.techniques_in(tactic.id):
            status = addressed.get(technique.id)
            is_sub = technique.parent is not None
            if (is_sub and not subtechniques and status is None) or (status is None and not gaps):
                continue
            cells.append(Cell(technique.id, technique.name, technique.parent, _state(status), status))
        cells += [_cell(t) for t in assessment.atlas if tactic.id in t.tactics and catalog.technique(t.id) is None]
        columns.append(Column(Tactic(tactic.id, tactic.name, tactic.shortname), _parents_first(cells)))
    return AtlasMatrix(columns, version, catalog.atlas.version)


def _state(status: TechniqueStatus | None) -> State:
    if status is None:
        return "gap"
    return "covered" if status.covered else "unverified"


def _cell(status: TechniqueStatus) -> Cell:
    parent = status.id.rsplit(".", 1)[0] if status.id.count(".") == 2 else None
    return Cell(status.id, status.name, parent, _state(status), status)


def _parents_first(cells: list[Cell]) -> list[Cell]:
    """Sub-techniques right after their parent (catalog order lists them apart)."""
    tops = [c for c in cells if c.parent is None]
    placed = {c.technique_id for c in tops}
    ordered: list[Cell] = []
    for top in tops:
        ordered.append(top)
        ordered += [c for c in cells if c.parent == top.technique_id]
    # A sub-technique whose parent is not shown in this column still appears, at the end.
    return ordered + [c for c in cells if c.parent is not None and c.parent not in placed]


def _columns_without_catalog(assessment: Assessment) -> list[Column]:
    order = list(dict.fromkeys(tactic for t in assessment.atlas for tactic in t.tactics))
    return [
        Column(Tactic(tactic, tactic), _parents_first([_cell(t) for t in assessment.atlas if tactic in t.tactics]))
        for tactic in order
    ]
