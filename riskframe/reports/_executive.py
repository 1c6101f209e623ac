"""The executive summary of the HTML report: five plain sentences for a reader who is not an engineer.

What was checked, the decision and why, the most serious finding, what to do next, and how much
of the threat landscape the policy covers. No jargon beyond the names a governance reader meets
anyway (MITRE ATLAS, the NIST AI RMF); every number comes from the assessment.

>>> from riskframe.reports._executive import executive_summary
>>> [label for label, _ in executive_summary(assessment)]  # doctest: +SKIP
['What was checked', 'Decision', 'Most serious finding', 'What to do next', 'Coverage']
"""

from __future__ import annotations

from riskframe.assessment import Assessment, ControlResult
from riskframe.compare.baseline import BaselineComparison, unreported
from riskframe.reports import view
from riskframe.vocabulary import NO_VERDICT, level_rank

_RISK_STATUSES = ("pass", "warn", "fail", "skipped")


def executive_summary(assessment: Assessment, baseline: BaselineComparison | None = None) -> list[tuple[str, str]]:
    """(label, sentence) pairs, in reading order."""
    results = unreported(assessment.results, baseline)
    attention = unreported(view.attention_results(assessment), baseline)
    items = [("What was checked", _checked(assessment)), ("Decision", _decision(assessment, results))]
    if attention:
        items.append(("Most serious finding", _finding(attention[0])))
    items.append(("What to do next", _next_step(assessment, attention)))
    items.append(("Coverage", _coverage(assessment)))
    return items


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _checked(assessment: Assessment) -> str:
    pipeline = assessment.pipeline
    policies = ", ".join(f"“{p.name}”" for p in assessment.policies) or "no policy"
    ran = sum(1 for r in assessment.results if r.status not in NO_VERDICT)
    return (
        f"riskframe checked the machine-learning pipeline “{pipeline.name}” "
        f"({_plural(len(pipeline.stages), 'stage')}, {pipeline.criticality} business criticality) against "
        f"the policy {policies} ({_plural(assessment.summary.requirements, 'requirement')}): "
        f"{_plural(ran, 'automated check')} ran."
    )


def _decision(assessment: Assessment, results: list[ControlResult]) -> str:
    gate = assessment.gate
    if gate.decision == "pass":
        return (
            f"The release may go ahead: no check found a risk at or above the “{gate.fail_on}” level at which "
            "the policy blocks a release, and every check ran."
        )
    blocking = level_rank(gate.fail_on)
    reached = sum(1 for r in results if r.status in _RISK_STATUSES and level_rank(r.risk.level) >= blocking)
    errors = sum(1 for r in results if r.status == "error")
    why = []
    if reached:
        why.append(f"{_plural(reached, 'finding')} reached the “{gate.fail_on}” risk level the policy blocks on")
    if errors:
        why.append(
            f"{_plural(errors, 'check')} could not run (an unmeasured risk is not an accepted one, so this "
            "blocks the release too)"
        )
    reason = " and ".join(why) if why else "the policy's conditions were not met"
    return f"Do not release yet: the release gate failed because {reason}."


def _finding(result: ControlResult) -> str:
    share = view.poison_share(result)
    fact = f" An estimated {share} of the samples look poisoned." if share else ""
    return (
        f"“{result.requirement_title}” {view.status_word(result.status)} at the {result.stage} stage, with "
        f"{result.risk.level} remaining risk: {view.sentence(result.summary)}{fact}"
    )


def _next_step(assessment: Assessment, attention: list[ControlResult]) -> str:
    if not attention:
        return "Nothing needs action before release; keep running the assessment on every change."
    steps = []
    failing = next((r for r in attention if r.status == "fail" and r.remediation), None)
    if failing is not None:
        steps.append(view.sentence(failing.remediation))
    errors = [r for r in attention if r.status == "error"]
    if errors:
        where = ", ".join(dict.fromkeys(f"{r.requirement} at {r.stage}" for r in errors))
        steps.append(f"Get the checks that could not run working again and re-run them ({where}).")
    if not steps:
        steps.append("Review the warnings in the findings below with the team that owns the pipeline.")
    return " ".join(steps)


def _coverage(assessment: Assessment) -> str:
    techniques = assessment.atlas
    covered = sum(1 for t in techniques if t.covered)
    counts = {status: sum(1 for s in assessment.nist if s.status == status) for status in view.NIST_STATUSES}
    return (
        f"The policy addresses {_plural(len(techniques), 'MITRE ATLAS attack technique')}, and the checks gave "
        f"a verdict on {covered} of them. Of the {len(assessment.nist)} NIST AI RMF outcomes, the assessment "
        f"shows {counts['satisfied']} satisfied, {counts['not-satisfied']} not satisfied and "
        f"{counts['not-assessed']} not assessed by this policy."
    )
