"""Which samples an assessment flagged, by whom, and why.

Sample-level results carry ``flagged_indices`` (indices into a dataset artifact, most suspicious
first) and usually ``scores`` (same order, 1 = worst) in their evidence. The dataset is the
result's ``artifact``, unless the evidence names another in ``flagged_artifact`` (a model-level
check such as ``trigger-reverse-engineering`` runs on held-out data but flags training samples).

>>> Selection().admits_status("fail"), Selection().admits_status("pass")
(True, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from riskframe.assessment import Assessment, ControlResult
from riskframe.errors import UsageError
from riskframe.spec.validation import did_you_mean

# A passing result's flags are within what its control tolerates (natural label noise, say):
# acting on them is a choice the user makes with --include-passing.
DEFAULT_STATUSES = ("fail", "warn")


@dataclass(frozen=True)
class Selection:
    """Which results to trust: controls and result ids (empty: all), statuses, and a score floor."""

    controls: tuple[str, ...] = ()
    results: tuple[str, ...] = ()
    min_score: float = 0.0
    include_passing: bool = False

    def admits_status(self, status: str) -> bool:
        return status in DEFAULT_STATUSES or (self.include_passing and status == "pass")

    def as_dict(self) -> dict[str, Any]:
        return {"controls": list(self.controls), "results": list(self.results), "min_score": self.min_score,
                "statuses": [*DEFAULT_STATUSES, *(["pass"] if self.include_passing else [])]}


@dataclass(frozen=True)
class Flag:
    """One sample one result flagged."""

    artifact: str
    index: int
    score: float | None
    result: str
    control: str
    detector: str
    reason: str


@dataclass(frozen=True)
class Collected:
    flags: list[Flag]
    used: list[str] = field(default_factory=list)
    below_min_score: int = 0


def collect_flags(assessment: Assessment, selection: Selection) -> Collected:
    """The flags of the selected sample-level results, sorted by artifact, index and result.

    Raises
    ------
    UsageError
        A ``--control`` or ``--result`` names nothing in the assessment.

    Examples
    --------
    >>> collected = collect_flags(assessment, Selection(min_score=0.5))  # doctest: +SKIP
    >>> collected.flags[0].artifact, collected.flags[0].index  # doctest: +SKIP
    ('train', 17)
    """
    _check_names(assessment, selection)
    flags: list[Flag] = []
    used, dropped = [], 0
    for result in assessment.results:
        if not _selected(result, selection):
            continue
        found = flags_of(result)
        if found is None:
            continue
        used.append(result.id)
        kept = [f for f in found if f.score is None or f.score >= selection.min_score]
        dropped += len(found) - len(kept)
        flags += kept
    flags.sort(key=lambda f: (f.artifact, f.index, f.result))
    return Collected(flags, used, dropped)


def flags_of(result: ControlResult) -> list[Flag] | None:
    """The flags in one result's evidence, or None when it carries no usable ``flagged_indices``."""
    evidence = result.evidence
    indices = evidence.get("flagged_indices")
    artifact = evidence.get("flagged_artifact") or result.artifact
    if not isinstance(indices, list) or not isinstance(artifact, str):
        return None
    if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in indices):
        return None
    scores = _aligned(evidence.get("scores"), len(indices))
    reasons = _reasons(result, len(indices))
    return [Flag(artifact, i, scores[k] if scores else None, result.id, result.control, result.detector, reasons[k])
            for k, i in enumerate(indices)]


def _selected(result: ControlResult, selection: Selection) -> bool:
    if selection.results:
        return result.id in selection.results  # named explicitly: trusted whatever its status
    if selection.controls and result.control not in selection.controls:
        return False
    return selection.admits_status(result.status)


def _check_names(assessment: Assessment, selection: Selection) -> None:
    controls = {r.control for r in assessment.results}
    ids = {r.id for r in assessment.results}
    for name in selection.controls:
        if name not in controls:
            raise UsageError(f"--control {name}: no result of the assessment comes from control {name!r}"
                             f"{did_you_mean(name, controls)}; controls: {', '.join(sorted(controls)) or 'none'}")
    for name in selection.results:
        if name not in ids:
            raise UsageError(f"--result {name}: the assessment has no result with this id{did_you_mean(name, ids)}")


def _aligned(value: Any, length: int) -> list[float] | None:
    if not isinstance(value, list) or len(value) != length:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return None
    return [float(v) for v in value]


def _reasons(result: ControlResult, length: int) -> list[str]:
    """Per sample: the relabelling a label check suggests, else what the control found."""
    evidence = result.evidence
    given, suggested = evidence.get("given_labels"), evidence.get("suggested_labels")
    base = f"{result.control} ({result.status}): {result.summary}"
    if isinstance(given, list) and isinstance(suggested, list) and len(given) == len(suggested) == length:
        return [f"labelled {g}, looks like {s}; {result.control}" for g, s in zip(given, suggested, strict=True)]
    return [base] * length


def describe(flags: Sequence[Flag]) -> str:
    """``'37 samples of train (2 results)'`` for messages."""
    samples = {(f.artifact, f.index) for f in flags}
    artifacts = sorted({f.artifact for f in flags})
    results = {f.result for f in flags}
    return (f"{len(samples)} sample{'s' if len(samples) != 1 else ''} of {', '.join(artifacts)} "
            f"({len(results)} result{'s' if len(results) != 1 else ''})")
