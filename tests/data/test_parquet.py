"""Parquet datasets: columns by name, text coded as in csv, row groups in batches, hostile files refused."""

from __future__ import annotations

import csv
import re
import struct

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from riskframe.data.budget import Budget
from riskframe.data.datasets import load_dataset
from riskframe.data.parquet import ParquetTable
from riskframe.data.rows import describe_rows
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact

WINE = {"bottle": ["B-1", "B-2", "B-3", "B-4", "B-5"], "alcohol": [13.2, 12.4, 13.7, 12.9, 13.0],
        "colour": ["red", "pale", "red", "deep", "pale"], "year": [2001, 2002, 2003, 2004, 2005],
        "cultivar": ["barolo", "grignolino", "barolo", "barbera", "barbera"]}


def _refused(load, field: str, message: str, **declaration) -> ArtifactError:
    with pytest.raises(ArtifactError, match=f"^{re.escape(message)}$") as excinfo:
        load(**declaration)
    assert excinfo.value.field == field
    return excinfo.value


def test_a_parquet_table_by_column_names(tmp_path, load):
    pq.write_table(pa.table(WINE), tmp_path / "wine.parquet")

    ds = load(path="wine.parquet", labels="cultivar", id_column="bottle", ignore_columns=["year"])

    assert ds.classes.tolist() == ["barbera", "barolo", "grignolino"]
    assert ds.columns == ("alcohol", "colour") and ds.categories == {"colour": ("deep", "pale", "red")}
    np.testing.assert_array_equal(ds.features, [[13.2, 2], [12.4, 1], [13.7, 2], [12.9, 0], [13.0, 1]])
    assert describe_rows(ds, [3]) == [{"index": 3, "row": 3, "id": "B-4",
                                       "values": {"alcohol": 12.9, "colour": "deep"}}]


def test_pandas_categories_and_integer_labels(tmp_path, load):
    table = pa.table({"colour": pa.array(["red", "pale", "red", "red"]).dictionary_encode(),
                      "x": pa.array([1, 2, 3, 4], pa.int32()), "y": pa.array([7, 3, 7, 3], pa.int64())})
    pq.write_table(table, tmp_path / "t.parquet")

    ds = load(path="t.parquet", labels="y")

    assert ds.classes.tolist() == [3, 7] and ds.labels.tolist() == [1, 0, 1, 0]
    assert ds.categories == {"colour": ("pale", "red")}


def test_the_same_table_in_csv_and_parquet_is_the_same_dataset(tmp_path, load):
    pq.write_table(pa.table(WINE), tmp_path / "wine.parquet")
    with (tmp_path / "wine.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(WINE))
        writer.writerows(zip(*WINE.values(), strict=True))
    keys = {"labels": "cultivar", "id_column": "bottle"}

    a, b = load(path="wine.parquet", **keys), load(path="wine.csv", **keys)

    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.classes.tolist() == b.classes.tolist() and a.categories == b.categories
    assert a.ids.tolist() == b.ids.tolist() and a.rows.tolist() == [r - 2 for r in b.rows.tolist()]


def test_row_groups_are_read_in_batches(tmp_path, load, monkeypatch):
    n = 5_000
    rng = np.random.default_rng(0)
    pq.write_table(pa.table({"x": rng.normal(size=n), "y": rng.integers(0, 3, n)}), tmp_path / "t.parquet",
                   row_group_size=700)
    sizes: list[int] = []
    batches = ParquetTable.batches

    def spy(self, columns, batch_rows=1000):
        for batch in batches(self, columns, batch_rows=1000):
            sizes.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(ParquetTable, "batches", spy)
    ds = load(path="t.parquet", labels="y")

    assert ds.n_samples == n and max(sizes) <= 1000 and sum(sizes) == n
    assert ds.rows.tolist() == list(range(n))


def test_float32_columns_are_read_as_float32_and_shown_as_written(tmp_path, load):
    """Every feature column float32: the features are float32 (half the memory of float64); one
    column of another type, and they are float64."""
    table = pa.table({"a": pa.array([1.5, 12.9, 3.25, 0.1], pa.float32()), "b": pa.array([2.0, 1.0, 0.5, 7.0],
                                                                                      pa.float32()),
                      "y": ["u", "v", "u", "v"]})
    pq.write_table(table, tmp_path / "f32.parquet")
    pq.write_table(table.append_column("c", pa.array([1, 2, 3, 4])), tmp_path / "mixed.parquet")

    ds = load(path="f32.parquet", labels="y")
    mixed = load(path="mixed.parquet", labels="y")

    assert ds.features.dtype == np.float32 and mixed.features.dtype == np.float64
    np.testing.assert_array_equal(ds.features, mixed.features[:, :2].astype(np.float32))
    assert describe_rows(ds, [1])[0]["values"] == {"a": 12.9, "b": 1.0}


def test_the_budget_is_checked_against_the_footer_before_any_row_is_read(tmp_path):
    pq.write_table(pa.table({"x": np.arange(1000.0), "y": np.arange(1000) % 2}), tmp_path / "t.parquet")
    artifact = Artifact(name="t", type="dataset", path="t.parquet", labels="y")

    with pytest.raises(ArtifactError, match=r"^t\.parquet: 1000 rows of 1 features would take 39\.1 KiB in memory "
                       r"once loaded, more than the dataset memory budget of 10\.0 KiB; refused before reading it"):
        load_dataset(artifact, tmp_path, Budget(10 << 10))


def test_a_null_is_located_by_row_and_column(tmp_path, load):
    pq.write_table(pa.table({"x": [1.0, None, 3.0], "y": [0, 1, 0]}), tmp_path / "t.parquet")

    _refused(load, "features", "t.parquet: row 1, column 'x': the value is missing (null); riskframe screens complete "
             "rows, so fill it in or drop the row", path="t.parquet", labels="y")


def test_a_column_that_is_neither_number_nor_text(tmp_path, load):
    table = pa.table({"when": pa.array([1, 2], pa.timestamp("ms")), "x": [0.5, 1.5], "y": [0, 1]})
    pq.write_table(table, tmp_path / "t.parquet")

    _refused(load, "features", "t.parquet: column 'when' holds timestamp[ms] values; features must be numbers or text "
             "(leave it out with ignore_columns:)", path="t.parquet", labels="y")
    assert load(path="t.parquet", labels="y", ignore_columns=["when"]).columns == ("x",)


def test_a_misspelt_column(tmp_path, load):
    pq.write_table(pa.table(WINE), tmp_path / "wine.parquet")

    _refused(load, "labels", "wine.parquet has no column 'cultivr' (looked up in its header, of 5 columns); did you "
             "mean 'cultivar'?", path="wine.parquet", labels="cultivr")


# Hostile files -------------------------------------------------------------------------------------


def _good(tmp_path) -> bytes:
    pq.write_table(pa.table({"x": np.arange(100.0), "y": np.arange(100) % 2}), tmp_path / "good.parquet")
    return (tmp_path / "good.parquet").read_bytes()


@pytest.mark.parametrize("damage", ["not parquet", "truncated", "footer length", "zeros inside", "empty"])
def test_a_damaged_parquet_file_is_refused_not_a_crash(tmp_path, load, damage):
    data = _good(tmp_path)
    bad = {
        "not parquet": b"secret text that is not parquet at all",
        "truncated": data[:4] + data[len(data) // 2:],
        "footer length": data[:-8] + struct.pack("<I", 2**31 - 1) + b"PAR1",
        "zeros inside": data[:4] + bytes(len(data) - 8) + b"PAR1",
        "empty": b"",
    }[damage]
    (tmp_path / "t.parquet").write_bytes(bad)

    with pytest.raises(ArtifactError, match=r"^t\.parquet is (not a Parquet file|damaged)") as excinfo:
        load(path="t.parquet", labels="y")
    assert "secret" not in str(excinfo.value)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=64), st.integers(0, 10_000))
@example(junk=b"\x81", at=1980)  # the footer then declares a negative number of rows
def test_any_bytes_inside_a_parquet_file_give_a_dataset_or_a_clear_error(tmp_path_factory, junk, at):
    folder = tmp_path_factory.mktemp("pq")
    data = bytearray(_good(folder))
    at = 4 + at % max(1, len(data) - 8)
    data[at:at + len(junk)] = junk[: max(0, len(data) - 4 - at)]
    (folder / "t.parquet").write_bytes(bytes(data))
    try:
        ds = load_dataset(Artifact(name="t", type="dataset", path="t.parquet", labels="y"), folder)
    except ArtifactError:
        return
    assert ds.n_samples <= 100


# Properties ----------------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["red", "pale"]),
                          st.floats(-1e3, 1e3, allow_nan=False)), min_size=2, max_size=40),
       st.integers(1, 7))
def test_any_table_split_into_row_groups_reads_back_as_written(tmp_path_factory, rows, group):
    labels, colours, xs = (list(c) for c in zip(*rows, strict=True))
    if len(set(labels)) < 2:
        return
    folder = tmp_path_factory.mktemp("pq")
    pq.write_table(pa.table({"label": labels, "colour": colours, "x": xs}), folder / "t.parquet",
                   row_group_size=group)

    ds = load_dataset(Artifact(name="t", type="dataset", path="t.parquet", labels="label"), folder)

    assert [ds.label_of(c) for c in ds.labels] == labels
    described = describe_rows(ds, range(len(rows)))
    assert [d["values"] for d in described] == [{"colour": c, "x": x} for c, x in zip(colours, xs, strict=True)]
    assert [d["row"] for d in described] == list(range(len(rows)))
