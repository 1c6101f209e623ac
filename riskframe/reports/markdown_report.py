"""``report.md``: a short summary for a pull-request comment or a GitHub Actions job summary.

GitHub-flavoured Markdown rendered from ``templates/report.md.j2``: the gate decision and why,
the risk score and level, counts by status, the failing, erroring and warning results, one line
per NIST AI RMF function, and where the full report is. Cell text has ``|`` escaped and raw HTML
neutralised, since summaries and titles come from detectors and policies.

>>> from riskframe.reports.markdown_report import render_markdown
>>> print(render_markdown(assessment))  # doctest: +SKIP
## riskframe: gate FAILED for digits-classifier
...
"""

from __future__ import annotations

from collections.abc import Sequence

from riskframe.assessment import Assessment, ControlResult
from riskframe.compare.baseline import BaselineComparison, comparison_in, unreported
from riskframe.reports import decision, view
from riskframe.reports.base import RenderContext, Renderer
from riskframe.reports.templates import environment

FILE_NAME = "report.md"
TEMPLATE = "report.md.j2"

# GitHub refuses comments over 65,536 characters; fifty rows and twenty reasons a section stay
# far below it whatever the assessment holds (each row's summary is cut, see md_cell).
MAX_ROWS = 50
# Flagged rows located in their files, per result and in all: the most suspicious a reviewer opens first.
MAX_LOCATED_PER_RESULT = 10
MAX_LOCATED_RESULTS = 10
MAX_REASONS = 20
MAX_CHARS = 60_000


def render_markdown(
    assessment: Assessment, companions: Sequence[str] = (), baseline: BaselineComparison | None = None
) -> str:
    """The Markdown summary of ``assessment``.

    Parameters
    ----------
    assessment
        The assessment to summarise.
    companions
        The other files written beside it (``report.html``, ``assessment.json``), named at the end
        so a reader knows where the full report is.
    baseline
        With ``--baseline``: failures already failing there are left out of the table, and counted.
    """
    attention = unreported(decision.attention(assessment), baseline)
    context = {
        "a": assessment,
        "level_sentence": view.level_sentence(assessment.summary.level, assessment),
        "headline": decision.headline(assessment),
        "blocks_at": decision.blocks_at(assessment),
        "gate_sections": decision.sections(assessment),
        "set_aside": decision.set_aside(assessment),
        "nothing_sentence": decision.nothing_sentence(assessment),
        "decision_sentence": decision.decision_sentence(assessment),
        "counts_sentence": view.counts_sentence(assessment),
        "facts": view.headline_facts(assessment),
        "rows": attention[:MAX_ROWS],
        "located": located_rows(attention)[:MAX_LOCATED_RESULTS],
        "rows_left_out": max(0, len(attention) - MAX_ROWS),
        "nist_groups": view.nist_groups(assessment),
        "companions": [name for name in companions if name != FILE_NAME],
        "max_reasons": MAX_REASONS,
        "max_rows": MAX_ROWS,
        "full_report": next((name for name in ("report.html", "assessment.json") if name in companions),
                            "riskframe report assessment.json --format html"),
        "baseline": baseline,
    }
    return capped(environment("md").get_template(TEMPLATE).render(context), str(context["full_report"]))


def capped(text: str, full_report: str, limit: int = MAX_CHARS) -> str:
    """``text`` cut at a line to at most ``limit`` characters, with a sentence saying so and where
    the rest is (long summaries or titles can still outgrow the row caps).

    >>> long = ("a line" + chr(10)) * 20_000
    >>> len(capped(long, "report.html", 1_000)) <= 1_000 < len(long)
    True
    """
    if len(text) <= limit:
        return text
    note = (f"\n\n*This summary was cut to {limit:,} characters (of {len(text):,}) to fit a pull-request comment; "
            f"every result is in {full_report}.*\n")
    cut = text.rfind("\n", 0, limit - len(note))
    return text[:max(cut, 0)] + note


def located_rows(results: Sequence[ControlResult]) -> list[tuple[ControlResult, list[str], int]]:
    """The results whose evidence locates flagged rows in their files (``flagged_rows``): each
    with its first rows in words (``line 113 (P-112)``) and how many flagged samples are not shown."""
    out = []
    for result in results:
        rows = result.evidence.get("flagged_rows")
        flagged = result.evidence.get("flagged_indices")
        if not isinstance(rows, list) or not rows or not isinstance(flagged, list):
            continue
        shown = [_where(row) for row in rows[:MAX_LOCATED_PER_RESULT] if isinstance(row, dict)]
        out.append((result, shown, len(flagged) - len(shown)))
    return out


def _where(row: dict[str, object]) -> str:
    """``line 113 (P-112)``, ``row 7 of part-001.parquet``, ``file barolo/0001.png``."""
    kind = next((k for k in ("line", "row", "file") if k in row), None)
    words = f"{kind} {row[kind]}" if kind else f"sample {row.get('index')}"
    if "shard" in row:
        words += f" of {row['shard']}"
    if "id" in row:
        words += f" ({row['id']})"
    return words


def _render(assessment: Assessment, context: RenderContext) -> dict[str, bytes]:
    return {FILE_NAME: render_markdown(assessment, context.files, comparison_in(context)).encode("utf-8")}


RENDERER = Renderer(
    name="md",
    description="a short Markdown summary for a pull-request comment or CI job summary",
    files=(FILE_NAME,),
    render=_render,
)
