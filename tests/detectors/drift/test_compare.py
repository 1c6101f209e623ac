"""Drift of a table against its profile: what is reported, and how each column's change is read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from riskframe.data.tables import Column, Table
from riskframe.detectors.drift.compare import compare_table
from riskframe.detectors.drift.profile import profile_table


@pytest.fixture
def reference(make_table):
    return profile_table(make_table(np.random.default_rng(0), 20_000))


def test_unchanged_data_reports_nothing_and_states_its_detection_limit(reference, make_table):
    report = compare_table(reference, make_table(np.random.default_rng(1), 5000))

    assert not report.drifted and report.columns == [] and not report.label_shift
    assert 0.03 < report.detection_limit < 0.1
    assert len(report.tests) == 3 * 3 + 1  # three columns, whole and per class, and the labels


def test_a_global_shift_is_ordinary_drift(reference, make_table):
    report = compare_table(reference, make_table(np.random.default_rng(2), 5000, shift=0.5))

    [income] = report.columns
    assert (income.column, income.pattern, income.classes) == ("income", "global", (0, 1))
    assert 0.35 < income.effect < 0.6 and report.drifted


def test_a_shift_in_one_class_is_class_conditional(reference, make_table):
    report = compare_table(reference, make_table(np.random.default_rng(3), 5000, class_shift=0.6))

    [income] = report.columns
    assert (income.pattern, income.classes) == ("class-conditional", (1,))
    assert income.class_effects[1] > 0.4 and income.others_effect < 0.1


def test_a_label_shift_is_reported_and_explains_the_columns_that_moved_with_it(reference, make_table):
    report = compare_table(reference, make_table(np.random.default_rng(4), 5000, approved_share=0.6))

    assert report.label_shift and report.label_test.comparison.effect > 0.3
    assert [(c.column, c.pattern) for c in report.columns] == [("income", "explained-by-label-shift")]


def test_a_trivial_shift_is_significant_at_large_n_but_not_reported(make_table):
    reference = profile_table(make_table(np.random.default_rng(5), 200_000))
    report = compare_table(reference, make_table(np.random.default_rng(6), 200_000, shift=0.05))

    income = next(t for t in report.tests if t.column == "income" and t.label is None)
    assert income.p_adjusted < 1e-6 and income.comparison.effect < 0.1
    assert not income.reported and not report.drifted
    assert report.detection_limit < 0.05  # the data could have shown a change of the floor's size


def test_a_category_shift_and_a_new_category_are_drift(reference, make_table):
    moved = compare_table(reference, make_table(np.random.default_rng(7), 5000, country_p=(0.3, 0.3, 0.4)))
    assert [(c.column, c.pattern) for c in moved.columns] == [("country", "global")]

    table = make_table(np.random.default_rng(8), 5000)
    codes = table.columns[2].values.copy()
    codes[:800] = 3  # "XX": a country the reference never had
    columns = (*table.columns[:2], Column("country", codes, (*table.columns[2].categories, "XX")))
    report = compare_table(reference, Table("t", Path("t.csv"), columns, table.labels, table.n_rows))
    assert [c.column for c in report.columns] == ["country"]


def test_missing_and_retyped_columns_are_left_untested_and_said_so(reference, make_table):
    table = make_table(np.random.default_rng(9), 1000)
    retyped = Column("accounts", np.zeros(1000, dtype=np.int64), ("many",))
    report = compare_table(reference, Table("t", Path("t.csv"), (retyped, table.columns[2]), table.labels, 1000))

    assert report.untested == {"income": "missing from the data", "accounts": "was integer, is now text"}


def test_without_labels_only_the_columns_are_tested(reference, make_table):
    table = make_table(np.random.default_rng(10), 1000)
    report = compare_table(reference, Table("t", Path("t.csv"), table.columns, None, 1000))

    assert report.label_test is None and len(report.tests) == 3


def test_holm_keeps_the_false_alarm_rate_over_many_columns(make_table):
    # 60 unchanged tables of 20 independent columns, whole and per class: at most alpha (5%) alarm.
    rng = np.random.default_rng(11)

    def table(n):
        labels = rng.integers(0, 2, n)
        return Table("t", Path("t.csv"), tuple(Column(f"c{j}", rng.normal(size=n)) for j in range(20)), labels, n)

    alarms = sum(compare_table(profile_table(table(600)), table(600)).drifted for _ in range(60))
    assert alarms <= 7  # 3 expected; without a correction over the 41 tests, most tables would alarm
