"""The gate: the one pass/fail decision a CI job acts on.

It fails when any result ended in ``error`` (fail closed: an unmeasured risk is not an accepted
one), when a requirement or one of its controls produced no verdict (unless its policy says
``risk_appetite.unassessed: allow``), when a result fails a requirement whose severity is at or
above ``fail_on`` (whatever the pipeline's declared criticality makes of its residual risk: the team
being gated declares the criticality), or when any result that is not waived or not applicable
reaches the ``fail_on`` level of residual risk. The reasons list what failed it first, then the
waived results that would have failed it (with who accepted the risk, until when and why, and
what the check found this time: a waiver is not pinned to the finding it was written for), so a
passed gate says what it let through. A result whose waiver had expired says so in its reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from riskframe.assessment import ControlResult, Gate
from riskframe.vocabulary import Level, level_rank

_VERBS = {"pass": "passed", "warn": "warned", "fail": "failed", "skipped": "was skipped"}


def decide(results: Sequence[ControlResult], fail_on: Level, unassessed: Sequence[str] = (),
           policy_levels: Sequence[Level] = ()) -> Gate:
    """The decision and its reasons. ``unassessed`` says why each requirement that must produce a
    verdict produced none; ``policy_levels`` are the policies' own ``fail_on``: when ``fail_on``
    (from ``--fail-on``) is laxer than all of them, the last reason says so, pass or fail.

    Examples
    --------
    >>> decide([], "high").decision
    'pass'
    >>> decide([], "high", ["DP-1 (data-poisoning) produced no verdict (no dataset)"]).decision
    'fail'
    """
    failing: list[str] = [f"{why}; the gate fails closed (risk_appetite.unassessed: fail)" for why in unassessed]
    accepted: list[str] = []
    for result in results:
        where = f"{result.requirement} at stage {result.stage}: {result.control}"
        reaches = level_rank(result.risk.level) >= level_rank(fail_on)
        risk = f"{result.risk.level} residual risk ({result.risk.residual:.2f})"
        if result.status == "error":
            failing.append(f"{where} ended in error; the gate fails closed{_unapplied(result)}")
        elif result.status == "fail" and not reaches and level_rank(result.severity) >= level_rank(fail_on):
            failing.append(f"{where} failed a {result.severity}-severity requirement ({risk}), at or above "
                           f"fail_on: {fail_on}{_unapplied(result)}")
        elif result.status in _VERBS and reaches:
            failing.append(f"{where} {_VERBS[result.status]} with {risk}, at or above fail_on: {fail_on}"
                           f"{_unapplied(result)}")
        elif result.status == "waived" and result.waiver is not None and (reaches or _was_error(result)):
            w = result.waiver
            verb = "ended in error" if _was_error(result) else f"{_VERBS.get(w.waived_status or '', 'failed')} with"
            # What it found now, next to why it was accepted: a waiver is not pinned to the
            # evidence it was written for (a waiver for a 10% flip also covers 60%).
            accepted.append(f"{where} {verb}{'' if _was_error(result) else ' ' + risk}, waived until {w.expires} "
                            f"by {w.approved_by} ({w.source}): {w.justification} (found now: "
                            f"{_shortened(result.summary)})")
    strictest = min(policy_levels, key=level_rank, default=fail_on)
    loosened = ([f"fail_on {fail_on} was set on the command line (--fail-on); the policies fail at {strictest}"]
                if level_rank(fail_on) > level_rank(strictest) else [])
    return Gate(decision="fail" if failing else "pass", fail_on=fail_on, reasons=failing + accepted + loosened)


def _shortened(text: str, limit: int = 160) -> str:
    """``text`` up to ``limit`` characters, cut at a word with an ellipsis."""
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


def _was_error(result: ControlResult) -> bool:
    return result.waiver is not None and result.waiver.waived_status == "error"


def _unapplied(result: ControlResult) -> str:
    """Why a matching waiver did not apply, as the tail of a gate reason."""
    waiver = result.waiver
    if waiver is None or waiver.applied:
        return ""
    if waiver.status == "expired":
        return f"; its waiver ({waiver.source}) expired on {waiver.expires}"
    return f"; its waiver ({waiver.source}) does not cover errors (include_errors: false)"
