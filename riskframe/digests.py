"""Streaming sha256 digests of files and folders (constant memory, any size)."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        if hasattr(hashlib, "file_digest"):  # Python 3.11+: hashes in C without Python-level chunks
            return hashlib.file_digest(handle, "sha256").hexdigest()
        digest = hashlib.sha256()
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
        return digest.hexdigest()


def sha256_tree(folder: Path) -> str:
    """Digest of a folder: sha256 over ``"<sha256>  <relative/posix/path>\\n"`` lines of every file,
    sorted bytewise by path: the ``sha256sum`` line format, so coreutils reproduces it from inside
    the folder with ``find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum``."""
    files = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}
    digest = hashlib.sha256()
    for relative in sorted(files, key=lambda name: name.encode()):
        digest.update(f"{sha256_file(files[relative])}  {relative}\n".encode())
    return digest.hexdigest()


def sha256_path(path: Path) -> str:
    return sha256_tree(path) if path.is_dir() else sha256_file(path)
