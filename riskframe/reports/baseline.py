"""``--baseline OLD_ASSESSMENT.json``: report only the failures that are new since an earlier run.

A team adopting riskframe on a pipeline that already has findings wants CI to stop the *next*
regression without first fixing everything (Checkov's ``--baseline``, SARIF's ``baselineState``).
Results are matched by their ``id`` (``requirement/stage/control[/artifact]``, stable across runs).
A result is *failing* when its status is ``fail`` or ``error``; a failing result whose id was also
failing in the baseline is *known*:

- the gate is decided again without the known results (:func:`apply_baseline`), and says how many
  it left out; ``assessment.json`` keeps every result, so it can itself serve as the next baseline;
- the reports list only the new failures and say how many known ones they left out: SARIF, JUnit,
  Markdown and HTML read the comparison from the render context (:func:`comparison_in`).

Warnings and passing results are never suppressed: a warning whose residual risk reaches the
gate's level still fails the gate, baseline or not (docs/ci.md explains the choice).

>>> from riskframe.reports.baseline import load_baseline, rebase
>>> baseline = load_baseline("reports/main/assessment.json")  # doctest: +SKIP
>>> assessment, comparison = rebase(assessment, baseline)  # doctest: +SKIP
>>> comparison.sentence()  # doctest: +SKIP
'2 failing results were already failing in the baseline reports/main/assessment.json ...'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from riskframe.assessment import Assessment, ControlResult
from riskframe.errors import UsageError
from riskframe.reports.base import RenderContext

FAILING = ("fail", "error")


@dataclass(frozen=True)
class Baseline:
    """An earlier assessment, and the path the user gave for it (shown in the reports)."""

    path: str
    assessment: Assessment


@dataclass(frozen=True)
class BaselineComparison:
    """Which failing results of the current assessment the baseline already had.

    ``known`` and ``new`` partition the current failing results (in assessment order); ``fixed``
    were failing in the baseline and are not failing now; ``before`` is each baseline result's status.
    """

    path: str
    created_at: str
    known: tuple[str, ...]
    new: tuple[str, ...]
    fixed: tuple[str, ...]
    before: Mapping[str, str] = field(default_factory=dict)

    def is_known(self, result_id: str) -> bool:
        return result_id in self.known

    def sentence(self) -> str:
        """What the reports say about the baseline, in one sentence."""
        count = len(self.known)
        results = "failing result was" if count == 1 else "failing results were"
        them = "it" if count == 1 else "them"
        return (
            f"{count} {results} already failing in the baseline {self.path} ({self.created_at}); "
            f"the reports do not list {them} again and the gate does not count {them}."
        )


def load_baseline(path: str | Path) -> Baseline:
    """Read the baseline assessment (``riskframe.errors.InputError`` when it is not one)."""
    from riskframe.reports.json_report import load_assessment

    return Baseline(str(path), load_assessment(path))


def compare(current: Assessment, baseline: Baseline) -> BaselineComparison:
    """Match the failing results of ``current`` against ``baseline`` by id.

    Raises
    ------
    UsageError
        The baseline assesses another pipeline: its result ids would match by accident.
    """
    old = baseline.assessment
    if old.pipeline.name != current.pipeline.name:
        raise UsageError(
            f"--baseline: {baseline.path} assesses pipeline {old.pipeline.name!r}, not "
            f"{current.pipeline.name!r}; give an earlier assessment of the same pipeline"
        )
    before = {r.id: r.status for r in old.results}
    failing_now = [r.id for r in current.results if r.status in FAILING]
    known = tuple(i for i in failing_now if before.get(i) in FAILING)
    new = tuple(i for i in failing_now if before.get(i) not in FAILING)
    still = set(failing_now)
    fixed = tuple(i for i, status in before.items() if status in FAILING and i not in still)
    return BaselineComparison(baseline.path, old.created_at, known, new, fixed, before)


def apply_baseline(current: Assessment, comparison: BaselineComparison) -> Assessment:
    """``current`` with its gate decided again over every result but the known failures."""
    from riskframe.gate import decide

    counted = [r for r in current.results if not comparison.is_known(r.id)]
    gate = decide(counted, current.gate.fail_on)
    if comparison.known:
        gate = gate.model_copy(update={"reasons": [*gate.reasons, comparison.sentence()]})
    return current.model_copy(update={"gate": gate})


def rebase(current: Assessment, baseline: Baseline | None) -> tuple[Assessment, BaselineComparison | None]:
    """:func:`compare` and :func:`apply_baseline` in one step; no baseline changes nothing."""
    if baseline is None:
        return current, None
    comparison = compare(current, baseline)
    return apply_baseline(current, comparison), comparison


def unreported(results: Sequence[ControlResult], comparison: BaselineComparison | None) -> list[ControlResult]:
    """``results`` without the known failures, which the reports leave out."""
    if comparison is None:
        return list(results)
    return [r for r in results if not comparison.is_known(r.id)]


def comparison_in(context: RenderContext) -> BaselineComparison | None:
    return context.baseline


def render_reports(
    assessment: Assessment, out_dir: Path, formats: Sequence[str], comparison: BaselineComparison | None = None
) -> list[Path]:
    """:func:`riskframe.reports.render`, with ``comparison`` handed to every format.

    Examples
    --------
    >>> render_reports(assessment, Path("out"), ["sarif", "md"], comparison)  # doctest: +SKIP
    [PosixPath('out/riskframe.sarif'), PosixPath('out/report.md')]
    """
    from riskframe import reports

    return reports.render(assessment, out_dir, formats, comparison)
