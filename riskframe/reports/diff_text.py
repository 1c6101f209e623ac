"""The formats of ``riskframe diff``: plain text for a terminal, Markdown for a pull-request comment,
and JSON (the comparison's own dump).

Each is a :class:`~riskframe.reports.base.Renderer` of an
:class:`~riskframe.compare.diff.AssessmentDiff` (what :func:`riskframe.compare.diff.diff_assessments`
found), as the assessment and threat-model formats are; the command prints the one it is asked for
(:func:`~riskframe.reports.base.rendered_text`). Not an assessment format, so it declares no
``RENDERER``.

>>> sorted(FORMATS)
['json', 'md', 'text']
>>> FORMATS["md"].files
('diff.md',)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from riskframe.io.terminal import escape
from riskframe.reports.base import RenderContext, Renderer

if TYPE_CHECKING:
    from riskframe.compare.diff import AssessmentDiff, ResultChange, ScoreChange, WaiverChange

MAX_ROWS = 25


def render(diff: AssessmentDiff, markdown: bool = False) -> list[str]:
    """The diff as plain text, or as Markdown (headings and tables) for a pull-request comment; one
    item per line. In Markdown every value from the assessments is inert text (no link, image,
    mention or markup: :mod:`riskframe.reports.markdown_text`)."""
    head = "## " if markdown else ""
    text = _markdown_text() if markdown else str
    lines = [f"{'# ' if markdown else ''}Assessment diff: {text(diff.new.pipeline)}", ""]
    if not diff.same_pipeline:
        lines += [f"Note: the assessments are of different pipelines ({text(diff.old.pipeline)} and "
                  f"{text(diff.new.pipeline)}).", ""]
    for word, side in (("old", diff.old), ("new", diff.new)):
        lines.append(f"{'- ' if markdown else '  '}{word}: {text(side.path)} ({text(side.created_at)}): "
                     f"gate {side.gate}, risk {side.risk_score:g}/100 {side.level}")
    delta = diff.new.risk_score - diff.old.risk_score
    lines += ["", f"Risk score: {diff.old.risk_score:g} -> {diff.new.risk_score:g} ({delta:+g}); "
                  f"gate {diff.old.gate} -> {diff.new.gate}", ""]
    lines += _results(f"{head}New failures", diff.new_failures, markdown)
    lines += _results(f"{head}Failures whose evidence changed", diff.changed_failures, markdown)
    lines += _results(f"{head}Fixed failures", diff.fixed_failures, markdown)
    lines += _results(f"{head}Other status changes", diff.other_changes, markdown)
    lines += _waivers(f"{head}Waivers that expired or changed", diff.waivers, markdown)
    lines += _scores(f"{head}Risk by stage", diff.stages, markdown)
    lines += _scores(f"{head}Risk by ATLAS technique", diff.techniques, markdown)
    lines.append(text(verdict(diff)))
    return lines


def verdict(diff: AssessmentDiff) -> str:
    if diff.regression:
        return "Regression: " + "; ".join(diff.regression_reasons) + "."
    if diff.improvements:
        return "No regression; improved: " + "; ".join(diff.improvements) + "."
    return "No regression."


def _status(value: str | None) -> str:
    return value.replace("_", " ") if value else "(absent)"


def _results(title: str, changes: Sequence[ResultChange], markdown: bool) -> list[str]:
    """A section of result changes; a failure whose evidence changed says what changed, then its summary."""
    if not changes:
        return []
    lines = [f"{title} ({len(changes)})", ""]
    if markdown:
        lines += ["| result | was | now | residual | summary |", "|---|---|---|---|---|"]
    for c in changes[:MAX_ROWS]:
        residual = f"{c.new_residual:.2f}" if c.new_residual is not None else "-"
        summary = f"{c.evidence_change}. {c.summary}" if c.evidence_change else c.summary
        if markdown:
            lines.append(f"| {_cell(c.id)} | {_status(c.old_status)} | {_status(c.new_status)} | {residual} | "
                         f"{_cell(summary)} |")
        else:
            lines.append(f"  - {c.id}: {_status(c.old_status)} -> {_status(c.new_status)} "
                         f"({c.level}, residual {residual}): {summary}")
    return [*lines, *_more(len(changes)), ""]


def _waivers(title: str, changes: Sequence[WaiverChange], markdown: bool) -> list[str]:
    if not changes:
        return []
    lines = [f"{title} ({len(changes)})", ""]
    if markdown:
        lines += ["| result | waiver | expires | was | now |", "|---|---|---|---|---|"]
    for w in changes[:MAX_ROWS]:
        if markdown:
            lines.append(f"| {_cell(w.result)} | {_cell(w.change)} | {_cell(w.expires or '-')} | "
                         f"{_status(w.old_status)} | {_status(w.new_status)} |")
        else:
            why = f" ({w.justification})" if w.justification else ""
            lines.append(f"  - {w.result}: waiver {w.change}{', expires ' + w.expires if w.expires else ''}{why}; "
                         f"{_status(w.old_status)} -> {_status(w.new_status)}")
    return [*lines, *_more(len(changes)), ""]


def _scores(title: str, changes: Sequence[ScoreChange], markdown: bool) -> list[str]:
    if not changes:
        return []
    lines = [f"{title} ({len(changes)} changed)", ""]
    lines += (["| | old | new | change |", "|---|---|---|---|"] if markdown
              else [f"  {'':<28} {'old':>12} {'new':>12} {'change':>8}"])
    for c in changes[:MAX_ROWS]:
        old, new = _score(c.old, c.old_level), _score(c.new, c.new_level)
        name = c.id if c.id == c.name else f"{c.id} {c.name}"
        if markdown:
            lines.append(f"| {_cell(name)} | {old} | {new} | {c.delta:+.2f} |")
        else:
            lines.append(f"  {name[:28]:<28} {old:>12} {new:>12} {c.delta:>+8.2f}")
    return [*lines, *_more(len(changes)), ""]


def _score(value: float | None, level: str | None) -> str:
    return "-" if value is None else f"{value:.2f} {level or ''}".strip()


def _cell(text: str) -> str:
    from riskframe.reports.markdown_text import md_cell

    return md_cell(text)


def _markdown_text() -> Callable[[object], str]:
    from riskframe.reports.markdown_text import md_text

    return md_text


def _more(total: int) -> list[str]:
    return [f"  ... and {total - MAX_ROWS} more (use --format json)"] if total > MAX_ROWS else []


def _lines(lines: list[str]) -> bytes:
    # Escaped line by line here, so that a newline inside a value stays inside its line.
    return "".join(f"{escape(line)}\n" for line in lines).encode("utf-8")


def _text(diff: AssessmentDiff, context: RenderContext) -> dict[str, bytes]:
    return {"diff.txt": _lines(render(diff))}


def _markdown(diff: AssessmentDiff, context: RenderContext) -> dict[str, bytes]:
    return {"diff.md": _lines(render(diff, markdown=True))}


def _json(diff: AssessmentDiff, context: RenderContext) -> dict[str, bytes]:
    # ASCII: every character outside printable ASCII is a JSON escape, so none reaches a terminal raw.
    return {"diff.json": (json.dumps(diff.model_dump(mode="json"), indent=2, ensure_ascii=True) + "\n").encode()}


FORMATS: dict[str, Renderer[AssessmentDiff]] = {r.name: r for r in (
    Renderer("text", "new and fixed failures, risk changes and expired waivers, for a terminal", ("diff.txt",), _text),
    Renderer("json", "the whole comparison as JSON", ("diff.json",), _json),
    Renderer("md", "the same as Markdown, for a pull-request comment", ("diff.md",), _markdown),
)}
