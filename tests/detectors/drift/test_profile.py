"""Profiles: the inferred schema and statistics, written reproducibly and read back with checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from riskframe.data.tables import Column, Table
from riskframe.detectors.drift.profile import bin_counts, dumps_profile, profile_table, read_profile
from riskframe.errors import ArtifactError


def test_types_kinds_domains_and_deciles_are_inferred(make_table):
    profile = profile_table(make_table(np.random.default_rng(0), 2000))

    income, accounts, country = profile.columns
    assert (income.type, income.kind, accounts.type, accounts.kind) == ("float", "numeric", "integer", "categorical")
    assert (country.type, country.kind, country.domain.values) == ("text", "categorical", ["DE", "FR", "IT"])
    assert accounts.domain.values == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0] and sum(accounts.domain.counts) == 2000
    assert len(income.numbers.bins.edges) == 9 and sum(income.numbers.bins.counts) == 2000
    assert all(190 <= c <= 210 for c in income.numbers.bins.counts)  # deciles: a tenth each
    assert income.numbers.percentiles[0] == income.numbers.min and income.unique == 2000


def test_labels_and_every_class_are_profiled_with_their_own_deciles(make_table):
    table = make_table(np.random.default_rng(1), 3000)
    profile = profile_table(table)

    assert profile.labels.values == [0, 1] and sum(profile.labels.counts) == 3000
    approved = profile.classes[1]
    assert approved.label == 1 and approved.rows == int((table.labels == 1).sum())
    income = approved.columns[0].numbers
    values = table.columns[0].values[table.labels == 1]
    assert income.bins.counts == bin_counts(values, income.bins.edges).tolist()
    assert income.mean == pytest.approx(values.mean())


def test_missing_values_free_text_and_many_integers(make_table):
    values = np.array([1.0, np.nan, 3.0] * 10 + list(range(40)))
    ids = np.arange(1200, dtype=np.int64)
    table = Table("t", Path("t.csv"), (Column("n", values[:70]), Column("id", ids[:70] % 1200,
                                                                            tuple(f"u{i}" for i in range(1200)))),
                  None, 70)
    n, ident = profile_table(table).columns

    assert (n.count, n.missing, n.type, n.kind) == (60, 10, "integer", "numeric")  # 42 distinct integers
    assert ident.kind == "categorical"  # 70 distinct texts: a domain
    many = Table("t", Path("t.csv"), (Column("id", ids, tuple(f"u{i}" for i in range(1200))),), None, 1200)
    assert profile_table(many).columns[0].kind == "free-text"


def test_the_same_table_gives_the_same_bytes_and_reads_back(make_table, tmp_path):
    profile = profile_table(make_table(np.random.default_rng(2), 500))
    again = profile_table(make_table(np.random.default_rng(2), 500))
    assert dumps_profile(profile) == dumps_profile(again)
    (tmp_path / "p.json").write_bytes(dumps_profile(profile))

    assert read_profile(tmp_path / "p.json") == profile
    assert list(json.loads(dumps_profile(profile))["columns"][0])[:4] == ["name", "type", "kind", "unique"]


@pytest.mark.parametrize(("content", "message"), [
    (b"{not json", r"p\.json is not a JSON profile written by `riskframe profile`"),
    (b'{"riskframe_profile": 2}', r"p\.json is not a riskframe profile \(version 1\); write one with "
                                  r"`riskframe profile DATASET --out FILE`"),
    (b'{"riskframe_profile": 1, "dataset": {"file": "x", "rows": "many"}, "max_categories": 20, "columns": []}',
     r"p\.json: dataset\.rows: Input should be a valid integer, unable to parse string as an integer "
     r"\(1 problem\(s\) in the profile\)"),
])
def test_what_is_not_a_profile_is_refused_located(make_table, tmp_path, content, message):
    (tmp_path / "p.json").write_bytes(content)

    with pytest.raises(ArtifactError, match=f"^{message}$") as caught:
        read_profile(tmp_path / "p.json")
    assert caught.value.field == "profile"


def test_counts_that_do_not_fit_their_bins_are_refused(make_table, tmp_path):
    data = json.loads(dumps_profile(profile_table(make_table(np.random.default_rng(3), 300))))
    data["columns"][0]["numbers"]["bins"]["counts"].pop()
    (tmp_path / "p.json").write_text(json.dumps(data))

    with pytest.raises(ArtifactError, match=r"^p\.json: column 'income': bins need one count more than edges$"):
        read_profile(tmp_path / "p.json")
