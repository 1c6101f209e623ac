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
from riskframe.reports import decision, view
from riskframe.vocabulary import NO_VERDICT


def executive_summary(assessment: Assessment, baseline: BaselineComparison | None = None) -> list[tuple[str, str]]:
    """(label, sentence) pairs, in reading order."""
    attention = unreported(decision.attention(assessment), baseline)
    items = [("What was checked", _checked(assessment)), ("Decision", _decision(assessment))]
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


def _decision(assessment: Assessment) -> str:
    return decision.decision_sentence(assessment)


def _finding(result: ControlResult) -> str:
    share = view.poison_share(result)
    fact = f" An estimated {share} of the samples look poisoned." if share else ""
    return (
        f"“{result.requirement_title}” {view.status_word(result.status)} at the {result.stage} stage, with "
        f"{result.risk.level} remaining risk: {view.sentence(result.summary)}{fact}"
    )


def _next_step(assessment: Assessment, attention: list[ControlResult]) -> str:
    gate = assessment.gate
    if not attention:
        if not gate.waived and not gate.known:
            return "Nothing needs action before release; keep running the assessment on every change."
        left = []
        if gate.waived:
            expiry = min(r.waiver.expires for r in assessment.results
                         if r.waiver is not None and r.id in {w.result for w in gate.waived})
            n = len(gate.waived)
            left.append(f"fix the {n} waived result{'s' if n != 1 else ''} before "
                        f"{'its waiver expires' if n == 1 else 'their waivers expire'} ({expiry}"
                        f"{', the earliest' if n != 1 else ''})")
        if gate.known:
            left.append(f"fix the {len(gate.known)} known failure{'s' if len(gate.known) != 1 else ''} the "
                        "baseline carries")
        return f"Nothing new blocks the release; to close the risk, {' and '.join(left)}."
    steps = []
    failing = next((r for r in attention if r.status == "fail" and r.remediation), None)
    if failing is not None:
        steps.append(view.sentence(failing.remediation))
    elif any(r.status == "fail" for r in attention):
        where = ", ".join(dict.fromkeys(f"{r.requirement} at {r.stage}" for r in attention if r.status == "fail"))
        steps.append(f"Fix what the failing checks found ({where}); the findings below say what it is.")
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
