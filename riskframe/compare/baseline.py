"""``--baseline OLD_ASSESSMENT.json``: report only the failures that are new since an earlier run.

A team adopting riskframe on a pipeline that already has findings wants CI to stop the *next*
regression without first fixing everything (Checkov's ``--baseline``, SARIF's ``baselineState``).
Results are matched by their ``id`` (``requirement/stage/control[/artifact]``, stable across runs).
A result is *failing* when its status is ``fail`` or ``error``; a failing result is *known* when
the baseline had the same id failing **with the same evidence fingerprint**
(:mod:`riskframe.compare.fingerprints`: the digests of the artifacts it examined, and what it found). A
failure at a known place whose evidence changed (a second unsafe model file, a poisoned share grown
from 1% to 30%) is *changed*, and counts as new:

- the gate record moves the known failures from its failing reasons to its known ones
  (:func:`riskframe.engine.gate.without_known`: the gate is not decided again), and says how many
  it left out and why, and which failures count as new although their id failed before;
  ``assessment.json`` keeps every result, so it can itself serve as the next baseline;
- the reports list the new failures as findings and the known ones as known (SARIF
  ``baselineState: unchanged``), reading the comparison from the render context (:func:`comparison_in`).

A baseline is comparable only under the same policy content: the assessment records a digest of
the resolved policies and every run's parameters (``policy_digest``), and a baseline with another
digest is refused (exit 2): a tightened threshold or severity would otherwise pass as "known".

Warnings and passing results are never suppressed: a warning whose residual risk reaches the
gate's level still fails the gate, baseline or not (docs/ci.md explains the choice).

>>> from riskframe.compare.baseline import load_baseline, rebase
>>> baseline = load_baseline("reports/main/assessment.json")  # doctest: +SKIP
>>> assessment, comparison = rebase(assessment, baseline)  # doctest: +SKIP
>>> comparison.sentence()  # doctest: +SKIP
'2 failing results were already failing in the baseline reports/main/assessment.json ...'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from riskframe.assessment import Assessment, ControlResult
from riskframe.compare.fingerprints import evidence_of
from riskframe.errors import UsageError
from riskframe.vocabulary import FAILING

if TYPE_CHECKING:
    from riskframe.reports.base import RenderContext

RULE = ("A failure counts as known only when its evidence fingerprint is the baseline's: the same "
        "digests of the artifacts it examined and the same findings.")


@dataclass(frozen=True)
class Baseline:
    """An earlier assessment, and the path the user gave for it (shown in the reports)."""

    path: str
    assessment: Assessment


@dataclass(frozen=True)
class BaselineComparison:
    """Which failing results of the current assessment the baseline already had.

    ``known`` and ``new`` partition the current failing results (in assessment order); ``changed``
    (a part of ``new``) maps the ones whose id was failing in the baseline with other evidence to
    what changed; ``fixed`` were failing in the baseline and are not failing now; ``before`` is each
    baseline result's status; ``fingerprints`` the evidence fingerprint of each current failing result.
    """

    path: str
    created_at: str
    known: tuple[str, ...]
    new: tuple[str, ...]
    fixed: tuple[str, ...]
    before: Mapping[str, str] = field(default_factory=dict)
    changed: Mapping[str, str] = field(default_factory=dict)
    fingerprints: Mapping[str, str] = field(default_factory=dict)

    def is_known(self, result_id: str) -> bool:
        return result_id in self.known

    def sentence(self) -> str:
        """What the reports say about the known failures, in one sentence."""
        count = len(self.known)
        if count == 0:
            return (f"No failing result was already failing in the baseline {self.path} ({self.created_at}); "
                    "the reports list every one and the gate counts every one.")
        results = "failing result was" if count == 1 else "failing results were"
        them = "it" if count == 1 else "them"
        return (
            f"{count} {results} already failing in the baseline {self.path} ({self.created_at}); "
            f"the reports list {them} as known and the gate does not count {them}."
        )

    def changed_sentence(self) -> str:
        """The failures that count as new although their id failed in the baseline, and why ('' if none).

        >>> comparison = BaselineComparison("main.json", "2025-01-01", (), ("SC-1/m/scan",), (),
        ...                                 changed={"SC-1/m/scan": "artifact model changed"})
        >>> comparison.changed_sentence()[-67:]
        'because its evidence changed: SC-1/m/scan (artifact model changed).'
        """
        if not self.changed:
            return ""
        count = len(self.changed)
        results, its = ("failing result was", "its") if count == 1 else ("failing results were", "their")
        listed = "; ".join(f"{i} ({why})" for i, why in self.changed.items())
        return (f"{count} {results} failing in the baseline too but count{'s' if count == 1 else ''} as new "
                f"because {its} evidence changed: {listed}.")

    def explanation(self) -> list[str]:
        """Every sentence the reports say about the baseline: the known failures and why, the changed ones."""
        lines = [self.sentence(), RULE] if self.known else []
        return [*lines, *([self.changed_sentence()] if self.changed else [])]


def load_baseline(path: str | Path) -> Baseline:
    """Read the baseline assessment (``riskframe.errors.InputError`` when it is not one)."""
    from riskframe.reports.json_report import load_assessment

    return Baseline(str(path), load_assessment(path))


def compare(current: Assessment, baseline: Baseline) -> BaselineComparison:
    """Match the failing results of ``current`` against ``baseline`` by id and evidence fingerprint.

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
    _check_same_policies(current, baseline)
    before = {r.id: r.status for r in old.results}
    was_failing = {r.id: evidence_of(r, old) for r in old.results if r.status in FAILING}
    failing_now = {r.id: evidence_of(r, current) for r in current.results if r.status in FAILING}
    known, new, changed = [], [], {}
    for result_id, evidence in failing_now.items():
        then = was_failing.get(result_id)
        if then is not None and then.fingerprint == evidence.fingerprint:
            known.append(result_id)
            continue
        new.append(result_id)
        if then is not None:
            changed[result_id] = evidence.changes_since(then) or "the evidence changed"
    fixed = tuple(i for i in was_failing if i not in failing_now)
    return BaselineComparison(baseline.path, old.created_at, tuple(known), tuple(new), fixed, before, changed,
                              {i: e.fingerprint for i, e in failing_now.items()})


def _check_same_policies(current: Assessment, baseline: Baseline) -> None:
    """A failure is comparable only under the same policy content (the assessments' ``policy_digest``)."""
    old = baseline.assessment
    if current.policy_digest is None:
        raise UsageError(f"--baseline: this assessment was written by an older riskframe (schema "
                         f"{current.schema_version}), which recorded neither the gate's reasons as data nor its "
                         "policies' digest; assess again to compare it with a baseline")
    if old.policy_digest != current.policy_digest:
        then = f"digest {old.policy_digest[:12]}" if old.policy_digest else "no recorded digest (an older riskframe)"
        raise UsageError(
            f"--baseline: {baseline.path} was assessed under other policy content ({then}; now "
            f"{current.policy_digest[:12]}): a failure is comparable only under the same requirements, "
            "severities, thresholds and risk model; assess the baseline again with the current policies"
        )


def apply_baseline(current: Assessment, comparison: BaselineComparison) -> Assessment:
    """``current`` with its gate record not counting the known failures (the gate is not decided again)."""
    from riskframe.engine.gate import without_known

    gate = without_known(current.gate, current.results, set(comparison.known), comparison.path,
                         comparison.explanation())
    return current.model_copy(update={"gate": gate})


def rebase(current: Assessment, baseline: Baseline | None) -> tuple[Assessment, BaselineComparison | None]:
    """:func:`compare` and :func:`apply_baseline` in one step; no baseline changes nothing."""
    if baseline is None:
        return current, None
    comparison = compare(current, baseline)
    return apply_baseline(current, comparison), comparison


def unreported(results: Sequence[ControlResult], comparison: BaselineComparison | None) -> list[ControlResult]:
    """``results`` without the known failures, which the reports list apart."""
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
