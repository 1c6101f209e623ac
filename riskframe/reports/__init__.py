"""Report formats, and writing an assessment in several of them at once.

Every public module of this package that defines a module-level ``RENDERER``
(:class:`~riskframe.reports.base.Renderer`) is a format; :data:`FORMATS` maps its name to it.
Adding a format is adding one module. Format modules import their heavy libraries (jinja2,
matplotlib) inside functions, so importing this package stays cheap.

>>> from riskframe.reports import FORMATS, parse_formats
>>> parse_formats("json, md,html")
['json', 'md', 'html']
>>> FORMATS["html"].files
('report.html',)
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from riskframe.assessment import Assessment
from riskframe.errors import MissingDependencyError, RegistryError
from riskframe.reports.base import RenderContext, Renderer, write_formats
from riskframe.reports.base import parse_formats as parse_names

if TYPE_CHECKING:
    from riskframe.compare.baseline import BaselineComparison

__all__ = ["FORMATS", "RenderContext", "Renderer", "collect_renderers", "parse_formats", "render", "unavailable"]


def collect_renderers(modules: Iterable[ModuleType]) -> dict[str, Renderer[Assessment]]:
    """The ``RENDERER`` of each module that has one, by name.

    Raises
    ------
    RegistryError
        Two modules declare the same format name (never a silent overwrite), or a ``RENDERER``
        is not a :class:`Renderer`.
    """
    found: dict[str, Renderer[Assessment]] = {}
    owners: dict[str, str] = {}
    for module in modules:
        renderer = getattr(module, "RENDERER", None)
        if renderer is None:
            continue
        if not isinstance(renderer, Renderer):
            raise RegistryError(f"{module.__name__}.RENDERER must be a riskframe.reports.Renderer", renderer)
        if renderer.name in found:
            raise RegistryError(
                f"report format {renderer.name!r} is declared by both {owners[renderer.name]} and {module.__name__}",
                renderer,
            )
        found[renderer.name], owners[renderer.name] = renderer, module.__name__
    return found


def _format_modules() -> list[ModuleType]:
    names = sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))
    return [importlib.import_module(f"{__name__}.{name}") for name in names]


FORMATS: dict[str, Renderer[Assessment]] = collect_renderers(_format_modules())


def parse_formats(text: str) -> list[str]:
    """Split a ``--format`` value such as ``"json,md,html"`` into known format names.

    Blanks around names are ignored and a repeated name counts once, in first-seen order.

    Raises
    ------
    UsageError
        No name was given, or a name is not a known format (with the nearest known one).

    Examples
    --------
    >>> parse_formats("html,json,html")
    ['html', 'json']
    """
    return parse_names(text, FORMATS, "report format", sorted(FORMATS))


def unavailable(formats: Sequence[str]) -> dict[str, MissingDependencyError]:
    """The formats of ``formats`` whose optional extra is not installed, with the error naming it
    (each :class:`Renderer` declares its own ``missing`` check).

    The commands render the other formats and then report these errors (exit 2), so a missing
    extra costs the user one report, not the whole run.
    """
    checks = {name: check for name in formats if (check := FORMATS[name].missing) is not None}
    return {name: error for name, check in checks.items() if (error := check()) is not None}


def render(assessment: Assessment, out_dir: Path, formats: Sequence[str] | str,
           baseline: BaselineComparison | None = None) -> list[Path]:
    """Write ``assessment`` to ``out_dir`` in each of ``formats``; return the files written.

    Everything is rendered in memory first, so a renderer that fails leaves no half-written set
    of reports; each file is then replaced atomically.

    Parameters
    ----------
    assessment
        The assessment to write.
    out_dir
        Created if missing.
    formats
        Names from :data:`FORMATS`, or one string of them as ``--format`` takes it (``"json,md"``).
    baseline
        A comparison with an earlier assessment (:func:`riskframe.compare.baseline.rebase`): the
        formats leave its known failures out.

    Examples
    --------
    >>> render(assessment, Path("reports/run-1"), ["json", "md"])  # doctest: +SKIP
    [PosixPath('reports/run-1/assessment.json'), PosixPath('reports/run-1/report.md')]
    """
    renderers = [FORMATS[name] for name in parse_formats(formats if isinstance(formats, str) else ",".join(formats))]
    context = RenderContext(Path(out_dir), tuple(f for r in renderers for f in r.files), baseline)
    return write_formats(assessment, renderers, context)
