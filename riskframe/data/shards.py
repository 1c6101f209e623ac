"""A dataset held in several files: the shards of a folder, found by a pattern and checked
against a manifest of digests before a byte of them is parsed.

The folder is the artifact's ``path``; its files matching ``shards:`` (default ``*.parquet`` or
``*.npz``; ``**`` reaches into subfolders) are the dataset, in order of their paths, each inside
the pipeline's roots and a regular file. With ``manifest:`` (``sha256sum`` lines, paths relative to
the manifest), every shard must be listed and its sha256 must match: the digests stream from disk
(:func:`riskframe.io.digests.sha256_file`), no shard is read whole to hash it.

>>> shard_files(Path("data/train"), "*.parquet", roots)  # doctest: +SKIP
[PosixPath('.../data/train/part-000.parquet'), PosixPath('.../data/train/part-001.parquet')]
"""

from __future__ import annotations

from pathlib import Path

from riskframe.data.roots import DataRoots, file_kind
from riskframe.errors import ArtifactError, DocumentError
from riskframe.io.digests import sha256_file
from riskframe.signing.manifest import MAX_MANIFEST_BYTES, parse_manifest
from riskframe.spec.pipeline import Artifact

MAX_SHARDS = 100_000
DEFAULT_PATTERNS = {"parquet": "*.parquet", "npz": "*.npz"}


def shard_files(folder: Path, pattern: str, roots: DataRoots, field: str = "shards") -> list[Path]:
    """The regular files under ``folder`` matching ``pattern``, in path order, each inside the roots.

    Raises
    ------
    ArtifactError
        No file matches, more than :data:`MAX_SHARDS` do, or a match leads outside the roots or is
        not a regular file (blamed on ``field``: the ``shards:`` key, or the ``path`` when it is not written).
    """
    if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
        raise ArtifactError(f"the shard pattern {pattern!r} must stay inside the dataset's folder", field)
    found: list[Path] = []
    for match in folder.glob(pattern):
        if file_kind(match) == "folder":
            continue
        found.append(match)
        if len(found) > MAX_SHARDS:
            raise ArtifactError(f"more than {MAX_SHARDS:,} files in {folder.name} match {pattern!r}", field)
    if not found:
        raise ArtifactError(f"{folder} is a folder, read as the files of a sharded dataset, and none of its files "
                            f"matches {pattern!r}", field)
    found.sort(key=lambda p: p.relative_to(folder).as_posix())
    checked = []
    for path in found:
        real = roots.resolve(str(path), field)  # an absolute path: checked as it is, links resolved
        if file_kind(real) != "file":
            raise ArtifactError(f"{path.relative_to(folder)} is not a regular file (a FIFO, socket or device); "
                                "riskframe never opens one of these", field)
        checked.append(path)
    return checked


def pattern_of(artifact: Artifact) -> str:
    return artifact.shards or DEFAULT_PATTERNS.get(artifact.resolved_format, "*")


def check_shard_digests(shards: list[Path], manifest: Path) -> None:
    """Every shard listed in ``manifest`` with the sha256 it has (hashed as a stream).

    Raises
    ------
    ArtifactError
        The manifest cannot be read or parsed, or a shard is not listed or does not match
        (blamed on ``manifest``).
    """
    try:
        if manifest.stat().st_size > MAX_MANIFEST_BYTES:
            raise ArtifactError(f"{manifest.name} is larger than {MAX_MANIFEST_BYTES >> 20} MiB", "manifest")
        listed = parse_manifest(manifest.read_text(encoding="utf-8"), manifest.name)
    except UnicodeDecodeError:
        raise ArtifactError(f"{manifest.name} is not UTF-8 text", "manifest") from None
    except DocumentError as exc:
        raise ArtifactError(f"{manifest.name} is malformed: {exc.problems[0]}", "manifest") from None
    by_path = {(manifest.parent / relative).resolve(): digest for relative, digest in listed.items()}
    for shard in shards:
        shown = shard.relative_to(manifest.parent).as_posix() if shard.is_relative_to(manifest.parent) else shard.name
        expected = by_path.get(shard.resolve())
        if expected is None:
            raise ArtifactError(f"shard {shown} is not listed in {manifest.name}; every shard of a dataset with a "
                                "manifest must be", "manifest")
        if sha256_file(shard) != expected:
            raise ArtifactError(f"shard {shown} does not match its sha256 in {manifest.name}: it changed since the "
                                "manifest was written", "manifest")
