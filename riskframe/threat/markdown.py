"""``threat-model.md``: the threat model in Markdown, for a pull request, a wiki or a ticket.

Long lists are cut with a note pointing at ``threat-model.json``, so that a 2,000-stage pipeline
still gives a page a person can read.
"""

from __future__ import annotations

from collections.abc import Sequence

from riskframe.reports.markdown_text import md_cell, md_text
from riskframe.reports.view import percent, risk_number
from riskframe.threat.model import AttackPath, StageThreats, Technique, ThreatModel

MAX_LISTED = 6  # stage names listed in a table cell
MAX_GAPS = 60
MAX_STAGES = 60
TECHNIQUES_PER_STAGE = 12
CASE_STUDY_ROWS = 60


def render_markdown(model: ThreatModel) -> str:
    """The Markdown page of ``model``."""
    parts = [_header(model), _paths(model), _gaps(model), _unenforced(model), _case_studies(model),
             _stages(model)]
    return "\n".join(p for p in parts if p).rstrip() + "\n"


def listed(names: Sequence[str], limit: int = MAX_LISTED) -> str:
    """``a, b, c`` or ``a, b and 7 more``."""
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"


def path_title(path: AttackPath) -> str:
    return f"{path.entry} → {path.target}: {path.level} ({risk_number(path.risk)})"


def _header(model: ThreatModel) -> str:
    s = model.summary
    policies = ", ".join(f"{p.name} {p.version}" for p in model.policies) or "no policy"
    lines = [
        f"# Threat model of {md_text(model.pipeline.name)}",
        "",
        f"Against {md_text(policies)}; drawn {model.created_at} by riskframe {model.tool.version} "
        f"(ATLAS {model.tool.catalogs.get('atlas', '?')}), without running any detector.",
        "",
        f"- **{s.stages}** {_plural(s.stages, 'stage')}, **{s.entries}** untrusted "
        f"{_plural(s.entries, 'entry point')}, **{s.deployments}** {_plural(s.deployments, 'deployment')}",
        f"- **{s.applicable_techniques}** ATLAS techniques apply; the policy addresses **{s.addressed_techniques}**; "
        f"**{s.gaps}** are coverage gaps",
        f"- **{s.attack_paths}** {_plural(s.attack_paths, 'attack path')} (entry → deployment); the riskiest is "
        f"**{s.level}** "
        f"({risk_number(s.max_path_risk)})",
        "",
        "## Assumptions",
        "",
        *[f"- {md_text(a)}" for a in model.assumptions],
        "",
    ]
    return "\n".join(lines)


def _paths(model: ThreatModel) -> str:
    lines = ["## Attack paths", ""]
    if not model.paths:
        lines += [no_paths_sentence(model), ""]
        return "\n".join(lines)
    if model.summary.attack_paths > len(model.paths):
        lines += [f"The {len(model.paths)} riskiest of {model.summary.attack_paths}.", ""]
    for number, path in enumerate(model.paths, 1):
        others = f" (the riskiest of {path.alternatives:,} ways)" if path.alternatives > 1 else ""
        lines += [
            f"### {number}. {md_text(path_title(path))}",
            "",
            f"Stages{others}: {md_text(' → '.join(path.stages))}. Riskiest stage: {md_text(path.riskiest_stage)}.",
            "",
            f"Tactics: {md_text(' → '.join(path.tactics))}",
            "",
            "| stage | tactic | technique | residual | covered by a control |",
            "|---|---|---|---|---|",
        ]
        lines += [f"| {md_cell(s.stage)} | {md_cell(s.tactic_name)} | {s.technique} {md_cell(s.technique_name)} | "
                  f"{s.level} ({risk_number(s.residual)}) | {'yes' if s.covered else '**no**'} |" for s in path.steps]
        lines.append("")
    return "\n".join(lines)


def no_paths_sentence(model: ThreatModel) -> str:
    if not model.summary.entries:
        return ("No attack path: no stage is marked `trust: untrusted`. Mark the stages where data, models or "
                "code from outside the organisation enter.")
    if not model.summary.deployments:
        return "No attack path: the pipeline has no stage of kind `deployment`."
    return "No attack path: no deployment stage is downstream of an untrusted stage."


def _gaps(model: ThreatModel) -> str:
    lines = [f"## Coverage gaps ({len(model.gaps)})", "",
             "Techniques that apply to this pipeline and that no requirement addresses, realized before "
             "demonstrated before feasible.", ""]
    if not model.gaps:
        return "\n".join([*lines, "None.", ""])
    lines += ["| technique | maturity | stages | max residual |", "|---|---|---|---|"]
    lines += [f"| {g.id} {md_cell(g.name)} | {g.maturity or 'unknown'} | {md_cell(listed(g.stages))} | "
              f"{g.level} ({risk_number(g.max_residual)}) |" for g in model.gaps[:MAX_GAPS]]
    return "\n".join([*lines, *_more(len(model.gaps), MAX_GAPS, "gaps"), ""])


def _unenforced(model: ThreatModel) -> str:
    if not model.unenforced:
        return ""
    lines = ["## Addressed, but not checked everywhere", "",
             "A requirement names these techniques, but no control of it runs at these stages.", "",
             "| technique | requirements | stages without a control |", "|---|---|---|"]
    lines += [f"| {u.id} {md_cell(u.name)} | {md_cell(', '.join(u.requirements))} | {md_cell(listed(u.stages))} |"
              for u in model.unenforced]
    return "\n".join([*lines, ""])


def _case_studies(model: ThreatModel) -> str:
    by_id = {c.id: c for c in model.case_studies}
    lines = ["## ATLAS case studies", ""]
    if model.most_exposed:
        lines += ["Most exposed (case-study techniques that apply here and no requirement addresses):", ""]
        lines += [f"{n}. {c} {md_text(by_id[c].name)}: {md_text(', '.join(by_id[c].exposed))}"
                  for n, c in enumerate(model.most_exposed, 1)]
        lines.append("")
    lines += ["| case study | techniques | covered by the policy | apply here |", "|---|---|---|---|"]
    rows = sorted(model.case_studies, key=lambda c: (-c.share_covered, c.id))[:CASE_STUDY_ROWS]
    lines += [f"| {c.id} {md_cell(c.name)} | {len(c.techniques)} | {len(c.covered)} ({percent(c.share_covered)}) | "
              f"{len(c.applicable)} ({percent(c.share_applicable)}) |" for c in rows]
    return "\n".join([*lines, *_more(len(model.case_studies), CASE_STUDY_ROWS, "case studies"), ""])


def _stages(model: ThreatModel) -> str:
    described = {t.id: t for t in model.techniques}
    lines = ["## Stages", ""]
    for stage in model.stages[:MAX_STAGES]:
        lines += _stage(stage, described)
    return "\n".join([*lines, *_more(len(model.stages), MAX_STAGES, "stages")])


def _stage(stage: StageThreats, described: dict[str, Technique]) -> list[str]:
    inflow = f", inherits {risk_number(stage.inherited)} from {stage.inherited_from}" if stage.inherited_from else ""
    checks = "; ".join(f"{c.control} for {listed(c.requirements)}" for c in stage.controls)
    lines = [f"### {md_text(stage.name)} ({stage.kind}, {stage.trust}): {stage.level} ({risk_number(stage.residual)})",
             "", f"{len(stage.techniques)} techniques apply{inflow}. Controls run here: {md_text(checks or 'none')}.",
             ""]
    if not stage.techniques:
        return lines
    lines += ["| technique | maturity | why it applies | covered by | residual |", "|---|---|---|---|---|"]
    rows, left_out = stage.shown(TECHNIQUES_PER_STAGE)
    for t in rows:
        technique = described[t.id]
        why = "; ".join(f"{r.source}: {r.text}" for r in t.reasons)
        lines.append(f"| {t.id} {md_cell(technique.name)} | {technique.maturity or 'unknown'} | {md_cell(why)} | "
                     f"{md_cell(', '.join(t.covered_by) or '—')} | {t.level} ({risk_number(t.residual)}) |")
    more = ["", f"... and {left_out} more uncovered {_plural(left_out, 'technique')} in threat-model.json "
                "(every covered one is listed)."] if left_out else []
    return [*lines, *more, ""]


def _plural(count: int, word: str) -> str:
    return word if count == 1 else f"{word}s"


def _more(total: int, shown: int, what: str) -> list[str]:
    return ["", f"... and {total - shown} more {what} in threat-model.json."] if total > shown else []
