"""The in-toto Statement (v1) riskframe signs: what was assessed, what was written, and the verdict.

Subjects are every file the evidence rests on, each with its sha256:

- the report files of the assessment directory (``assessment.json`` first), named by file name;
- every input the assessment read (pipeline, policies, controls, artifacts), named by its path
  relative to the directory ``riskframe assess`` ran in (absolute when outside it). A folder
  artifact is expanded to one subject per file, so an edited byte is reported against its file;
  the predicate keeps each folder's digest, so a file added to the folder is caught too.

The predicate (type :data:`PREDICATE_TYPE`) carries the gate decision and the summary, so a
verifier reads the verdict from signed bytes rather than from an editable report.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from riskframe.assessment import Assessment
from riskframe.errors import RiskframeError
from riskframe.io.digests import _files, sha256_file

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://riskframe.dev/attestation/assessment/v1"
ENVELOPE_FILE = "assessment.intoto.jsonl"


class InputChangedError(RiskframeError):
    """An input's digest at signing time differs from the one the assessment recorded."""


def build_statement(assessment: Assessment, out_dir: Path, reports: Sequence[str],
                    root: Path | None = None) -> dict[str, Any]:
    """The statement over ``reports`` (file names inside ``out_dir``) and the assessment's inputs.

    Input paths are resolved against ``root`` (default: the working directory, where the
    assessment recorded them from).

    Raises
    ------
    InputChangedError
        An input no longer has the digest the assessment recorded (it changed during the run):
        signing it would vouch for bytes that were not assessed.

    Examples
    --------
    >>> statement = build_statement(assessment, Path("reports/x"), ["assessment.json"])  # doctest: +SKIP
    >>> statement["subject"][0]["name"]  # doctest: +SKIP
    'assessment.json'
    """
    root = root or Path.cwd()
    subjects = [_subject(name, sha256_file(out_dir / name), "report") for name in reports]
    folders = []
    for item in assessment.inputs:
        path = _resolve(item.path, root)
        name = _name(path, root)
        if path.is_dir():
            files = folder_files(path)
            digests = [sha256_file(path / rel) for rel in files]
            subjects += [_subject(f"{name}/{rel}", digest, item.role)
                         for rel, digest in zip(files, digests, strict=True)]
            actual = _tree_digest(files, digests)
            folders.append({"name": name, "digest": {"sha256": actual}, "files": len(files)})
        else:
            actual = sha256_file(path)
            subjects.append(_subject(name, actual, item.role))
        if actual != item.sha256:
            raise InputChangedError(f"{item.path} changed while it was being assessed (sha256 {item.sha256[:12]}... "
                                    f"then, {actual[:12]}... now); nothing was signed: assess again")
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": _predicate(assessment, reports, folders),
    }


def statement_bytes(statement: dict[str, Any]) -> bytes:
    """The serialised body that is signed (DSSE signs bytes, so no canonical form is needed)."""
    return json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def folder_files(folder: Path) -> list[str]:
    """Files under ``folder`` as sorted ``/``-separated relative paths.

    The walk is the folder digest's own (links followed, loops not entered), so the files listed
    here are exactly those :func:`riskframe.io.digests.sha256_tree` covers.
    """
    return [os.fsdecode(relative) for relative, _ in sorted(_files(folder))]


def _tree_digest(files: list[str], digests: list[str]) -> str:
    """:func:`riskframe.io.digests.sha256_tree` from per-file digests already computed (each file is
    read once); the walk and the order are the same, so the two always agree."""
    tree = hashlib.sha256()
    for relative, digest in zip(files, digests, strict=True):
        tree.update(digest.encode() + b"  " + os.fsencode(relative) + b"\n")
    return tree.hexdigest()


def _subject(name: str, sha256: str, role: str) -> dict[str, Any]:
    return {"name": name, "digest": {"sha256": sha256}, "annotations": {"role": role}}


def _resolve(name: str, root: Path) -> Path:
    path = Path(name)
    return path if path.is_absolute() else root / path


def _name(path: Path, root: Path) -> str:
    """Relative to ``root`` when inside it (the evidence moves with a checkout), else absolute."""
    relative = os.path.relpath(path.absolute(), root.absolute())
    return Path(relative).as_posix() if not relative.startswith("..") else path.absolute().as_posix()


def _predicate(assessment: Assessment, reports: Sequence[str], folders: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "assessment": "assessment.json",
        "createdAt": assessment.created_at,
        "tool": {"name": assessment.tool.name, "version": assessment.tool.version,
                 "catalogs": assessment.tool.catalogs},
        "pipeline": {"name": assessment.pipeline.name, "path": assessment.pipeline.path},
        "policies": [{"name": p.name, "version": p.version} for p in assessment.policies],
        "gate": assessment.gate.model_dump(mode="json"),
        "summary": assessment.summary.model_dump(mode="json"),
        "reports": list(reports),
        "folders": folders,
    }
