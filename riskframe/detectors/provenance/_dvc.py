"""Reading DVC's records (``dvc.lock``, ``.dvc`` files) and re-computing its digests, without DVC.

DVC records every dependency and output of a pipeline stage in ``dvc.lock`` (and every ``dvc
add``-ed path in a ``.dvc`` file) with its MD5, size and, for a directory, its number of files.
DVC 3 computes them as:

- a file: the MD5 of its bytes;
- a directory: ``<md5>.dir``, the MD5 of the JSON listing ``[{"md5": ..., "relpath": ...}, ...]``
  of every file under it, sorted by ``relpath`` (``/``-separated, compared as strings), written by
  ``json.dumps(listing, sort_keys=True)`` (default separators, non-ASCII escaped): the serialisation
  of ``dvc_data.hashfile.tree.Tree.as_bytes``. The test fixture's digests were computed by DVC 3.

The files are read with riskframe's located YAML loader, so a malformed lock is reported as
``dvc.lock:12:7: stages.train.outs[0].md5: ...``, every problem at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from riskframe.errors import DocumentError, Problem
from riskframe.spec.validation import did_you_mean
from riskframe.spec.yaml_source import Loc, SourceMap, parse_yaml, read_document

_MD5 = re.compile(r"^[0-9a-f]{32}(\.dir)?$")
_STAGE_KEYS = ("cmd", "deps", "params", "outs")
# What DVC writes in a deps/outs entry (cloud-versioned remotes add etag, version_id and files).
_ENTRY_KEYS = ("path", "hash", "md5", "size", "nfiles", "isexec", "etag", "checksum", "version_id", "files",
               "cloud", "remote", "push", "cache", "persist", "desc", "type", "labels", "meta")
_DVCFILE_KEYS = ("outs", "deps", "md5", "wdir", "frozen", "meta", "desc")


@dataclass(frozen=True)
class DvcEntry:
    """One dependency or output recorded in a lock or ``.dvc`` file."""

    lock: str  # the lock file, relative to the pipeline folder
    stage: str
    relation: Literal["dep", "out"]
    path: str  # as recorded, relative to the lock file's folder
    target: Path
    hash: str | None
    md5: str | None
    size: int | None
    nfiles: int | None


@dataclass(frozen=True)
class DvcStage:
    lock: str
    name: str
    cmd: str | None
    deps: tuple[DvcEntry, ...]
    outs: tuple[DvcEntry, ...]


def load_dvc_file(path: Path, shown: str) -> list[DvcStage]:
    """The stages of a ``dvc.lock`` (schema 2.0) or of a ``.dvc`` file, every schema error located.

    Raises
    ------
    DocumentError
        The file is not YAML, or breaks the lock file schema (all problems at once).

    Examples
    --------
    >>> stages = load_dvc_file(Path("dvc.lock"), "dvc.lock")  # doctest: +SKIP
    >>> [(s.name, [o.path for o in s.outs]) for s in stages]  # doctest: +SKIP
    [('prepare', ['data/prepared', 'data/summary.txt'])]
    """
    document = parse_yaml(read_document(path, shown), shown)  # a regular file, bounded, UTF-8
    source, data, problems = document.source, document.data, []
    if not isinstance(data, dict):
        raise DocumentError.single(shown, "a DVC file must be a mapping (dvc.lock: schema and stages; "
                                          ".dvc: outs)", line=1, column=1)
    if path.suffix == ".dvc":
        problems += _unknown_keys(source, (), data, _DVCFILE_KEYS)
        stages = [_stage(source, shown, path.name, data, (), path.parent, problems, dvc_file=True)]
    else:
        stages = _lock_stages(source, shown, data, path.parent, problems)
    if problems:
        raise DocumentError(sorted(problems, key=lambda p: (p.line, p.column)))
    return stages


def _lock_stages(source: SourceMap, shown: str, data: dict[str, Any], folder: Path,
                 problems: list[Problem]) -> list[DvcStage]:
    if "schema" not in data:
        problems.append(source.problem((), "no `schema: '2.0'`: a DVC 1 lock file (or not a lock file); "
                                           "regenerate it with DVC 2 or later (dvc commit)"))
        return []
    if str(data["schema"]) != "2.0":
        problems.append(source.problem(("schema",), f"unsupported lock file schema {data['schema']!r}; "
                                                    "riskframe reads schema '2.0' (DVC 2 and 3)", data["schema"]))
    problems += _unknown_keys(source, (), data, ("schema", "stages"))
    stages = data.get("stages") or {}
    if not isinstance(stages, dict):
        problems.append(source.problem(("stages",), "must be a mapping of stage name to its record"))
        return []
    return [_stage(source, shown, str(name), record, ("stages", name), folder, problems)
            for name, record in stages.items()]


def _stage(source: SourceMap, shown: str, name: str, record: Any, at: Loc, folder: Path,
           problems: list[Problem], dvc_file: bool = False) -> DvcStage:
    if not isinstance(record, dict):
        problems.append(source.problem(at, "a stage must be a mapping with cmd, deps, params and outs"))
        return DvcStage(shown, name, None, (), ())
    if not dvc_file:
        problems += _unknown_keys(source, at, record, _STAGE_KEYS)
        if "cmd" not in record:
            problems.append(source.problem((*at, "cmd"), "required field is missing"))
    cmd = record.get("cmd")
    cmd_text = " && ".join(map(str, cmd)) if isinstance(cmd, list) else (str(cmd) if cmd is not None else None)
    deps = tuple(_entries(source, shown, name, "dep", record.get("deps"), (*at, "deps"), folder, problems))
    outs = tuple(_entries(source, shown, name, "out", record.get("outs"), (*at, "outs"), folder, problems))
    return DvcStage(shown, name, cmd_text, deps, outs)


def _entries(source: SourceMap, shown: str, stage: str, relation: Literal["dep", "out"], items: Any, at: Loc,
             folder: Path, problems: list[Problem]) -> Iterable[DvcEntry]:
    if items is None:
        return
    if not isinstance(items, list):
        problems.append(source.problem(at, "must be a list of {path, hash, md5, size[, nfiles]} entries"))
        return
    for index, item in enumerate(items):
        loc = (*at, index)
        if not isinstance(item, dict):
            problems.append(source.problem(loc, "must be a mapping with path, hash, md5 and size", item))
            continue
        found = _entry_problems(source, loc, item)
        problems += found
        if not found:
            yield DvcEntry(shown, stage, relation, item["path"], folder / item["path"], item.get("hash"),
                           item.get("md5"), item.get("size"), item.get("nfiles"))


def _entry_problems(source: SourceMap, loc: Loc, item: dict[str, Any]) -> list[Problem]:
    problems = _unknown_keys(source, loc, item, _ENTRY_KEYS)
    if not isinstance(item.get("path"), str) or not item.get("path"):
        problems.append(source.problem((*loc, "path"), "required field is missing" if "path" not in item
                                       else f"must be a non-empty string. Got {item.get('path')!r} instead."))
    md5 = item.get("md5")
    if md5 is not None and not (isinstance(md5, str) and _MD5.match(md5)):
        problems.append(source.problem((*loc, "md5"), "must be 32 lower-case hex digits, with '.dir' for a "
                                                      f"directory. Got {md5!r} instead.", md5))
    if "hash" in item and item["hash"] != "md5":
        problems.append(source.problem((*loc, "hash"), f"must be 'md5'. Got {item['hash']!r} instead.", item["hash"]))
    for key in ("size", "nfiles"):
        value = item.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            problems.append(source.problem((*loc, key), f"must be an integer >= 0. Got {value!r} instead.", value))
    return problems


def _unknown_keys(source: SourceMap, at: Loc, data: dict[str, Any], allowed: tuple[str, ...]) -> list[Problem]:
    return [source.problem((*at, key), f"unknown field{did_you_mean(str(key), allowed)}. Allowed fields: "
                                       f"{', '.join(allowed)}") for key in data if key not in allowed]


# Digests as DVC 3 computes them -----------------------------------------------------------------

def md5_file(path: Path) -> str:
    """MD5 of a file's bytes, streamed (constant memory)."""
    def new() -> Any:
        return hashlib.md5(usedforsecurity=False)  # DVC's content address, not a security digest

    with path.open("rb") as handle:
        if hasattr(hashlib, "file_digest"):
            return str(hashlib.file_digest(handle, new).hexdigest())
        digest = new()
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
        return str(digest.hexdigest())


def dvc_dir_digest(folder: Path) -> tuple[str, int, int]:
    """``(md5 + ".dir", total size, number of files)`` of a directory, as DVC 3 records it.

    Examples
    --------
    >>> dvc_dir_digest(Path("data/raw/images"))  # doctest: +SKIP
    ('5f45101ce93cb6729ff10982d3f7c8a5.dir', 71, 6)
    """
    listing, size = [], 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in filenames:
            path = Path(dirpath, name)
            listing.append({"md5": md5_file(path), "relpath": path.relative_to(folder).as_posix()})
            size += path.stat().st_size
    listing.sort(key=lambda entry: entry["relpath"])
    body = json.dumps(listing, sort_keys=True).encode("utf-8")
    return hashlib.md5(body, usedforsecurity=False).hexdigest() + ".dir", size, len(listing)
