"""``threat-model.html``: the threat model as one self-contained page (styles inlined, no images,
nothing fetched), rendered from ``templates/threat-model.html.j2`` with autoescaping.

>>> from riskframe.threat.html import render_html
>>> page = render_html(model)  # doctest: +SKIP
>>> page.startswith("<!DOCTYPE html>")  # doctest: +SKIP
True
"""

from __future__ import annotations

from riskframe.reports.templates import environment
from riskframe.threat import markdown
from riskframe.threat.model import ThreatModel

TEMPLATE = "threat-model.html.j2"
# A page a browser opens in a second, whatever the pipeline's size; the rest is in threat-model.json.
MAX_GAPS = 200
MAX_STAGES = 100
TECHNIQUES_PER_STAGE = 25


def render_html(model: ThreatModel) -> str:
    """The HTML page of ``model`` as text."""
    by_id = {c.id: c for c in model.case_studies}
    context = {
        "m": model,
        "described": {t.id: t for t in model.techniques},
        "listed": markdown.listed,
        "path_title": markdown.path_title,
        "no_paths": markdown.no_paths_sentence(model) if not model.paths else "",
        "most_exposed": [by_id[c] for c in model.most_exposed],
        "case_studies": sorted(model.case_studies, key=lambda c: (-c.share_covered, c.id)),
        "max_gaps": MAX_GAPS,
        "max_stages": MAX_STAGES,
        "techniques_per_stage": TECHNIQUES_PER_STAGE,
    }
    return environment("html").get_template(TEMPLATE).render(context)
