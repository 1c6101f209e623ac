"""The gate: the one pass/fail decision a CI job acts on, and the record every report renders.

It fails when any result ended in ``error`` (fail closed: an unmeasured risk is not an accepted
one), when a requirement or one of its controls produced no verdict (unless its policy says
``risk_appetite.unassessed: allow``), when a result fails a requirement whose severity is at or
above ``fail_on`` (whatever the pipeline's declared criticality makes of its residual risk: the team
being gated declares the criticality), or when any result that is not waived or not applicable
reaches the ``fail_on`` level of residual risk.

The decision comes with its record (:class:`~riskframe.assessment.Gate`): the failing reasons, the
waived results that would have failed it (with who accepted the risk, until when and why, and what
the check found this time: a waiver is not pinned to the finding it was written for), the failures
a ``--baseline`` already had (:func:`without_known`), the requirements without a verdict a policy
allows, where ``fail_on`` came from, and the highest risk level among the results the gate counts.
Every report renders its sentences from those fields; nothing parses the text back.

This module is the only place a gate decision is made.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from riskframe.assessment import ControlResult, Gate, GateReason, GateWhy
from riskframe.errors import UsageError
from riskframe.vocabulary import LEVELS, Level, level_rank, strictest

_VERBS = {"pass": "passed", "warn": "warned", "fail": "failed", "skipped": "was skipped"}
# Statuses whose residual risk the gate counts; a waived result's risk is accepted, a
# not_applicable one measured nothing.
_COUNTED = ("pass", "warn", "fail", "error", "skipped")


@dataclass(frozen=True)
class NoVerdict:
    """A requirement (or some of its controls) that produced no verdict, and why."""

    requirement: str
    policy: str
    why: str
    controls: tuple[str, ...] = ()

    def sentence(self) -> str:
        what = f": {', '.join(self.controls)}" if self.controls else ""
        return f"{self.requirement} ({self.policy}){what} produced no verdict ({self.why})"


def decide(results: Sequence[ControlResult], fail_on: Level, unassessed: Sequence[NoVerdict] = (),
           policy_levels: Sequence[Level] = (), *, allowed: Sequence[NoVerdict] = (),
           source: str = "policy") -> Gate:
    """The decision and its record.

    Parameters
    ----------
    results
        Every result of the assessment.
    fail_on
        The level the gate fails at.
    unassessed, allowed
        The requirements that produced no verdict, under policies that fail on them and under
        policies that allow them (``risk_appetite.unassessed``).
    policy_levels
        The policies' own ``fail_on``.
    source
        ``"command-line"`` when ``fail_on`` came from ``--fail-on``: the record then says so, and
        when it is laxer than the policies, the last reason says what the policies would do.

    Examples
    --------
    >>> decide([], "high").decision
    'pass'
    >>> decide([], "high", [NoVerdict("DP-1", "data-poisoning", "no dataset")]).failing[0].text
    'DP-1 (data-poisoning) produced no verdict (no dataset); the gate fails closed (risk_appetite.unassessed: fail)'
    """
    failing = [_no_verdict(u, "; the gate fails closed (risk_appetite.unassessed: fail)") for u in unassessed]
    waived: list[GateReason] = []
    for result in results:
        reached = level_rank(result.risk.level) >= level_rank(fail_on)
        if result.status == "error":
            failing.append(_reason(result, "error", f"ended in error; the gate fails closed{_unapplied(result)}"))
        elif result.status == "fail" and not reached and level_rank(result.severity) >= level_rank(fail_on):
            failing.append(_reason(result, "severity", f"failed a {result.severity}-severity requirement "
                                   f"({_risk(result)}), at or above fail_on: {fail_on}{_unapplied(result)}"))
        elif result.status in _VERBS and reached:
            failing.append(_reason(result, "risk", f"{_VERBS[result.status]} with {_risk(result)}, at or above "
                                   f"fail_on: {fail_on}{_unapplied(result)}"))
        elif result.status == "waived" and result.waiver is not None and (reached or _was_error(result)):
            waived.append(_waived(result))
    gate = Gate(decision="fail" if failing else "pass", fail_on=fail_on,
                policy_fail_on=strictest(policy_levels, default=fail_on),
                fail_on_source="command-line" if source == "command-line" else "policy",
                level=counted_level(results), failing=failing, waived=waived,
                unassessed=[_no_verdict(u, "; the policy allows it (risk_appetite.unassessed: allow)")
                            for u in allowed], reasons=[])
    return gate.model_copy(update={"reasons": _sentences(gate)})


def without_known(gate: Gate, results: Sequence[ControlResult], known: Collection[str], baseline: str,
                  notes: Sequence[str] = ()) -> Gate:
    """``gate`` not counting the failing results whose ids are in ``known`` (the ``--baseline``'s).

    The known failures move from ``failing`` to ``known`` (a known failure the gate did not count
    anyway, below its level, is listed there too, so the reports show every known failure);
    the decision and the level are those of the rest. ``notes`` (what the comparison says) close
    the reasons.
    """
    failing = [r for r in gate.failing if r.result is None or r.result not in known]
    known_reasons = [_reason(r, "known", ("ended in error" if r.status == "error" else f"failed with {_risk(r)}")
                             + f"; already failing in the baseline {baseline} with the same evidence, not counted")
                     for r in results if r.id in known]
    gate = gate.model_copy(update={"decision": "fail" if failing else "pass", "failing": failing,
                                   "known": known_reasons, "baseline": baseline,
                                   "level": counted_level([r for r in results if r.id not in known])})
    return gate.model_copy(update={"reasons": _sentences(gate) + list(notes)})


def portfolio_decision(decisions: Collection[Literal["pass", "fail"]]) -> Literal["pass", "fail"]:
    """The gate of several systems assessed together (``riskframe assess-all``): it passes only
    when every system's own gate passed.

    >>> portfolio_decision(["pass", "fail"]), portfolio_decision(["pass"]), portfolio_decision([])
    ('fail', 'pass', 'pass')
    """
    return "fail" if "fail" in decisions else "pass"


def _sentences(gate: Gate) -> list[str]:
    """The record's reasons as sentences: failing, waived, known, then where a laxer fail_on came from."""
    notes = ([f"fail_on {gate.fail_on} was set on the command line (--fail-on); the policies fail at "
              f"{gate.policy_fail_on}"]
             if gate.fail_on_source == "command-line" and gate.policy_fail_on is not None
             and level_rank(gate.fail_on) > level_rank(gate.policy_fail_on) else [])
    return [r.text for r in (*gate.failing, *gate.waived, *gate.known)] + notes


def counted_level(results: Sequence[ControlResult]) -> Level:
    """The highest residual risk level among the results the gate counts (``low`` with none)."""
    ranks = [level_rank(r.risk.level) for r in results if r.status in _COUNTED]
    return LEVELS[max(ranks, default=0)]


def check_override(fail_on: Level | None, policies: Sequence[tuple[str, Level, str]]) -> None:
    """Refuse a ``--fail-on`` laxer than a policy whose ``risk_appetite.cli_override`` is
    ``stricter-only`` (the default): the organisation's gate is not the command line's to loosen.

    ``policies`` are (name, fail_on, cli_override) triples.

    Raises
    ------
    UsageError
        Naming the policy, its level and the setting.

    Examples
    --------
    >>> check_override("critical", [("data-poisoning", "high", "any")])
    >>> check_override("medium", [("data-poisoning", "high", "stricter-only")])
    """
    if fail_on is None:
        return
    for name, level, override in policies:
        if override == "stricter-only" and level_rank(fail_on) > level_rank(level):
            raise UsageError(
                f"--fail-on {fail_on}: policy {name!r} fails at {level} and allows only a stricter --fail-on "
                "(risk_appetite.cli_override: stricter-only); use --fail-on "
                f"{' or '.join(LEVELS[:level_rank(level) + 1][::-1])}, or set cli_override: any in the policy")


def _where(result: ControlResult) -> str:
    on = f" on {result.artifact}" if result.artifact else ""
    return f"{result.requirement} at stage {result.stage}: {result.control}{on}"


def _risk(result: ControlResult) -> str:
    return f"{result.risk.level} residual risk ({result.risk.residual:.2f})"


def _reason(result: ControlResult, why: GateWhy, tail: str) -> GateReason:
    waiver = result.waiver
    status = waiver.waived_status if result.status == "waived" and waiver is not None else result.status
    return GateReason(why=why, requirement=result.requirement, policy=result.policy, stage=result.stage,
                      control=result.control, artifact=result.artifact, result=result.id, status=status,
                      severity=result.severity, level=result.risk.level, residual=result.risk.residual,
                      waiver=waiver.source if waiver is not None and waiver.source else None,
                      text=f"{_where(result)} {tail}")


def _waived(result: ControlResult) -> GateReason:
    w = result.waiver
    assert w is not None
    verb = "ended in error" if _was_error(result) else f"{_VERBS.get(w.waived_status or '', 'failed')} with"
    # What it found now, next to why it was accepted: a waiver is not pinned to the evidence it
    # was written for (a waiver for a 10% flip also covers 60%).
    return _reason(result, "waived", f"{verb}{'' if _was_error(result) else ' ' + _risk(result)}, waived until "
                   f"{w.expires} by {w.approved_by} ({w.source}): {w.justification} (found now: "
                   f"{_shortened(result.summary)})")


def _no_verdict(unassessed: NoVerdict, tail: str) -> GateReason:
    return GateReason(why="unassessed", requirement=unassessed.requirement, policy=unassessed.policy,
                      control=", ".join(unassessed.controls) or None, text=unassessed.sentence() + tail)


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
