"""What the policy covers: which controls address which technique at which stage, the techniques
no requirement addresses (gaps), and the share of each ATLAS case study the policy has controls for.

A requirement *addresses* its ``threats`` and the techniques its controls detect; a technique
covers its sub-techniques (a requirement on AML.T0010 addresses AML.T0010.002), not the other way
round. A control *covers* a technique at a stage when the plan runs it there
(:func:`riskframe.engine.plan.plan_runs`: the stage's kind, the requirement's scope, an artifact
for the detector), which needs only the pipeline document, no data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from riskframe.catalog.model import MATURITY_RANK
from riskframe.catalog.store import Catalog
from riskframe.engine.plan import PlannedRun
from riskframe.spec.control import Control
from riskframe.spec.policy import Policy
from riskframe.vocabulary import level_rank


@dataclass
class ControlUse:
    """A control the plan runs at a stage: its effectiveness and the requirements it runs for."""

    effectiveness: float
    requirements: dict[str, None] = field(default_factory=dict)  # an ordered set


@dataclass
class StageCoverage:
    """What the plan runs at one stage: the controls, and the techniques each covers there."""

    controls: dict[str, ControlUse] = field(default_factory=dict)
    techniques: dict[str, dict[str, None]] = field(default_factory=dict)  # technique -> controls


@dataclass(frozen=True)
class Addressing:
    """A requirement that addresses a technique: ``named`` in its threats, or detected by its controls."""

    policy: str
    requirement: str
    severity: str
    named: bool = True


def with_subtechniques(ids: Iterable[str], catalog: Catalog) -> list[str]:
    """``ids`` followed by the sub-techniques of each, without repeats.

    >>> from riskframe.catalog import load_catalog
    >>> with_subtechniques(["AML.T0018"], load_catalog())
    ['AML.T0018', 'AML.T0018.000', 'AML.T0018.001', 'AML.T0018.002']
    """
    out = dict.fromkeys(ids)
    for technique_id in list(out):
        out.update(dict.fromkeys(t.id for t in catalog.subtechniques(technique_id)))
    return list(out)


def stage_covers(runs: Sequence[PlannedRun], catalog: Catalog, qualify: bool = False) -> dict[str, StageCoverage]:
    """stage -> what the plan runs there. Requirements are named ``policy/id`` when ``qualify``."""
    techniques: dict[tuple[str, str, str], frozenset[str]] = {}
    reached: dict[str, dict[str, set[str]]] = {}  # stage -> control -> techniques it covers there
    found: dict[str, StageCoverage] = {}
    for run in runs:
        stage, control = run.stage.name, run.control
        key = (run.policy.metadata.name, run.requirement.id, control.id)
        covered = techniques.get(key)
        if covered is None:
            covered = techniques[key] = frozenset(with_subtechniques(run.techniques, catalog))
        coverage = found.get(stage) or found.setdefault(stage, StageCoverage())
        use = coverage.controls.get(control.id) or coverage.controls.setdefault(
            control.id, ControlUse(control.effectiveness))
        use.requirements[f"{key[0]}/{key[1]}" if qualify else key[1]] = None
        reached.setdefault(stage, {}).setdefault(control.id, set()).update(covered)
    for stage, by_control in reached.items():
        coverage = found[stage]
        for control_id, techniques_here in by_control.items():
            for technique_id in sorted(techniques_here):  # sorted: the order must not depend on hashing
                coverage.techniques.setdefault(technique_id, {})[control_id] = None
    return found


def addressed_techniques(policies: Sequence[Policy], controls: Mapping[str, Control],
                         catalog: Catalog) -> dict[str, list[Addressing]]:
    """technique -> the requirements that address it (its threats and its controls' detections)."""
    found: dict[str, dict[Addressing, None]] = {}
    for policy in policies:
        for requirement in policy.requirements:
            detected = [t for ref in requirement.controls if ref.control in controls
                        for t in controls[ref.control].atlas.detects]
            for techniques, named in ((requirement.threats, True), (detected, False)):
                entry = Addressing(policy.metadata.name, requirement.id, requirement.severity, named)
                for technique_id in with_subtechniques(techniques, catalog):
                    found.setdefault(technique_id, {})[entry] = None
    return {t: list(entries) for t, entries in found.items()}


def worst_severity(entries: Iterable[Addressing]) -> str | None:
    """The most severe severity among the requirements that name the technique in their threats, or
    None when none does. Only a requirement's ``threats`` say how bad a technique is: a control that
    happens to detect it as well is no such statement (and adding one must never raise a risk)."""
    return max((e.severity for e in entries if e.named), key=level_rank, default=None)


def gap_order(technique_id: str, catalog: Catalog, max_residual: float, stages: int) -> tuple[object, ...]:
    """Sort key of a coverage gap: realized before demonstrated before feasible (before unknown), then
    the riskier, then the more widespread, then by id."""
    technique = catalog.technique(technique_id)
    maturity = technique.maturity if technique else None
    return (-MATURITY_RANK.get(maturity, 0), -max_residual, -stages, technique_id)


@dataclass(frozen=True)
class CaseStudyShare:
    """How much of one ATLAS case study the policy has controls for, and how much applies here."""

    id: str
    name: str
    type: str | None
    techniques: tuple[str, ...]
    covered: tuple[str, ...]
    applicable: tuple[str, ...]

    @property
    def exposed(self) -> tuple[str, ...]:
        """Techniques of the case study that apply to the pipeline and no requirement addresses."""
        return tuple(t for t in self.applicable if t not in self.covered)

    @property
    def share_covered(self) -> float:
        return len(self.covered) / len(self.techniques) if self.techniques else 0.0

    @property
    def share_applicable(self) -> float:
        return len(self.applicable) / len(self.techniques) if self.techniques else 0.0


def case_study_shares(catalog: Catalog, applicable: set[str], addressed: set[str]) -> list[CaseStudyShare]:
    """Every case study of the catalog, in catalog order.

    Examples
    --------
    >>> from riskframe.catalog import load_catalog
    >>> share = case_study_shares(load_catalog(), set(), {"AML.T0020"})[2]
    >>> share.id, share.covered, round(share.share_covered, 2)
    ('AML.CS0002', ('AML.T0020',), 0.25)
    """
    out = []
    for study in catalog.atlas.case_studies:
        techniques = tuple(dict.fromkeys(study.techniques))
        out.append(CaseStudyShare(
            study.id, study.name, study.type, techniques,
            covered=tuple(t for t in techniques if t in addressed),
            applicable=tuple(t for t in techniques if t in applicable)))
    return out


def most_exposed(shares: Iterable[CaseStudyShare], count: int = 5) -> list[CaseStudyShare]:
    """The case studies with the most applicable techniques the policy leaves unaddressed (then the
    largest applicable share, then by id); case studies with nothing exposed are left out."""
    exposed = [s for s in shares if s.exposed]
    exposed.sort(key=lambda s: (-len(s.exposed), -s.share_applicable, s.id))
    return exposed[:count]
