"""``dvc-lock``: the data a stage uses is the data DVC recorded, checked without DVC installed.

DVC records every dependency and output of a pipeline stage in ``dvc.lock`` (and every ``dvc
add``-ed path in a ``.dvc`` file) with its MD5, size and, for a directory, its number of files.
This detector re-computes them the way DVC 3 does:

- a file: the MD5 of its bytes;
- a directory: ``<md5>.dir``, the MD5 of the JSON listing ``[{"md5": ..., "relpath": ...}, ...]``
  of every file under it, sorted by ``relpath`` (``/``-separated, compared as strings), written by
  ``json.dumps(listing, sort_keys=True)`` (default separators, non-ASCII escaped): the serialisation
  of ``dvc_data.hashfile.tree.Tree.as_bytes``. The test fixture's digests were computed by DVC 3.

Entries written by DVC 2 carry no ``hash: md5``: their MD5s were taken after converting text
files' line ends, which this detector does not reproduce, so they are reported *unverifiable*,
never passing. ``.dvcignore`` patterns are not applied: a directory with ignored files reports a
mismatch (fail closed).

The lock files are read with riskframe's located YAML loader, so a malformed lock is reported as
``dvc.lock:12:7: stages.train.outs[0].md5: ...``. Each DVC entry is mapped onto the stage's
artifacts by path (the same path, a folder artifact holding it, or a DVC directory holding the
artifact); for an artifact that a DVC stage produced, that stage's dependencies are verified too,
and the evidence's ``lineage`` records where the artifact came from.
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

from pydantic import Field

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.engine.context import RunContext
from riskframe.errors import DocumentError, NotApplicableError, Problem
from riskframe.results import DetectorResult
from riskframe.spec.pipeline import Artifact, ArtifactType
from riskframe.spec.validation import did_you_mean
from riskframe.spec.yaml_source import Loc, SourceMap, parse_yaml

Status = Literal["match", "mismatch", "missing", "unreadable", "unverifiable"]

_MD5 = re.compile(r"^[0-9a-f]{32}(\.dir)?$")
_STAGE_KEYS = ("cmd", "deps", "params", "outs")
# What DVC writes in a deps/outs entry (cloud-versioned remotes add etag, version_id and files).
_ENTRY_KEYS = ("path", "hash", "md5", "size", "nfiles", "isexec", "etag", "checksum", "version_id", "files",
               "cloud", "remote", "push", "cache", "persist", "desc", "type", "labels", "meta")
_DVCFILE_KEYS = ("outs", "deps", "md5", "wdir", "frozen", "meta", "desc")
_SHOWN = 3


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
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError.single(shown, f"cannot read file: {getattr(exc, 'strerror', None) or exc}") from None
    document = parse_yaml(text, shown)
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


@dataclass(frozen=True)
class EntryCheck:
    entry: DvcEntry
    status: Status
    actual: dict[str, Any]
    problem: str = ""

    def evidence(self, base: Path) -> dict[str, Any]:
        recorded = {"md5": self.entry.md5, "size": self.entry.size, "nfiles": self.entry.nfiles}
        out = {"lock": self.entry.lock, "dvc_stage": self.entry.stage, "relation": self.entry.relation,
               "path": self.entry.path, "resolved": _shown(self.entry.target, base), "hash": self.entry.hash,
               "recorded": {k: v for k, v in recorded.items() if v is not None}, "actual": self.actual,
               "status": self.status}
        return {**out, "problem": self.problem} if self.problem else out


def check_entry(entry: DvcEntry) -> EntryCheck:
    """Re-compute one entry's digest, size and file count and compare them with the record."""
    target = entry.target
    if not (target.exists() or target.is_symlink()):
        return EntryCheck(entry, "missing", {}, "does not exist")
    if entry.hash != "md5" or entry.md5 is None:
        why = ("recorded by DVC 2 (no `hash: md5`), whose MD5 normalised text line ends"
               if entry.hash is None and entry.md5 else "no md5 recorded")
        return EntryCheck(entry, "unverifiable", {}, why)
    try:
        if target.is_dir():
            md5, size, nfiles = dvc_dir_digest(target)
            actual: dict[str, Any] = {"md5": md5, "size": size, "nfiles": nfiles}
        else:
            actual = {"md5": md5_file(target), "size": target.stat().st_size}
    except OSError as exc:
        return EntryCheck(entry, "unreadable", {}, exc.strerror or str(exc))
    recorded = {"md5": entry.md5, "size": entry.size, "nfiles": entry.nfiles}
    differ = [k for k, v in recorded.items() if v is not None and k in actual and actual[k] != v]
    if entry.md5.endswith(".dir") != target.is_dir():
        differ.insert(0, "kind")
    if not differ:
        return EntryCheck(entry, "match", actual)
    return EntryCheck(entry, "mismatch", actual, _difference(differ, recorded, actual, target.is_dir()))


def _difference(differ: list[str], recorded: dict[str, Any], actual: dict[str, Any], is_dir: bool) -> str:
    if differ[0] == "kind":
        return f"recorded as a {'file' if is_dir else 'directory'}, found a {'directory' if is_dir else 'file'}"
    parts = []
    for key in differ:
        if key == "md5":
            parts.append(f"md5 recorded {recorded['md5'][:8]}..., found {actual['md5'][:8]}...")
        else:
            parts.append(f"{key} recorded {recorded[key]}, found {actual[key]}")
    return "; ".join(parts)


# The detector ----------------------------------------------------------------------------------

class DvcLockParams(DetectorParams):
    lock_files: tuple[str, ...] = Field(
        default=("dvc.lock",), min_length=1,
        description="dvc.lock and .dvc files to verify, relative to the pipeline file (glob patterns "
                    "such as 'data/*.dvc' allowed)")
    require_tracked: tuple[ArtifactType, ...] = Field(
        default=("dataset",),
        description="artifact types that must be tracked by a lock entry (an untracked one fails)")


@dataclass(frozen=True)
class _Stage:
    """What one run examines: the stage's artifacts, the lock stages, and the pipeline folder."""

    artifacts: tuple[Artifact, ...]
    paths: dict[str, Path]
    stages: list[DvcStage]
    base: Path


class DvcLock(Detector):
    """Verify the DVC records of a stage's artifacts, and of what produced them.

    Examples
    --------
    >>> from riskframe.detectors.registry import builtin_registry
    >>> detector = builtin_registry()["dvc-lock"]  # doctest: +SKIP
    >>> print(detector().run(ctx, detector.Params()).summary)  # doctest: +SKIP
    All 5 DVC entries behind stage 'ingest' match dvc.lock (2 tracked artifacts).
    """

    name = "dvc-lock"
    title = "Artifacts match the MD5, size and file count DVC recorded in dvc.lock"
    requires = ("files",)
    Params = DvcLockParams
    # Data changed between its recorded source and its use, or a published dataset swapped.
    techniques = ("AML.T0010.002", "AML.T0019")

    def run(self, ctx: RunContext, params: DvcLockParams) -> DetectorResult:
        base = ctx.store.base_dir
        locks = _lock_paths(base, params.lock_files)
        if not locks:
            names = ", ".join(params.lock_files)
            return _failed(f"No DVC lock file found ({names}, relative to the pipeline file): the provenance of "
                           f"stage {ctx.stage.name!r}'s artifacts is not recorded.", {"lock_files": []})
        stages, problems = [], []
        for path in locks:
            try:
                stages += load_dvc_file(path, _shown(path, base))
            except DocumentError as exc:
                problems += [str(p) for p in exc.problems]
        if problems:
            return _failed(f"The DVC lock file is invalid, so provenance cannot be verified: {problems[0]}"
                           + (f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""),
                           {"lock_files": [_shown(p, base) for p in locks], "lock_problems": problems})
        artifacts = ctx.artifacts("files")
        view = _Stage(artifacts, {a.name: ctx.store.path(a) for a in artifacts}, stages, base)
        return _verdict(ctx.stage.name, view, params, [_shown(p, base) for p in locks])


def _lock_paths(base: Path, patterns: Iterable[str]) -> list[Path]:
    found: dict[Path, None] = {}
    for pattern in patterns:
        matches = sorted(base.glob(pattern)) if any(c in pattern for c in "*?[") else [base / pattern]
        found.update(dict.fromkeys(p for p in matches if p.is_file()))
    return list(found)


def _related(artifact_path: Path, entry: DvcEntry) -> bool:
    """The entry is the artifact, lies inside a folder artifact, or is a DVC directory holding it."""
    target = Path(os.path.normpath(entry.target.absolute()))
    return target == artifact_path or artifact_path in target.parents or target in artifact_path.parents


def _verdict(stage_name: str, view: _Stage, params: DvcLockParams, locks: list[str]) -> DetectorResult:
    entries = [e for s in view.stages for e in (*s.deps, *s.outs)]
    producers = {id(o): s for s in view.stages for o in s.outs}
    tracked: dict[str, list[DvcEntry]] = {
        a.name: [e for e in entries if _related(view.paths[a.name], e)] for a in view.artifacts}
    untracked = [a for a in view.artifacts if not tracked[a.name] and a.type in params.require_tracked]
    to_check: dict[tuple[str, str, str, str], DvcEntry] = {}
    for entry in (e for found in tracked.values() for e in found):
        lineage = producers[id(entry)].deps if id(entry) in producers else ()
        for item in (entry, *lineage):
            to_check.setdefault((item.lock, item.stage, item.relation, item.path), item)
    if not to_check and not untracked:
        names = ", ".join(a.path for a in view.artifacts)
        raise NotApplicableError(f"{', '.join(locks)} tracks none of stage {stage_name!r}'s artifacts ({names})")
    checks = {key: check_entry(entry) for key, entry in to_check.items()}
    evidence = {
        "lock_files": locks,
        "entries": [c.evidence(view.base) for c in checks.values()],
        "artifacts": [{"name": a.name, "path": a.path, "tracked": bool(tracked[a.name]),
                       "required": a.type in params.require_tracked} for a in view.artifacts],
        "lineage": _lineage(view, tracked, producers, checks),
        "method": "DVC 3: md5 of a file's bytes; a directory's md5 of json.dumps(sorted [{md5, relpath}], "
                  "sort_keys=True) + '.dir'",
    }
    return _result(stage_name, list(checks.values()), untracked, evidence)


def _lineage(view: _Stage, tracked: dict[str, list[DvcEntry]], producers: dict[int, DvcStage],
             checks: dict[tuple[str, str, str, str], EntryCheck]) -> list[dict[str, Any]]:
    """Per artifact and entry: the DVC stage, how the artifact relates to it, and its deps' state."""
    def status(entry: DvcEntry) -> str:
        return checks[(entry.lock, entry.stage, entry.relation, entry.path)].status

    out = []
    for artifact in view.artifacts:
        for entry in tracked[artifact.name]:
            stage = producers.get(id(entry))
            out.append({"artifact": artifact.name, "lock": entry.lock, "dvc_stage": entry.stage,
                        "relation": entry.relation, "path": entry.path, "md5": entry.md5, "status": status(entry),
                        "cmd": stage.cmd if stage else None,
                        "deps": [{"path": d.path, "md5": d.md5, "status": status(d)}
                                 for d in (stage.deps if stage else ())]})
    return out


def _result(stage_name: str, checks: list[EntryCheck], untracked: list[Artifact],
            evidence: dict[str, Any]) -> DetectorResult:
    counts = {s: sum(c.status == s for c in checks) for s in ("match", "mismatch", "missing", "unreadable",
                                                               "unverifiable")}
    metrics = {"entries": float(len(checks)), **{k: float(v) for k, v in counts.items()},
               "untracked": float(len(untracked))}
    bad = [c for c in checks if c.status in ("mismatch", "missing", "unreadable")]
    unconfirmed = len(checks) - counts["match"] + len(untracked)
    score = 1.0 if counts["mismatch"] else unconfirmed / (len(checks) + len(untracked))
    status = "fail" if bad or untracked else "warn" if counts["unverifiable"] else "pass"
    if status == "pass":
        summary = (f"All {len(checks)} DVC entries behind stage {stage_name!r} match "
                   f"{', '.join(evidence['lock_files'])}.")
    else:
        problems = [f"{c.entry.path} ({c.entry.stage}): {c.problem}" for c in
                    sorted(checks, key=lambda c: ("mismatch", "missing", "unreadable", "unverifiable",
                                                  "match").index(c.status)) if c.status != "match"]
        problems[len(bad):len(bad)] = [f"{a.path} is tracked by no DVC entry" for a in untracked]
        more = f"; and {len(problems) - _SHOWN} more (see the evidence)" if len(problems) > _SHOWN else ""
        summary = (f"{counts['match']} of {len(checks)} DVC entries behind stage {stage_name!r} match; "
                   f"{'; '.join(problems[:_SHOWN])}{more}.")
    return DetectorResult(status=status, score=score, summary=summary, metrics=metrics, evidence=evidence)


def _failed(summary: str, evidence: dict[str, Any]) -> DetectorResult:
    return DetectorResult(status="fail", score=1.0, summary=summary, metrics={"entries": 0.0}, evidence=evidence)


def _shown(path: Path, base: Path) -> str:
    relative = os.path.relpath(path, base)
    return Path(relative).as_posix()
