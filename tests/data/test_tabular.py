"""Tables as datasets: string labels, id and ignored columns, categories, and where each row is."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe.data.rows import describe_rows
from riskframe.errors import ArtifactError

WINE = """bottle,alcohol,colour,cultivar,note
B-001,13.2,red,barolo,fine
B-002,12.4,pale,grignolino,odd

B-003,13.7,red,barolo,fine
B-004,12.9,deep,barbera,fine
"""


def _refused(load, field: str, message: str, **declaration) -> ArtifactError:
    with pytest.raises(ArtifactError, match=f"^{re.escape(message)}$") as excinfo:
        load(**declaration)
    assert excinfo.value.field == field
    return excinfo.value


def test_string_labels_are_classes_in_sorted_order(tmp_path, load):
    (tmp_path / "wine.csv").write_text(WINE)

    ds = load(path="wine.csv", labels="cultivar", id_column="bottle", ignore_columns=["note"])

    assert ds.classes.tolist() == ["barbera", "barolo", "grignolino"]
    assert [ds.label_of(c) for c in ds.labels] == ["barolo", "grignolino", "barolo", "barbera"]
    assert ds.columns == ("alcohol", "colour")
    assert ds.categories == {"colour": ("deep", "pale", "red")}
    np.testing.assert_array_equal(ds.features, [[13.2, 2], [12.4, 1], [13.7, 2], [12.9, 0]])


def test_rows_keep_their_line_and_id(tmp_path, load):
    (tmp_path / "wine.csv").write_text(WINE)

    ds = load(path="wine.csv", labels="cultivar", id_column="bottle", ignore_columns=["note"])

    assert ds.row_kind == "line" and ds.rows.tolist() == [2, 3, 5, 6]  # line 4 is blank
    assert ds.ids.tolist() == ["B-001", "B-002", "B-003", "B-004"]
    assert describe_rows(ds, [3, 1]) == [
        {"index": 3, "line": 6, "id": "B-004", "values": {"alcohol": 12.9, "colour": "deep"}},
        {"index": 1, "line": 3, "id": "B-002", "values": {"alcohol": 12.4, "colour": "pale"}},
    ]


def test_a_quoted_value_over_two_lines_keeps_the_line_its_row_starts_on(tmp_path, load):
    (tmp_path / "raw.csv").write_text('a,note,y\n1,"two\nlines",0\n2,x,1\n')

    ds = load(path="raw.csv", labels="y", ignore_columns=["note"])

    assert ds.rows.tolist() == [2, 4]


def test_the_id_column_is_never_a_feature(tmp_path, load):
    (tmp_path / "raw.csv").write_text("id,a,y\n7,1.5,0\n8,2.5,1\n")

    assert load(path="raw.csv", labels="y", id_column="id").columns == ("a",)
    assert load(path="raw.csv", labels="y").columns == ("id", "a")  # undeclared, it is data like any other
    _refused(load, "features", "'id' is the id column, so it cannot also be a feature",
             path="raw.csv", labels="y", id_column="id", features=["id", "a"])


def test_a_misspelt_column_names_the_key_and_the_nearest_column(tmp_path, load):
    (tmp_path / "wine.csv").write_text(WINE)

    _refused(load, "id_column", "wine.csv has no column 'botle' (looked up in its header, of 5 columns); did you "
             "mean 'bottle'?", path="wine.csv", labels="cultivar", id_column="botle")
    _refused(load, "ignore_columns", "wine.csv has no column 'nothing' (looked up in its header, of 5 columns)",
             path="wine.csv", labels="cultivar", ignore_columns=["nothing"])


def test_integer_labels_written_as_text_stay_integers(tmp_path, load):
    (tmp_path / "raw.csv").write_text("a,y\n1,3\n2, 7 \n3,3.0\n")

    ds = load(path="raw.csv", labels="y")

    assert ds.classes.tolist() == [3, 7] and ds.labels.tolist() == [0, 1, 0]


def test_a_text_column_with_thousands_of_values_is_refused_as_an_identifier(tmp_path, load):
    rows = "".join(f"name-{i},{i % 2}\n" for i in range(10_001))
    (tmp_path / "raw.csv").write_text("name,y\n" + rows)

    _refused(load, "features", "features take more than 10,000 distinct values, which is not a set of classes or "
             "categories (an identifier or free text?): name it under id_column: or ignore_columns:",
             path="raw.csv", labels="y")


def test_a_missing_feature_value_is_located(tmp_path, load):
    (tmp_path / "raw.csv").write_text("a,b,y\n1,2,0\n3,NA,1\n")

    _refused(load, "features", "raw.csv: line 3, column 2: the value is missing; riskframe screens complete rows, so "
             "fill it in or drop the row (or leave the column out with ignore_columns:)", path="raw.csv", labels="y")


def test_no_feature_left(tmp_path, load):
    (tmp_path / "raw.csv").write_text("id,y\n1,0\n2,1\n")

    _refused(load, "features", "raw.csv: no feature column is left once the label, group, id and ignored columns "
             "are set aside", path="raw.csv", labels="y", id_column="id")


# Properties ----------------------------------------------------------------------------------------

_words = st.text(alphabet="abcdefgh", min_size=1, max_size=5)
_tables = st.integers(2, 30).flatmap(lambda n: st.tuples(
    st.lists(st.sampled_from(["barolo", "barbera", "grignolino", "nebbiolo"]), min_size=n, max_size=n),
    st.lists(_words, min_size=n, max_size=n),
    st.lists(st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 3)), min_size=n, max_size=n),
    st.permutations(range(n)),
))


def _write(path, labels, colours, numbers, order):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "colour", "x", "label"])
        for i in order:
            writer.writerow([f"r{i}", colours[i], repr(numbers[i]), labels[i]])


@settings(max_examples=40, deadline=None)
@given(_tables)
def test_any_table_reads_back_as_written_and_codes_by_value_not_order(tmp_path_factory, table):
    labels, colours, numbers, order = table
    if len(set(labels)) < 2:
        return
    folder = tmp_path_factory.mktemp("csv")
    _write(folder / "a.csv", labels, colours, numbers, range(len(labels)))
    _write(folder / "b.csv", labels, colours, numbers, order)
    from riskframe.data.datasets import load_dataset
    from riskframe.spec.pipeline import Artifact

    def read(name):
        return load_dataset(Artifact(name="t", type="dataset", path=name, labels="label", id_column="id"), folder)

    a, b = read("a.csv"), read("b.csv")
    assert a.classes.tolist() == sorted(set(labels)) == b.classes.tolist()
    assert a.categories == b.categories == {"colour": tuple(sorted(set(colours)))}
    for ds, rows in ((a, list(range(len(labels)))), (b, list(order))):
        assert [ds.label_of(c) for c in ds.labels] == [labels[i] for i in rows]
        described = describe_rows(ds, range(ds.n_samples))
        assert [d["id"] for d in described] == [f"r{i}" for i in rows]
        assert [d["values"] for d in described] == [{"colour": colours[i], "x": numbers[i]} for i in rows]
        assert [d["line"] for d in described] == list(range(2, len(rows) + 2))
