"""Write a threat model in several formats: ``json``, ``md``, ``html`` and ``navigator``.

Each format is a :class:`~riskframe.reports.base.Renderer` of the
:class:`~riskframe.threat.model.ThreatModel`, chosen and written as the report formats are
(:func:`riskframe.reports.base.parse_formats`, :func:`riskframe.reports.base.write_formats`): every
format is rendered in memory before anything is written, so a failing renderer leaves no
half-written set of files.

>>> parse_formats("md, json,md")
['md', 'json']
>>> FORMATS["navigator"].files
('threat-model-layer.json',)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from riskframe.errors import DocumentError
from riskframe.reports.base import RenderContext, Renderer, write_formats
from riskframe.reports.base import parse_formats as parse_names
from riskframe.spec.validation import validate_model
from riskframe.spec.yaml_source import SourceMap
from riskframe.threat.model import ThreatModel

# Past this many stages the JSON is written without indentation: a 2,000-stage threat model has
# 100,000 (stage, technique) entries, and indentation alone would triple its size.
INDENT_MAX_STAGES = 200


def dumps_threat_model(model: ThreatModel) -> bytes:
    """``threat-model.json``: the model as JSON (indent 2 up to 200 stages), UTF-8, trailing newline."""
    indent = 2 if len(model.stages) <= INDENT_MAX_STAGES else None
    return model.model_dump_json(indent=indent).encode("utf-8") + b"\n"


def load_threat_model(path: str | Path) -> ThreatModel:
    """Read a ``threat-model.json`` back (errors name the file and the field)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DocumentError.single(str(path), "file not found") from None
    except UnicodeDecodeError:
        raise DocumentError.single(str(path), "not a threat model written by riskframe (not UTF-8 text)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise DocumentError.single(str(path), f"not a threat model written by riskframe ({exc})") from None
    return validate_model(ThreatModel, data, SourceMap(str(path)))


def _markdown(model: ThreatModel) -> bytes:
    from riskframe.threat.markdown import render_markdown

    return render_markdown(model).encode("utf-8")


def _html(model: ThreatModel) -> bytes:
    from riskframe.threat.html import render_html

    return render_html(model).encode("utf-8")


def _navigator(model: ThreatModel) -> bytes:
    from riskframe.threat.navigator import dumps_threat_layer

    return dumps_threat_layer(model)


def _one_file(name: str, file: str, description: str, render: Callable[[ThreatModel], bytes]) -> Renderer[ThreatModel]:
    return Renderer(name, description, (file,), lambda model, context: {file: render(model)})


FORMATS: dict[str, Renderer[ThreatModel]] = {f.name: f for f in (
    _one_file("json", "threat-model.json", "the whole threat model as JSON", dumps_threat_model),
    _one_file("md", "threat-model.md", "a Markdown summary for a pull request or a wiki", _markdown),
    _one_file("html", "threat-model.html", "a self-contained HTML page", _html),
    _one_file("navigator", "threat-model-layer.json",
              "an ATLAS Navigator layer: applicable techniques by design-time residual risk", _navigator),
)}


def parse_formats(text: str) -> list[str]:
    """Known format names in ``text`` (comma-separated), first-seen order, repeats dropped.

    Raises
    ------
    UsageError
        No name, or an unknown one (with the nearest known name).
    """
    return parse_names(text, FORMATS)


def write_threat_model(model: ThreatModel, out_dir: str | Path, formats: Sequence[str]) -> list[Path]:
    """Write ``model`` in each of ``formats`` into ``out_dir`` (created if missing); the files written.

    Examples
    --------
    >>> write_threat_model(model, "reports/digits", ["json", "md"])  # doctest: +SKIP
    [PosixPath('reports/digits/threat-model.json'), PosixPath('reports/digits/threat-model.md')]
    """
    renderers = [FORMATS[name] for name in parse_formats(",".join(formats))]
    context = RenderContext(Path(out_dir), tuple(f for r in renderers for f in r.files))
    return write_formats(model, renderers, context)
