"""The jinja2 environments of the HTML and Markdown reports, and the filters their templates use.

Templates live in ``templates/`` (see :mod:`riskframe.io.resources`). HTML templates are autoescaped:
everything a detector wrote (summaries, evidence) is data, never markup. The Markdown template has no
autoescaping: every value in it goes through a filter of :mod:`riskframe.reports.markdown_text`
(``md_text``, ``md_cell``, ``md_code``) or is riskframe's own word. Undefined names raise,
so a typo in a template fails the tests instead of printing an empty cell.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from riskframe.io.resources import bundled_dir
from riskframe.reports import view
from riskframe.reports.markdown_text import md_cell, md_code, md_text

if TYPE_CHECKING:
    import jinja2


@lru_cache(maxsize=2)
def environment(kind: Literal["html", "md"]) -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(bundled_dir("templates")),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=kind == "html"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        percent=view.percent,
        number=view.number,
        risk_number=view.risk_number,
        status_word=view.status_word,
        md_cell=md_cell,
        md_text=md_text,
        md_code=md_code,
        compact_json=compact_json,
    )
    return env


def compact_json(value: object) -> str:
    """One-line JSON for parameters; anything JSON cannot hold is shown as text."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


