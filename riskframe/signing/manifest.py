"""sha256sum-style manifests: read one, and check an artifact's files against it.

A manifest is what ``sha256sum FILE... > SHA256SUMS`` writes and ``sha256sum -c SHA256SUMS``
checks: one ``<64 hex digits><space><space or *><path>`` line per file, paths relative to the
manifest's folder. Lines that start with a backslash carry escaped names (``\\\\`` and ``\\n``), as
GNU coreutils writes them; blank lines and ``#`` comments are skipped. Model publishers ship such
files beside their weights, so a pipeline can name one (``manifest:`` on an artifact) and the
``artifact-digest`` detector checks every listed file, plus files of the artifact the manifest
does not list.

>>> from pathlib import Path
>>> parse_manifest("3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7 *weights.bin\\n")
{'weights.bin': '3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7'}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskframe.errors import DocumentError, Problem
from riskframe.io.digests import _files, sha256_file

_LINE = re.compile(r"^(?P<escaped>\\?)(?P<digest>[0-9a-fA-F]{64}) (?P<mode>[ *])(?P<path>.+)$")
MAX_MANIFEST_BYTES = 64 << 20


def parse_manifest(text: str, shown: str = "<manifest>") -> dict[str, str]:
    """``{relative path: sha256}`` of every line, in file order.

    Raises
    ------
    DocumentError
        A line is not ``<sha256>  <path>``, or a path is listed twice (every bad line located).
    """
    listed: dict[str, str] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            problems.append(Problem(shown, number, 1, "", "not a sha256sum line: expected "
                                    "'<64 hex digits>  <path>' (as 'sha256sum FILE' prints)", line[:80]))
            continue
        path = _unescape(match["path"]) if match["escaped"] else match["path"]
        if path in listed:
            problems.append(Problem(shown, number, 67, "", f"{path!r} is listed twice", path))
            continue
        listed[path] = match["digest"].lower()
    if problems:
        raise DocumentError(problems)
    return listed


def _unescape(name: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], name)


@dataclass
class ManifestCheck:
    """How an artifact's files compare with its manifest."""

    manifest: str
    listed: int = 0
    matched: int = 0
    mismatched: list[dict[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not (self.mismatched or self.missing or self.extra)

    def phrase(self) -> str:
        """What is wrong, for a one-sentence summary."""
        if self.error:
            return f"its manifest {self.manifest} {self.error}"
        parts = [f"{len(self.mismatched)} changed ({self.mismatched[0]['path']})" if self.mismatched else "",
                 f"{len(self.missing)} missing ({self.missing[0]})" if self.missing else "",
                 f"{len(self.extra)} not listed ({self.extra[0]})" if self.extra else ""]
        return f"{self.listed} files listed in {self.manifest}: " + ", ".join(p for p in parts if p)

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {"manifest": self.manifest, "listed": self.listed, "matched": self.matched,
                               "mismatched": self.mismatched, "missing": self.missing, "extra": self.extra}
        return {**out, "error": self.error} if self.error else out


def check_manifest(manifest: Path, artifact: Path, shown: str) -> ManifestCheck:
    """Check every file ``manifest`` lists for ``artifact``, and the artifact's files it does not list.

    Parameters
    ----------
    manifest
        The manifest file; its listed paths are relative to its folder. Lines about files outside
        the artifact (one manifest may cover several artifacts) are left to those artifacts.
    artifact
        The artifact's file or folder. Its files missing from the manifest are ``extra`` (the
        manifest itself, when inside the folder, is not).
    shown
        How messages name the manifest.

    Examples
    --------
    >>> result = check_manifest(Path("models/SHA256SUMS"), Path("models"), "models/SHA256SUMS")  # doctest: +SKIP
    >>> result.ok, result.matched  # doctest: +SKIP
    (True, 3)
    """
    result = ManifestCheck(shown)
    try:
        if manifest.stat().st_size > MAX_MANIFEST_BYTES:
            result.error = f"is larger than {MAX_MANIFEST_BYTES >> 20} MiB"
            return result
        listed = parse_manifest(manifest.read_text(encoding="utf-8"), shown)
    except FileNotFoundError:
        result.error = "does not exist"
        return result
    except UnicodeDecodeError:
        result.error = "is not UTF-8 text"  # the message would quote the byte
        return result
    except OSError as exc:
        result.error = f"cannot be read ({exc.strerror or exc})"
        return result
    except DocumentError as exc:
        result.error = f"is malformed: {exc.problems[0]}"
        return result
    folder, top = manifest.parent, artifact.resolve()
    # Only the lines about this artifact count: one manifest may list the files of several artifacts.
    mine = {relative: expected for relative, expected in listed.items()
            if _inside((folder / relative).resolve(), top)}
    result.listed = len(mine)
    for relative, expected in mine.items():
        _check_listed(result, folder / relative, relative, expected)
    covered = {(folder / relative).resolve() for relative in mine}
    for path in _artifact_files(artifact):
        if path.resolve() not in covered and path.resolve() != manifest.resolve():
            result.extra.append(Path(_relative(path, folder)).as_posix())
    return result


def _check_listed(result: ManifestCheck, path: Path, relative: str, expected: str) -> None:
    try:
        actual = sha256_file(path)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        result.missing.append(relative)
        return
    except OSError as exc:
        result.mismatched.append({"path": relative, "listed": expected, "actual": f"unreadable: {exc.strerror}"})
        return
    if actual == expected:
        result.matched += 1
    else:
        result.mismatched.append({"path": relative, "listed": expected, "actual": actual})


def _inside(path: Path, top: Path) -> bool:
    return path == top or top in path.parents


def _artifact_files(artifact: Path) -> list[Path]:
    if artifact.is_dir():
        return [path for _, path in sorted(_files(artifact))]
    return [artifact] if artifact.exists() else []


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return path.as_posix()
