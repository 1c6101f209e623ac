"""Streaming sha256 digests of files and folders (constant memory, any size)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        if hasattr(hashlib, "file_digest"):  # Python 3.11+: hashes in C without Python-level chunks
            return str(hashlib.file_digest(handle, "sha256").hexdigest())
        digest = hashlib.sha256()
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
        return digest.hexdigest()


def sha256_tree(folder: Path) -> str:
    """Digest of a folder: sha256 over ``b"<sha256>  <relative/path>\\n"`` lines, one per file,
    sorted bytewise by path.

    Symbolic links are followed (a link to files outside the folder is content of the folder, and
    swapping its target must change the digest); a link back to a directory above it is not, so a
    loop ends. It is the ``sha256sum`` line format, reproduced by coreutils from inside the folder:
    ``find -L . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum``.
    """
    files = sorted(_files(folder), key=lambda pair: pair[0])
    digest = hashlib.sha256()
    for relative, path in files:
        digest.update(sha256_file(path).encode() + b"  " + relative + b"\n")
    return digest.hexdigest()


def sha256_path(path: Path) -> str:
    return sha256_tree(path) if path.is_dir() else sha256_file(path)


def _files(folder: Path) -> list[tuple[bytes, Path]]:
    """(relative path as bytes, path) of every file under ``folder``, following links; a link back
    to a directory on the current path (a loop) is not entered, as ``find -L`` does."""
    found: list[tuple[bytes, Path]] = []
    _walk(folder, folder, frozenset({_identity(folder)}), found)
    return found


def _walk(directory: Path, top: Path, ancestors: frozenset[tuple[int, int]], found: list[tuple[bytes, Path]]) -> None:
    for entry in os.scandir(directory):
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=True):
            identity = _identity(path)
            if identity not in ancestors:
                _walk(path, top, ancestors | {identity}, found)
        elif entry.is_file(follow_symlinks=True):
            found.append((os.fsencode(path.relative_to(top).as_posix()), path))


def _identity(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_dev, info.st_ino
