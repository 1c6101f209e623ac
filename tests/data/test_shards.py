"""Sharded datasets: a folder of Parquet or npz files, in name order, checked against a manifest of digests."""

from __future__ import annotations

import hashlib
import os
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe.data.datasets import load_dataset
from riskframe.data.rows import describe_rows
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact


def _refused(load, field: str, message: str, **declaration) -> ArtifactError:
    with pytest.raises(ArtifactError, match=f"^{re.escape(message)}$") as excinfo:
        load(**declaration)
    assert excinfo.value.field == field
    return excinfo.value


def _parquet_shards(folder, sizes=(3, 2, 4)):
    folder.mkdir(parents=True, exist_ok=True)
    start = 0
    for i, n in enumerate(sizes):
        x = np.arange(start, start + n, dtype=float)
        kind = ["cat" if v % 2 else "dog" for v in range(start, start + n)]
        colour = ["red" if v % 3 else "blue" for v in range(start, start + n)] if i != 1 else ["green"] * n
        pq.write_table(pa.table({"x": x, "colour": colour, "kind": kind}), folder / f"part-{i:03d}.parquet")
        start += n
    return folder


def _manifest(folder, files, name="SHA256SUMS"):
    lines = [f"{hashlib.sha256((folder / f).read_bytes()).hexdigest()}  {f}\n" for f in files]
    (folder / name).write_text("".join(lines))


def test_a_folder_of_parquet_shards_is_one_dataset_in_name_order(tmp_path, load):
    _parquet_shards(tmp_path / "train")

    ds = load(path="train", format="parquet", labels="kind")

    np.testing.assert_array_equal(ds.features[:, 0], np.arange(9.0))
    assert ds.categories == {"colour": ("blue", "green", "red")}  # coded over every shard
    assert ds.shard_files == ("part-000.parquet", "part-001.parquet", "part-002.parquet")
    assert describe_rows(ds, [4]) == [{"index": 4, "row": 1, "shard": "part-001.parquet",
                                       "values": {"x": 4.0, "colour": "green"}}]


def test_the_manifest_is_checked_before_reading(tmp_path, load):
    folder = _parquet_shards(tmp_path / "train")
    _manifest(folder, ["part-000.parquet", "part-001.parquet", "part-002.parquet"])
    keys = {"path": "train", "format": "parquet", "labels": "kind", "manifest": "train/SHA256SUMS"}

    assert load(**keys).n_samples == 9
    pq.write_table(pa.table({"x": [0.0], "colour": ["red"], "kind": ["dog"]}), folder / "part-003.parquet")
    _refused(load, "manifest", "shard part-003.parquet is not listed in SHA256SUMS; every shard of a dataset with a "
             "manifest must be", **keys)
    os.remove(folder / "part-003.parquet")
    with (folder / "part-001.parquet").open("r+b") as handle:
        handle.seek(10)
        handle.write(b"\x00")
    _refused(load, "manifest", "shard part-001.parquet does not match its sha256 in SHA256SUMS: it changed since the "
             "manifest was written", **keys)


def test_a_pattern_picks_the_shards(tmp_path, load):
    folder = _parquet_shards(tmp_path / "train")
    (folder / "_SUCCESS").write_text("")

    assert load(path="train", format="parquet", labels="kind", shards="part-00[01].parquet").n_samples == 5
    _refused(load, "shards", "the shard pattern '../*.parquet' must stay inside the dataset's folder",
             path="train", format="parquet", labels="kind", shards="../*.parquet")


def test_shards_must_share_a_schema(tmp_path, load):
    folder = _parquet_shards(tmp_path / "train")
    pq.write_table(pa.table({"x": ["text"], "colour": ["red"], "kind": ["dog"]}), folder / "part-009.parquet")

    _refused(load, "path", "part-009.parquet: its columns are not those of part-000.parquet (names or types); the "
             "files of a dataset must share one schema", path="train", format="parquet", labels="kind")


def test_a_folder_of_npz_shards(tmp_path, load):
    folder = tmp_path / "train"
    folder.mkdir()
    np.savez(folder / "a.npz", X=np.ones((3, 4)), y=[0, 1, 0])
    np.savez(folder / "b.npz", X=np.zeros((2, 4)), y=[1, 1])

    ds = load(path="train", format="npz")

    assert ds.features.shape == (5, 4) and ds.labels.tolist() == [0, 1, 0, 1, 1]
    assert describe_rows(ds, [3]) == [{"index": 3, "row": 0, "shard": "b.npz"}]


def test_npz_shards_that_do_not_stack(tmp_path, load):
    folder = tmp_path / "train"
    folder.mkdir()
    np.savez(folder / "a.npz", X=np.ones((3, 4)), y=[0, 1, 0])
    np.savez(folder / "b.npz", X=np.zeros((2, 5)), y=[1, 1])

    _refused(load, "features", "b.npz: features of shape (2, 5) do not stack with a.npz's (3, 4)",
             path="train", format="npz")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=5))
def test_any_split_into_shards_gives_the_dataset_of_the_whole(tmp_path_factory, sizes):
    folder = tmp_path_factory.mktemp("shards")
    whole = folder / "whole"
    whole.mkdir()
    _parquet_shards(folder / "parts", sizes)
    n = sum(sizes)
    x = np.arange(n, dtype=float)
    colours = pa.concat_tables([pq.read_table(p) for p in sorted((folder / "parts").glob("*.parquet"))])["colour"]
    kinds = ["cat" if v % 2 else "dog" for v in range(n)]
    if len(set(kinds)) < 2:
        return
    pq.write_table(pa.table({"x": x, "colour": colours, "kind": kinds}), whole / "all.parquet")

    def read(path):
        return load_dataset(Artifact(name="t", type="dataset", path=path, format="parquet", labels="kind"), folder)

    parts, one = read("parts"), read("whole/all.parquet")
    np.testing.assert_array_equal(parts.features, one.features)
    np.testing.assert_array_equal(parts.labels, one.labels)
    assert parts.categories == one.categories and parts.classes.tolist() == one.classes.tolist()
