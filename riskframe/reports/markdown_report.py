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

from riskframe.assessment import Assessment
from riskframe.compare.baseline import BaselineComparison, comparison_in, unreported
from riskframe.reports import view
from riskframe.reports.base import RenderContext, Renderer
from riskframe.reports.templates import environment

FILE_NAME = "report.md"
TEMPLATE = "report.md.j2"

# GitHub refuses comments over 65,536 characters; fifty rows stay far below it.
MAX_ROWS = 50


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
    attention = unreported(view.attention_results(assessment), baseline)
    context = {
        "a": assessment,
        "level_sentence": view.level_sentence(assessment.summary.level, assessment),
        "counts_sentence": view.counts_sentence(assessment),
        "facts": view.headline_facts(assessment),
        "rows": attention[:MAX_ROWS],
        "rows_left_out": max(0, len(attention) - MAX_ROWS),
        "nist_groups": view.nist_groups(assessment),
        "companions": [name for name in companions if name != FILE_NAME],
        "baseline": baseline,
    }
    return environment("md").get_template(TEMPLATE).render(context)


def _render(assessment: Assessment, context: RenderContext) -> dict[str, bytes]:
    return {FILE_NAME: render_markdown(assessment, context.files, comparison_in(context)).encode("utf-8")}


RENDERER = Renderer(
    name="md",
    description="a short Markdown summary for a pull-request comment or CI job summary",
    files=(FILE_NAME,),
    render=_render,
)
