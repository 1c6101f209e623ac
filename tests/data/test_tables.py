"""Datasets read as tables: named columns, text and missing values kept, the loader's rules unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe.data.budget import Budget
from riskframe.data.tables import load_table
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact


def _table(tmp_path, **declaration):
    artifact = Artifact(**{"name": "w", "type": "dataset", **declaration})
    return load_table(artifact, tmp_path)


def test_a_csv_keeps_names_text_and_missing_values(tmp_path):
    (tmp_path / "w.csv").write_text("age,country,amount,label\n"
                                    "31,FR,1.5,0\n"
                                    "45,DE,,1\n"
                                    "NA,FR,2.25,1\n"
                                    "52,,nan,0\n")

    table = _table(tmp_path, path="w.csv", labels="label")

    assert [c.name for c in table.columns] == ["age", "country", "amount"]
    assert table.n_rows == 4 and table.labels.tolist() == [0, 1, 1, 0]
    age, country, amount = table.columns
    assert not age.is_text and np.isnan(age.values[2]) and age.missing.tolist() == [False, False, True, False]
    assert country.is_text and country.categories == ("FR", "DE")
    assert country.values.tolist() == [0, 1, 0, -1] and country.missing.tolist() == [False, False, False, True]
    assert amount.missing.tolist() == [False, True, False, True]
    assert not table.columns[0].values.flags.writeable


def test_a_csv_without_labels_is_a_table_without_labels(tmp_path):
    (tmp_path / "w.csv").write_text("a,b\n1,2\n3,4\n")

    table = _table(tmp_path, path="w.csv")

    assert table.labels is None and [c.name for c in table.columns] == ["a", "b"]


def test_one_word_in_a_number_column_makes_it_text(tmp_path):
    (tmp_path / "w.csv").write_text("code,y\n1,0\n2,1\nunknown,0\n")

    code = _table(tmp_path, path="w.csv", labels="y").column("code")

    assert code.is_text and [code.categories[v] for v in code.values] == ["1", "2", "unknown"]


def test_an_npz_with_nan_has_missing_values_and_indexed_names(tmp_path):
    features = np.arange(12, dtype=np.float64).reshape(3, 2, 2)
    features[1, 0, 1] = np.nan
    features[2, 1, 1] = np.inf
    np.savez(tmp_path / "w.npz", X=features, y=[0, 1, 0])

    table = _table(tmp_path, path="w.npz")

    assert [c.name for c in table.columns] == ["X[0]", "X[1]", "X[2]", "X[3]"]
    assert table.column("X[1]").missing.tolist() == [False, True, False]
    assert table.column("X[3]").missing.tolist() == [False, False, True]  # inf is no usable number
    assert table.labels.tolist() == [0, 1, 0]


def test_an_npz_without_y_is_unlabelled_unless_labels_are_declared(tmp_path):
    np.savez(tmp_path / "w.npz", X=np.ones((3, 2)))

    assert _table(tmp_path, path="w.npz").labels is None
    with pytest.raises(ArtifactError, match=r"^w\.npz has no array named 'y'$"):
        _table(tmp_path, path="w.npz", labels="y")


@pytest.mark.parametrize(("content", "message"), [
    ("a,a,y\n1,2,0\n", r"w\.csv: its header names a column twice; column names must be unique"),
    ("a,y\n", r"w\.csv has a header but no rows"),
    ("", r"w\.csv is empty"),
    ("a,y\n1,0\n2\n", r"w\.csv: line 3 has 1 values but the header has 2 columns"),
    ("a,y\n1,0.5\n", r"w\.csv: labels must be integer class ids, and the one on line 2 is not"),
    ("a,b\n1,0\n", r"w\.csv has no column 'y' \(looked up in its header line, of 2 columns\)"),
])
def test_bad_csv_tables_are_refused_without_quoting_them(tmp_path, content, message):
    (tmp_path / "w.csv").write_text(content)

    with pytest.raises(ArtifactError, match=f"^{message}$"):
        _table(tmp_path, path="w.csv", labels="y")


def test_a_pickle_is_never_read_as_a_table(tmp_path, canary_payload, canary):
    (tmp_path / "w.npz").write_bytes(canary_payload)

    with pytest.raises(ArtifactError, match="is a pickle stream"):
        _table(tmp_path, path="w.npz")
    assert not canary.exists()


def test_the_memory_budget_applies(tmp_path):
    np.savez(tmp_path / "w.npz", X=np.ones((1000, 10)), y=np.zeros(1000))

    with pytest.raises(ArtifactError, match="more than the dataset memory budget"):
        load_table(Artifact(name="w", type="dataset", path="w.npz"), tmp_path, Budget(10_000))


_CELL = st.one_of(st.sampled_from(["", "NA", "?", "1", "-2.5", "1e3", "x", "FR", "nan", "inf"]),
                  st.text(alphabet="ab,\"\n 1.", max_size=4))


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(_CELL, min_size=3, max_size=3), min_size=0, max_size=6))
def test_any_csv_is_a_table_or_a_located_refusal(tmp_path_factory, rows):
    import csv
    import io

    folder = tmp_path_factory.mktemp("csv")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["a", "b", "y"])
    writer.writerows(rows)
    (folder / "w.csv").write_text(buffer.getvalue())
    try:
        table = _table(folder, path="w.csv")
    except ArtifactError:
        return
    assert table.n_rows == len(rows)  # three cells always write a record (at least two commas)
    for column in table.columns:
        assert column.values.shape == (table.n_rows,)
        assert column.is_text or column.values.dtype == np.float64
