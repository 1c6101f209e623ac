"""Streaming sha256 digests of files and folders (constant memory, any size)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CHUNK = 1 << 20


def sha256_file(path: Path | str) -> str:
    """sha256 of a file, read ``CHUNK`` bytes at a time.

    A file of at most ``CHUNK`` bytes is one read into one buffer; a larger one goes through
    ``hashlib.file_digest`` (Python 3.11+, which hashes in C into a buffer it reuses). Small files
    are what an image folder holds by the ten thousand: there, opening a Python file object and
    ``file_digest``'s own 256 KiB buffer per file cost more than the hashing.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        if os.fstat(fd).st_size <= CHUNK:
            digest = hashlib.sha256()
            while chunk := os.read(fd, CHUNK):  # one read, unless the file grew since fstat
                digest.update(chunk)
            return digest.hexdigest()
        with os.fdopen(os.dup(fd), "rb") as handle:
            if hasattr(hashlib, "file_digest"):  # Python 3.11+: hashes in C without Python-level chunks
                return str(hashlib.file_digest(handle, "sha256").hexdigest())
            digest = hashlib.sha256()
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
            return digest.hexdigest()
    finally:
        os.close(fd)


def sha256_tree(folder: Path) -> str:
    """Digest of a folder: sha256 over ``b"<sha256>  <relative/path>\\n"`` lines, one per file,
    sorted bytewise by path.

    Symbolic links are followed (a link to files outside the folder is content of the folder, and
    swapping its target must change the digest); a link back to a directory above it is not, so a
    loop ends. It is the ``sha256sum`` line format, reproduced by coreutils from inside the folder:
    ``find -L . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum``.
    """
    files: list[tuple[bytes, str]] = []
    _walk(os.fspath(folder), "", frozenset({_identity(folder)}), files)
    files.sort(key=lambda pair: pair[0])
    digest = hashlib.sha256()
    for relative, path in files:
        digest.update(sha256_file(path).encode() + b"  " + relative + b"\n")
    return digest.hexdigest()


def sha256_path(path: Path) -> str:
    return sha256_tree(path) if path.is_dir() else sha256_file(path)


def _files(folder: Path) -> list[tuple[bytes, Path]]:
    """(relative path as bytes, path) of every file under ``folder``, following links; a link back
    to a directory on the current path (a loop) is not entered, as ``find -L`` does."""
    found: list[tuple[bytes, str]] = []
    _walk(os.fspath(folder), "", frozenset({_identity(folder)}), found)
    return [(relative, Path(path)) for relative, path in found]


def _walk(directory: str, prefix: str, ancestors: frozenset[tuple[int, int]], found: list[tuple[bytes, str]]) -> None:
    """Append (path relative to the top, as bytes; path) of every file under ``directory``, whose
    path relative to the top is ``prefix``. Plain strings: at ten thousand files, building a
    ``Path`` per file and asking it for its relative path costs as much as hashing the files."""
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=True):
                identity = _identity(entry.path)
                if identity not in ancestors:
                    _walk(entry.path, f"{prefix}{entry.name}/", ancestors | {identity}, found)
            elif entry.is_file(follow_symlinks=True):
                found.append((os.fsencode(prefix + entry.name), entry.path))


def _identity(path: Path | str) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_dev, info.st_ino
