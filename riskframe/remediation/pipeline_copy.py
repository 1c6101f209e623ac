"""A copy of the pipeline for the remediated data, written beside it.

Every artifact path is rewritten relative to the new file's folder; the filtered datasets point at
their filtered copies, with the copies' sha256 pinned. The original pipeline's folder (and its own
``data_roots``) become the copy's ``data_roots``, since the other artifacts are still read there.
Everything else (stages, models, training entry points, digests of the other artifacts) stays as it
was, so assessing the copy assesses the same system trained on the remediated data. Comments of the
original are not carried over.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from riskframe.remediation.datasets import Filtered
from riskframe.spec.yaml_source import load_yaml

FILE_NAME = "pipeline.yaml"


def write_pipeline_copy(pipeline_path: Path, out: Path, filtered: Sequence[Filtered], assessment: str) -> Path:
    """Write ``out/pipeline.yaml``; returns its path.

    Examples
    --------
    >>> write_pipeline_copy(Path("examples/backdoored-digits/pipeline.yaml"), Path("remediated"),
    ...                     filtered, "reports/backdoored-digits/assessment.json")  # doctest: +SKIP
    PosixPath('remediated/pipeline.yaml')
    """
    data = copy.deepcopy(load_yaml(pipeline_path).data)
    by_name = {f.source.artifact.name: f for f in filtered}
    base = pipeline_path.parent
    for stage in data.get("stages") or []:
        for artifact in stage.get("artifacts") or []:
            _rewrite(artifact, base, out, by_name.get(str(artifact.get("name"))))
    roots = [base, *(base / str(root) for root in data.get("data_roots") or [])]
    data = _with_roots(data, list(dict.fromkeys(_relative(root, out) for root in roots)))
    metadata = data.setdefault("metadata", {})
    note = f"Remediated by riskframe remediate from {pipeline_path.as_posix()} ({assessment})."
    metadata["description"] = f"{metadata.get('description', '')} {note}".strip()
    names = ", ".join(sorted(by_name)) or "none"
    header = (f"# Written by `riskframe remediate` from {pipeline_path.as_posix()} and {assessment}.\n"
              f"# Filtered datasets (copies in this folder, digests pinned): {names}. Other paths point back at the\n"
              "# original files.\n")
    path = out / FILE_NAME
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)
    path.write_text(header + body, encoding="utf-8")
    return path


def _with_roots(data: dict[str, Any], roots: list[str]) -> dict[str, Any]:
    """``data`` with ``data_roots: roots`` right after ``metadata``."""
    out = {key: value for key, value in data.items() if key not in ("data_roots", "stages")}
    return {**out, "data_roots": roots, "stages": data.get("stages")}


def _relative(path: Path, out: Path) -> str:
    return Path(os.path.relpath(path.resolve(), out.resolve())).as_posix()


def _rewrite(artifact: dict[str, Any], base: Path, out: Path, filtered: Filtered | None) -> None:
    if filtered is not None:
        artifact["path"] = filtered.output.relative_to(out).as_posix()
        artifact["sha256"] = filtered.sha256
    for key in ("path", "labels", "manifest"):
        value = artifact.get(key)
        if filtered is not None and key != "manifest":
            continue
        # An npy dataset's `labels` is a path too; elsewhere it names an array or a column.
        if key == "labels" and not (artifact.get("format") == "npy" or str(artifact.get("path", "")).endswith(".npy")):
            continue
        if isinstance(value, str):
            artifact[key] = _relative(base / value, out)
