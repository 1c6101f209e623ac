"""Flagged samples located in their files: what every detector's evidence gains, and when it does not."""

from __future__ import annotations

import pytest

from riskframe.data.rows import MAX_DESCRIBED_ROWS, describe_rows, with_flagged_rows


@pytest.fixture
def wine(tmp_path, load):
    rows = "".join(f"B-{i},{10 + i % 5}.5,{'red' if i % 2 else 'pale'},{'barolo' if i % 3 else 'barbera'}\n"
                   for i in range(150))
    (tmp_path / "wine.csv").write_text("bottle,alcohol,colour,cultivar\n" + rows)
    return load(path="wine.csv", labels="cultivar", id_column="bottle")


def test_flagged_samples_gain_their_rows_most_suspicious_first(wine):
    evidence = with_flagged_rows({"flagged_indices": [7, 2], "scores": [0.9, 0.4]}, [wine])

    assert evidence["flagged_rows"] == [
        {"index": 7, "line": 9, "id": "B-7", "values": {"alcohol": 12.5, "colour": "red"}},
        {"index": 2, "line": 4, "id": "B-2", "values": {"alcohol": 12.5, "colour": "pale"}},
    ]
    assert evidence["scores"] == [0.9, 0.4]


def test_only_the_first_rows_are_described(wine):
    evidence = with_flagged_rows({"flagged_indices": list(range(150))}, [wine])

    assert len(evidence["flagged_rows"]) == MAX_DESCRIBED_ROWS == 100


@pytest.mark.parametrize("evidence", [
    {"summary": "nothing flagged"},
    {"flagged_indices": [3, 999]},                           # not samples of this dataset
    {"flagged_indices": ["3"]},                              # not indices
    {"flagged_indices": [3], "flagged_artifact": "other"},   # samples of another dataset
    {"flagged_indices": [3], "flagged_rows": "the detector's own"},
])
def test_evidence_that_locates_nothing_here_is_left_as_it_is(wine, evidence):
    assert with_flagged_rows(evidence, [wine]) == evidence


def test_an_npz_dataset_has_nothing_to_add(tmp_path, load):
    import numpy as np

    np.savez(tmp_path / "raw.npz", X=np.ones((4, 2)), y=[0, 1, 0, 1])
    ds = load(path="raw.npz")

    assert with_flagged_rows({"flagged_indices": [1]}, [ds]) == {"flagged_indices": [1]}
    with pytest.raises(IndexError, match=r"^sample 4 is not in train"):
        describe_rows(ds, [4])
