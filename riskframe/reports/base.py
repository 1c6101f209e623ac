"""What a format is: a name, the files it writes, and a pure function that renders them; and the
one way a set of formats is chosen (``--format``) and written.

A :class:`Renderer` is generic over what it renders: an assessment (every module of
:mod:`riskframe.reports` that declares a module-level ``RENDERER``; the package finds it by itself,
so adding a format is adding one module), a threat model (:mod:`riskframe.threat.report`), the
comparison of two assessments (:mod:`riskframe.reports.diff_text`), the history of a folder of
them (:mod:`riskframe.reports.history_text`) or the portfolio of ``assess-all``
(:mod:`riskframe.reports.portfolio`). :func:`parse_formats` and :func:`write_formats` serve
them all; :func:`rendered_text` is the one file of a format a command prints instead of writing.

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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from riskframe.assessment import Assessment
from riskframe.errors import MissingDependencyError, RegistryError, UsageError
from riskframe.io.files import write_atomically
from riskframe.spec.validation import did_you_mean

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


S = TypeVar("S")  # what a renderer renders: an Assessment, a ThreatModel
RenderFunction = Callable[[Assessment, RenderContext], Mapping[str, bytes]]


@dataclass(frozen=True)
class Renderer(Generic[S]):
    """One format.

    Parameters
    ----------
    name
        What users type after ``--format`` (``json``, ``md``, ``html``).
    description
        One line for ``--help`` and the unknown-format message.
    files
        The file names it writes inside the output directory; part of the user-facing contract.
    render
        ``render(subject, context) -> {file name: content}``. Pure: it must not write files,
        and equal subjects must give equal bytes.
    missing
        For a format that needs an optional extra: a function returning the
        :class:`~riskframe.errors.MissingDependencyError` that names the extra when it is not
        installed, else None. The commands then write the other formats and report this one's
        error at the end (:func:`riskframe.reports.unavailable`), so no command names a format.
    """

    name: str
    description: str
    files: tuple[str, ...]
    render: Callable[[S, RenderContext], Mapping[str, bytes]]
    missing: Callable[[], MissingDependencyError | None] | None = None


def parse_formats(text: str, formats: Mapping[str, Renderer[Any]], noun: str = "format",
                  known: Sequence[str] | None = None) -> list[str]:
    """Split a ``--format`` value such as ``"json,md,html"`` into names of ``formats``.

    Blanks around names are ignored and a repeated name counts once, in first-seen order.
    ``noun`` names a format in messages, ``known`` lists them (default: ``formats``' order).

    Raises
    ------
    UsageError
        No name was given, or a name is not in ``formats`` (with the nearest known one).
    """
    names = list(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    listed = ", ".join(known if known is not None else formats)
    if not names:
        raise UsageError(f"--format: no {noun} given; known formats: {listed}")
    for name in names:
        if name not in formats:
            raise UsageError(f"--format: unknown {noun} {name!r}{did_you_mean(name, formats)}; known formats: {listed}")
    return names


def write_formats(subject: S, renderers: Sequence[Renderer[S]], context: RenderContext) -> list[Path]:
    """Render ``subject`` with each of ``renderers`` into ``context.out_dir`` (created if missing);
    the files written.

    Everything is rendered in memory first, so a renderer that fails leaves no half-written set
    of files; each file is then replaced atomically.

    Raises
    ------
    RegistryError
        A renderer produced a file it does not declare.
    """
    outputs: dict[str, bytes] = {}
    for renderer in renderers:
        produced = renderer.render(subject, context)
        unexpected = set(produced) - set(renderer.files)
        if unexpected:
            raise RegistryError(
                f"report format {renderer.name!r} produced undeclared files {sorted(unexpected)}", renderer
            )
        outputs.update(produced)
    context.out_dir.mkdir(parents=True, exist_ok=True)
    return [write_atomically(context.out_dir / name, content) for name, content in outputs.items()]


def rendered_text(subject: S, renderer: Renderer[S]) -> str:
    """The one file ``renderer`` renders of ``subject``, as text: what a command prints on the
    terminal (``riskframe diff``, ``riskframe history``) instead of writing it.

    Raises
    ------
    RegistryError
        ``renderer`` does not render exactly one file, or not the one it declares.
    """
    produced = renderer.render(subject, RenderContext(Path("."), renderer.files))
    if len(renderer.files) != 1 or set(produced) != set(renderer.files):
        raise RegistryError(f"format {renderer.name!r} must render exactly one file to be printed", renderer)
    return produced[renderer.files[0]].decode("utf-8")
