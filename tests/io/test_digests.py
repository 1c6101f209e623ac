"""Streaming sha256 of files and folders: the digests coreutils gives, for small and large files."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe.io.digests import CHUNK, _files, sha256_file, sha256_path, sha256_tree

FOLDER_DIGEST = "find -L . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum"


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([0, 1, 4095, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17]), st.binary(min_size=1, max_size=64))
def test_a_file_digest_is_hashlibs_whatever_its_size(tmp_path_factory, size, pattern):
    """One read for a file up to CHUNK bytes, hashlib.file_digest beyond: the same digest."""
    path = tmp_path_factory.mktemp("digest") / "f.bin"
    data = (pattern * (size // len(pattern) + 1))[:size]
    path.write_bytes(data)
    assert sha256_file(path) == sha256_file(str(path)) == hashlib.sha256(data).hexdigest()


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="needs coreutils")
def test_a_folder_digest_is_the_documented_shell_pipeline(tmp_path):
    for i in range(30):
        folder = tmp_path / "scans" / str(i % 3) / ("deep" if i % 5 == 0 else "")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"scan {i:03d}.png").write_bytes(bytes([i]) * (i * 97))
    (tmp_path / "scans" / "big.bin").write_bytes(os.urandom(CHUNK + 5))
    os.symlink(tmp_path / "scans" / "1", tmp_path / "scans" / "link")  # followed, as find -L does
    os.symlink(tmp_path / "scans", tmp_path / "scans" / "1" / "loop")  # a loop: not entered

    shell = subprocess.run(["sh", "-c", FOLDER_DIGEST], cwd=tmp_path / "scans", capture_output=True, text=True,
                           check=True).stdout.split()[0]

    assert sha256_tree(tmp_path / "scans") == sha256_path(tmp_path / "scans") == shell
    listed = [relative.decode() for relative, _ in sorted(_files(tmp_path / "scans"))]
    assert "link/scan 001.png" in listed and "0/deep/scan 000.png" in listed
    assert not any(name.startswith("1/loop/") for name in listed)
