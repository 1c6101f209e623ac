"""``dvc-lock``: the data a stage uses is the data DVC recorded, checked without DVC installed.

Every dependency and output a DVC stage recorded in ``dvc.lock`` (or a ``.dvc`` file) is mapped
onto the stage's artifacts by path (the same path, a folder artifact holding it, or a DVC directory
holding the artifact), and its MD5, size and file count are re-computed the way DVC 3 does
(:mod:`riskframe.detectors.provenance._dvc`). For an artifact that a DVC stage produced, that stage's
dependencies are verified too, and the evidence's ``lineage`` records where the artifact came from.

Entries written by DVC 2 carry no ``hash: md5``: their MD5s were taken after converting text
files' line ends, which this detector does not reproduce, so they are reported *unverifiable*,
never passing. ``.dvcignore`` patterns are not applied: a directory with ignored files reports a
mismatch (fail closed). A malformed lock file fails the run with its located problems.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.detectors.provenance._dvc import DvcEntry, DvcStage, dvc_dir_digest, load_dvc_file, md5_file
from riskframe.errors import DocumentError, NotApplicableError
from riskframe.results import DetectorResult
from riskframe.spec.pipeline import Artifact, ArtifactType

Status = Literal["match", "mismatch", "missing", "unreadable", "unverifiable"]

_SHOWN = 3


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


class DvcLock(Detector[DvcLockParams]):
    """Verify the DVC records of a stage's artifacts, and of what produced them.

    Examples
    --------
    >>> from riskframe.detectors.registry import builtin_registry
    >>> detector = builtin_registry()["dvc-lock"]  # doctest: +SKIP
    >>> print(detector().run(ctx, detector.Params()).summary)  # doctest: +SKIP
    All 5 DVC entries behind stage 'ingest' match dvc.lock.
    """

    name = "dvc-lock"
    title = "Artifacts match the MD5, size and file count DVC recorded in dvc.lock"
    requires = ("files",)
    Params = DvcLockParams
    lineage = "dvc"
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
        entries = {1: "The one DVC entry", 2: "Both DVC entries"}.get(len(checks), f"All {len(checks)} DVC entries")
        verb = "matches" if len(checks) == 1 else "match"
        summary = f"{entries} behind stage {stage_name!r} {verb} {', '.join(evidence['lock_files'])}."
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
