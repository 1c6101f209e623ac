"""Where a pipeline's artifacts may be: its folder and its data_roots, links resolved, checked by stat."""

from __future__ import annotations

import os

import pytest

from riskframe.data.roots import DataRoots, file_kind
from riskframe.errors import ArtifactError


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "project/data").mkdir(parents=True)
    (tmp_path / "project/data/raw.npz").write_bytes(b"PK\x05\x06")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared/base.npz").write_bytes(b"PK\x05\x06")
    (tmp_path / "project/data/up").symlink_to(tmp_path / "shared/base.npz")
    (tmp_path / "project/loop").symlink_to(tmp_path / "project/loop")
    return tmp_path


def test_paths_inside_the_folder_resolve_and_others_are_refused(tree):
    roots = DataRoots(tree / "project")
    assert roots.resolve("data/raw.npz") == (tree / "project/data/raw.npz").resolve()
    assert roots.resolve("data/../data/raw.npz") == (tree / "project/data/raw.npz").resolve()
    for outside in ("../shared/base.npz", str(tree / "shared/base.npz"), "data/up"):
        with pytest.raises(ArtifactError) as info:
            roots.resolve(outside, "labels")
        assert info.value.field == "labels" and "outside the pipeline's folder" in str(info.value)


def test_a_data_root_allows_its_folder_and_nothing_else(tree):
    roots = DataRoots(tree / "project", ["../shared"])
    assert roots.resolve("data/up") == (tree / "shared/base.npz").resolve()
    assert roots.resolve("../shared/base.npz") == (tree / "shared/base.npz").resolve()
    with pytest.raises(ArtifactError, match="outside the pipeline's folder and its data_roots"):
        roots.resolve("../sharedness/x.npz")  # a sibling whose name starts like the root is not inside it


def test_what_is_there_is_told_by_stat_alone(tree):
    os.mkfifo(tree / "project/pipe")
    assert [file_kind(tree / "project" / name) for name in ("data/raw.npz", "data", "pipe", "nothing", "loop")] == [
        "file", "folder", "special", "missing", "missing"]
    roots = DataRoots(tree / "project")
    with pytest.raises(ArtifactError, match="is not a regular file"):
        roots.existing("pipe")
    with pytest.raises(ArtifactError, match="is a folder; this artifact is a single file"):
        roots.existing("data")
    assert roots.existing("data", folder_ok=True) == (tree / "project/data").resolve()
