"""What every report says about the gate, rendered from the gate record alone.

The HTML "In brief", the report's headline, ``report.md`` and the terminal all read
:class:`~riskframe.assessment.Gate` (failing, waived, known and unassessed reasons, the level the
gate counts, where ``fail_on`` came from) through these functions, so a waived failure, a
``--baseline`` run and a ``--fail-on`` set on the command line read the same, and truly, everywhere.
Assessments written before the record existed (schema 1.0) keep only ``reasons``: the functions
fall back to them and to the summary's level.

>>> from riskframe.reports.decision import headline
>>> headline(assessment)  # doctest: +SKIP
'Gate passed: high risk (75 out of 100), from 1 waived result; the highest risk the gate counts is low'
"""

from __future__ import annotations

from dataclasses import dataclass

from riskframe.assessment import Assessment, ControlResult, GateReason
from riskframe.reports import view
from riskframe.vocabulary import level_rank


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def structured(assessment: Assessment) -> bool:
    """Whether the assessment carries the gate record (schema 1.1 and later)."""
    return assessment.schema_version != "1.0"


def counted_level(assessment: Assessment) -> str:
    """The highest risk level the gate counts (the summary's, for an assessment without the record)."""
    return assessment.gate.level if structured(assessment) else assessment.summary.level


def uncounted(assessment: Assessment) -> str:
    """``1 waived result and 2 known failures``: what the gate set aside ('' for nothing)."""
    gate = assessment.gate
    parts = []
    if gate.waived:
        parts.append(_plural(len(gate.waived), "waived result"))
    if gate.known:
        parts.append(_plural(len(gate.known), "failure") + " known from the baseline")
    return " and ".join(parts)


def them(assessment: Assessment) -> str:
    """``it`` or ``them``, for what :func:`uncounted` names."""
    return "it" if len(assessment.gate.waived) + len(assessment.gate.known) == 1 else "them"


def headline(assessment: Assessment) -> str:
    """The report's title line: the decision and the overall risk, and what carries a risk the gate
    did not count (a passed gate beside a high score says why)."""
    gate, summary = assessment.gate, assessment.summary
    verdict = "Gate passed" if gate.decision == "pass" else "Gate failed"
    overall = f"{summary.level} risk ({round(summary.risk_score)} out of 100)"
    counted = counted_level(assessment)
    aside = uncounted(assessment)
    if loosened(assessment):
        verdict += f" under --fail-on {gate.fail_on} (the policies fail at {gate.policy_fail_on})"
    if level_rank(counted) < level_rank(summary.level) and aside:
        return f"{verdict}: {overall}, from {aside}; the highest risk the gate counts is {counted}"
    return f"{verdict}: {overall}"


def blocks_at(assessment: Assessment) -> str:
    """Who set the gate's level: ``the policy``, or ``--fail-on`` and how it compares to the policies."""
    gate = assessment.gate
    if gate.fail_on_source != "command-line":
        return "the policy"
    policies = gate.policy_fail_on
    if policies is None or policies == gate.fail_on:
        return "--fail-on"
    looser = level_rank(gate.fail_on) > level_rank(policies)
    return f"--fail-on ({'looser' if looser else 'stricter'} than the policies' “{policies}”)"


def loosened(assessment: Assessment) -> int | None:
    """How many results reach the policies' own level though a laxer --fail-on let them pass; None
    when fail_on was not loosened."""
    gate = assessment.gate
    if gate.fail_on_source != "command-line" or gate.policy_fail_on is None:
        return None
    policies = level_rank(gate.policy_fail_on)
    if level_rank(gate.fail_on) <= policies:
        return None
    known = {r.result for r in gate.known}
    return sum(1 for r in assessment.results if r.status in ("pass", "warn", "fail", "skipped", "error")
               and r.id not in known and (level_rank(r.risk.level) >= policies or r.status == "error"
                                          or (r.status == "fail" and level_rank(r.severity) >= policies)))


def silent_checks(assessment: Assessment) -> int:
    """Checks that had nothing to check: not applicable, or no stage to run on."""
    return len(assessment.not_assessed) + sum(r.status == "not_applicable" for r in assessment.results)


def decision_sentence(assessment: Assessment) -> str:
    """The decision and why, for a reader who is not an engineer (the HTML "In brief")."""
    gate = assessment.gate
    if gate.decision == "fail":
        return f"Do not release yet: the release gate failed because {_failed_because(assessment)}."
    counted = "no check the gate counts" if uncounted(assessment) else "no check"
    silent = silent_checks(assessment)
    ran = ("every check ran" if not silent else
           f"{_plural(silent, 'check')} had nothing to check, which the policy allows")
    parts = [f"The release may go ahead: {counted} found a risk at or above the “{gate.fail_on}” level at which "
             f"{blocks_at(assessment)} blocks a release, and {ran}."]
    parts += _aside_sentences(assessment)
    return " ".join(parts)


def _aside_sentences(assessment: Assessment) -> list[str]:
    gate = assessment.gate
    out = []
    if gate.waived:
        who = "; ".join(dict.fromkeys(_waived_by(r, assessment) for r in gate.waived))
        out.append(f"{_plural(len(gate.waived), 'result')} that would block it "
                   f"{'was' if len(gate.waived) == 1 else 'were'} accepted by a waiver ({who}): the risk is "
                   "accepted, not removed.")
    if gate.known:
        out.append(f"{_plural(len(gate.known), 'failing result')} already failing in the baseline {gate.baseline} "
                   f"{'is' if len(gate.known) == 1 else 'are'} not counted and still open.")
    reach = loosened(assessment)
    if reach:
        out.append(f"Under the policies' own level, “{gate.policy_fail_on}”, {_plural(reach, 'result')} would "
                   "block it.")
    return out


def _waived_by(reason: GateReason, assessment: Assessment) -> str:
    result = next((r for r in assessment.results if r.id == reason.result), None)
    waiver = result.waiver if result is not None else None
    if waiver is None:
        return reason.requirement
    return f"{reason.requirement}, by {waiver.approved_by} until {waiver.expires}"


def _failed_because(assessment: Assessment) -> str:
    gate = assessment.gate
    if not structured(assessment):
        return "the policy's conditions were not met"
    by = {why: [r for r in gate.failing if r.why == why] for why in ("risk", "severity", "error", "unassessed")}
    why = []
    if by["risk"]:
        why.append(f"{_plural(len(by['risk']), 'finding')} reached the “{gate.fail_on}” risk level "
                   f"{blocks_at(assessment)} blocks on")
    if by["severity"]:
        why.append(f"{_plural(len(by['severity']), 'check')} failed a requirement of “{gate.fail_on}” severity "
                   "or above (a failure lands on its severity's level)")
    if by["error"]:
        why.append(f"{_plural(len(by['error']), 'check')} could not run (an unmeasured risk is not an accepted "
                   "one, so this blocks the release too)")
    if by["unassessed"]:
        why.append(f"{_plural(len(by['unassessed']), 'requirement')} produced no verdict, which the policy does "
                   "not allow")
    return " and ".join(why) or "the policy's conditions were not met"


def gate_sentence(assessment: Assessment) -> str:
    """The gate decision in one line; "every check ran" only when it is true."""
    gate = assessment.gate
    if gate.decision == "fail":
        return (f"Gate failed: the gate is set to fail at '{gate.fail_on}' risk or above, on a failed requirement "
                "of that severity, or when a check cannot run.")
    silent = silent_checks(assessment)
    ran = ("every check ran" if not silent else
           f"{_plural(silent, 'check')} had nothing to check, which the policy allows")
    aside = uncounted(assessment)
    counted = f"no result the gate counts (not counted: {aside})" if aside else "no result"
    return f"Gate passed: {ran}, and {counted} reaches the '{gate.fail_on}' risk level at which the gate fails."


@dataclass(frozen=True)
class Section:
    """A titled list of gate reasons, as the reports show them."""

    title: str
    reasons: list[str]


def sections(assessment: Assessment) -> list[Section]:
    """The gate's reasons by kind: why it failed, what waivers accepted, what the baseline knew, notes."""
    gate = assessment.gate
    if not structured(assessment):
        verb = "passed" if gate.decision == "pass" else "failed"
        return [Section(f"Why the gate {verb}", list(gate.reasons))] if gate.reasons else []
    listed = {r.text for r in (*gate.failing, *gate.waived, *gate.known)}
    out = [
        Section("Why the gate failed", [r.text for r in gate.failing]),
        Section("Accepted by waivers (the gate does not count them; the risk remains)", [r.text for r in gate.waived]),
        Section(f"Known from the baseline {gate.baseline} (the gate does not count them; still open)",
                [r.text for r in gate.known]),
        Section("Not assessed, which the policy allows", [r.text for r in gate.unassessed]),
        Section("Notes", [r for r in gate.reasons if r not in listed]),
    ]
    return [s for s in out if s.reasons]


def known_ids(assessment: Assessment) -> set[str]:
    """The ids of the failing results the gate record counts as known from a baseline."""
    return {r.result for r in assessment.gate.known if r.result is not None}


def attention(assessment: Assessment) -> list[ControlResult]:
    """The findings that need attention: failing, erroring and warning results the gate counts."""
    known = known_ids(assessment)
    return [r for r in view.attention_results(assessment) if r.id not in known]


def set_aside(assessment: Assessment) -> list[tuple[str, list[ControlResult]]]:
    """(title, results) for the failures the gate set aside: waived, and known from the baseline."""
    gate = assessment.gate
    out = []
    waived = [r for r in assessment.results if r.status == "waived"]
    if waived:
        out.append((f"Waived: the risk is accepted, not removed ({_plural(len(waived), 'result')})", waived))
    known = known_ids(assessment)
    if known:
        rows = [r for r in assessment.results if r.id in known]
        out.append((f"Known from the baseline {gate.baseline}: failing there with the same evidence, not counted by "
                    f"the gate, still open ({_plural(len(rows), 'result')})", rows))
    return out


def nothing_sentence(assessment: Assessment) -> str:
    """What the findings section says when no counted result failed, errored or warned."""
    aside = uncounted(assessment)
    waived = sum(r.status == "waived" for r in assessment.results)
    if waived and not assessment.gate.waived:
        aside = " and ".join(filter(None, [_plural(waived, "waived result"), aside]))
    return f"No result the gate counts failed, errored or warned; {aside} listed below." if aside else \
        "No result failed, errored or warned."
