"""What a report format is: a name, the files it writes, and a pure function that renders them.

A format module in :mod:`riskframe.reports` declares one module-level ``RENDERER``; the package
finds it by itself, so adding a format (SARIF, JUnit, ...) is adding one module.

>>> from riskframe.reports.base import Renderer
>>> echo = Renderer(
...     name="summary-txt",
...     description="one line of text",
...     files=("summary.txt",),
...     render=lambda assessment, context: {"summary.txt": b"..."},
... )
>>> echo.files
('summary.txt',)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from riskframe.assessment import Assessment

if TYPE_CHECKING:
    from riskframe.compare.baseline import BaselineComparison


@dataclass(frozen=True)
class RenderContext:
    """Where a render call writes, and what it writes besides this format.

    Formats that point at their siblings (the Markdown summary names ``report.html``) read
    ``files``; none of them writes to ``out_dir`` itself. ``baseline`` is the comparison with an
    earlier assessment (``--baseline``), when there is one: formats leave its known failures out.
    """

    out_dir: Path
    files: tuple[str, ...] = field(default=())
    baseline: BaselineComparison | None = None


RenderFunction = Callable[[Assessment, RenderContext], Mapping[str, bytes]]


@dataclass(frozen=True)
class Renderer:
    """One report format.

    Parameters
    ----------
    name
        What users type after ``--format`` (``json``, ``md``, ``html``).
    description
        One line for ``--help`` and the unknown-format message.
    files
        The file names it writes inside the output directory; part of the user-facing contract.
    render
        ``render(assessment, context) -> {file name: content}``. Pure: it must not write files,
        and equal assessments must give equal bytes.
    """

    name: str
    description: str
    files: tuple[str, ...]
    render: RenderFunction
