"""``assessment.json``: the assessment model as JSON, read back, and described by a JSON Schema.

The file is exactly ``Assessment.model_dump(mode="json")``. Model fields keep their declared
order; free-form mappings (evidence, metrics, params) are written with sorted keys, so equal
assessments give identical bytes whatever order a detector filled its evidence in.

>>> from riskframe.reports.json_report import assessment_json_schema
>>> assessment_json_schema()["title"]
'riskframe assessment'
"""

from __future__ import annotations

import json
import math
import re
import stat
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from riskframe.assessment import SCHEMA_VERSION, Assessment
from riskframe.errors import DocumentError, InputError
from riskframe.reports._schema_upgrade import upgrade
from riskframe.reports.base import RenderContext, Renderer
from riskframe.spec.validation import problems_from
from riskframe.spec.yaml_source import SourceMap, parse_yaml

FILE_NAME = "assessment.json"

# Locating a validation error re-parses the file with the line-recording YAML loader (JSON is
# YAML); past this size that would take seconds, so larger files get unlocated messages.
_LOCATE_LIMIT_BYTES = 2_000_000
# An assessment of 1,000 results with pictures is about 10 MB.
MAX_ASSESSMENT_BYTES = 256 << 20
_VERSION = re.compile(r"^(\d+)\.(\d+)$")
_SUPPORTED = (int(SCHEMA_VERSION.split(".")[0]), int(SCHEMA_VERSION.split(".")[1]))  # the newest schema it reads


def dumps_assessment(assessment: Assessment) -> bytes:
    """``assessment`` as ``assessment.json`` bytes: indent 2, UTF-8, trailing newline.

    Non-finite floats in free-form evidence are written as ``null`` (as pydantic's own JSON
    does), because ``NaN`` is not JSON and strict readers refuse it.
    """
    data = _stable(assessment, assessment.model_dump(mode="json"))
    return (json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _stable(value: Any, dumped: Any) -> Any:
    """``dumped`` with model fields in declared order and every free-form mapping sorted."""
    if isinstance(value, BaseModel) and isinstance(dumped, dict):
        return {key: _stable(getattr(value, key, None), item) for key, item in dumped.items()}
    if isinstance(value, (list, tuple)) and isinstance(dumped, list):
        return [_stable(v, d) for v, d in zip(value, dumped, strict=True)]
    return _sorted_deep(dumped)


def _sorted_deep(data: Any) -> Any:
    if isinstance(data, dict):
        return {str(key): _sorted_deep(data[key]) for key in sorted(data, key=str)}
    if isinstance(data, (list, tuple)):
        return [_sorted_deep(item) for item in data]
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data


def load_assessment(path: str | Path) -> Assessment:
    """Read an ``assessment.json`` written by ``riskframe assess`` (for ``riskframe report``).

    Raises
    ------
    InputError
        The file cannot be read, is not JSON, is not an assessment, was written by a newer
        riskframe (a newer ``schema_version``), or breaks the schema. Every problem is located
        ``path:line:col: field: message``.

    Examples
    --------
    >>> assessment = load_assessment("reports/poisoned-digits/assessment.json")  # doctest: +SKIP
    >>> assessment.gate.decision  # doctest: +SKIP
    'fail'
    """
    shown = str(path)
    text = _read_text(Path(path), shown)
    try:
        data = json.loads(text)
    except RecursionError:  # Python's JSON decoder recurses once per level of nesting
        raise DocumentError.single(shown, "not a riskframe assessment: JSON nested deeper than Python's decoder "
                                          "can follow") from None
    except json.JSONDecodeError as exc:
        raise DocumentError.single(
            shown,
            f"not valid JSON ({exc.msg}); expected an assessment.json written by 'riskframe assess'",
            line=exc.lineno,
            column=exc.colno,
        ) from None
    if not isinstance(data, dict) or "schema_version" not in data or "tool" not in data:
        raise DocumentError.single(
            shown,
            "not a riskframe assessment: expected a JSON object with schema_version, tool, "
            "results and gate, as 'riskframe assess' writes in assessment.json",
        )
    declared = data["schema_version"]
    version = _version(declared)
    if version is None or version > _SUPPORTED:
        raise _source_map(text, shown).error(("schema_version",), _version_problem(declared, version), declared)
    # Validated first: mapping every key's line costs far more than validating, and is only
    # needed to locate a problem.
    try:
        return Assessment.model_validate(upgrade(data, version))
    except ValidationError as exc:
        raise DocumentError(problems_from(exc, Assessment, _source_map(text, shown))) from None


def _read_text(path: Path, shown: str) -> str:
    try:
        info = path.stat()
        if stat.S_ISREG(info.st_mode) and info.st_size > MAX_ASSESSMENT_BYTES:
            raise DocumentError.single(shown, f"is larger than the {MAX_ASSESSMENT_BYTES >> 20} MiB riskframe reads "
                                              "for an assessment")
        if not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):  # never open a FIFO or device
            raise DocumentError.single(shown, "is not a regular file (a FIFO, socket or device)")
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise DocumentError.single(shown, "file not found") from None
    except IsADirectoryError:
        raise DocumentError.single(shown, "is a directory; give the assessment.json inside it") from None
    except OSError as exc:
        raise DocumentError.single(shown, f"cannot read file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DocumentError.single(shown, "not a riskframe assessment: the file is not UTF-8 text") from None


def _version(version: Any) -> tuple[int, int] | None:
    """``"1.2"`` -> ``(1, 2)``; None for anything that is not a schema version."""
    match = _VERSION.match(version) if isinstance(version, str) else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def _version_problem(version: Any, found: tuple[int, int] | None) -> str:
    """Why this riskframe cannot read an assessment of schema ``version`` (``found``: it parsed)."""
    if found is None:
        return f"must be a version such as {SCHEMA_VERSION!r}. Got {version!r} instead."
    return (f"this assessment uses schema {version}, newer than the {SCHEMA_VERSION} this riskframe "
            "reads; upgrade riskframe to read it")


def _source_map(text: str, shown: str) -> SourceMap:
    """Positions of every key, for located messages; empty when the file is too large to map."""
    if len(text) > _LOCATE_LIMIT_BYTES:
        return SourceMap(shown)
    try:
        return parse_yaml(text, shown).source
    except InputError:
        # Valid JSON that the YAML loader reads differently (rare escapes): messages lose lines.
        return SourceMap(shown)


def assessment_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``assessment.json``, for ``riskframe schema assessment``."""
    schema = Assessment.model_json_schema(mode="serialization")
    schema["title"] = "riskframe assessment"
    schema["description"] = f"assessment.json as riskframe writes it (schema_version {SCHEMA_VERSION})"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def _render(assessment: Assessment, context: RenderContext) -> dict[str, bytes]:
    return {FILE_NAME: dumps_assessment(assessment)}


RENDERER = Renderer(
    name="json",
    description="the whole assessment as JSON (re-render it later with 'riskframe report')",
    files=(FILE_NAME,),
    render=_render,
)
