"""The statistics under drift: the chi-squared test, pooling, Cohen's w, detection limits, corrections."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, false_discovery_control, ncx2

from riskframe.detectors.drift.stats import (
    MIN_EXPECTED,
    adjust_p_values,
    compare_counts,
    detectable_effect,
    pool_cells,
)


def test_the_test_is_pearsons_chi_squared_of_the_two_by_k_table():
    reference, new = np.array([300, 250, 200, 250]), np.array([280, 240, 230, 250])

    mine = compare_counts(reference, new, ordered=True)
    scipy = chi2_contingency(np.array([reference, new]), correction=False)

    assert mine.statistic == pytest.approx(scipy.statistic) and mine.p_value == pytest.approx(scipy.pvalue)
    assert mine.df == 3 and (mine.n_reference, mine.n_new) == (1000, 1000)


def test_cohens_w_is_bias_corrected_and_zero_for_equal_proportions():
    same = compare_counts(np.array([100, 200, 300]), np.array([100, 200, 300]), ordered=False)
    assert (same.statistic, same.effect, same.p_value) == (0.0, 0.0, 1.0)
    # Proportions 0.5/0.5 against 0.4/0.6: w with pooled proportions is sqrt(0.0404); minus df / n_eff.
    moved = compare_counts(np.array([5000, 5000]), np.array([4000, 6000]), ordered=False)
    assert moved.effect == pytest.approx(np.sqrt(0.040404 - 1 / 5000), rel=1e-3)


def test_empty_samples_and_a_single_cell_are_no_evidence():
    assert compare_counts(np.array([10, 5]), np.array([0, 0]), ordered=True).p_value == 1.0
    assert compare_counts(np.array([10]), np.array([7]), ordered=True).df == 0


def test_rare_categories_are_pooled_and_rare_bins_join_their_neighbours():
    # Half the rows in the smaller sample: a cell needs a total of 10 for an expected count of 5 there.
    assert [g.tolist() for g in pool_cells(np.array([1000, 6, 5, 900, 0, 4]), 0.5, ordered=False)] == [
        [0], [3], [1, 2, 5]]
    # Rare values that are still too few together join the smallest regular cell.
    assert [g.tolist() for g in pool_cells(np.array([1000, 3, 2, 900, 0, 4]), 0.5, ordered=False)] == [
        [0], [3, 1, 2, 5]]
    assert [g.tolist() for g in pool_cells(np.array([20, 1, 1, 20, 2]), 0.5, ordered=True)] == [[0], [1, 2, 3, 4]]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 500), min_size=1, max_size=30), st.floats(0.01, 0.5), st.booleans())
def test_pooled_cells_partition_the_non_empty_cells_and_meet_the_expected_count(counts, share, ordered):
    totals = np.array(counts)
    groups = pool_cells(totals, share, ordered=ordered)
    cells = sorted(int(c) for g in groups for c in g)
    assert cells == np.flatnonzero(totals > 0).tolist()
    if len(groups) > 1:
        assert all(totals[g].sum() * share >= MIN_EXPECTED - 1e-9 for g in groups)


def test_the_detection_limit_is_where_the_test_reaches_80_percent_power():
    w = detectable_effect(2000, 3000, 9, 0.01)
    n_eff = 2000 * 3000 / 5000
    critical = __import__("scipy.stats", fromlist=["chi2"]).chi2.isf(0.01, 9)
    assert ncx2.sf(critical, 9, n_eff * w * w) == pytest.approx(0.8, abs=1e-4)
    assert detectable_effect(0, 10, 3, 0.05) == float("inf")
    assert detectable_effect(200_000, 200_000, 9, 0.05) < detectable_effect(2_000, 2_000, 9, 0.05)


def test_holm_is_the_step_down_bonferroni_and_bh_is_scipys():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5])
    # Holm by hand: sorted 0.005 0.01 0.03 0.04 0.5 times 5 4 3 2 1, running maximum, capped at 1.
    assert adjust_p_values(p, "holm").tolist() == pytest.approx([0.04, 0.09, 0.09, 0.025, 0.5])
    assert adjust_p_values(p, "bh").tolist() == pytest.approx(false_discovery_control(p).tolist())
    assert adjust_p_values(np.array([]), "holm").size == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=40))
def test_adjusted_p_values_never_fall_below_the_raw_ones_and_keep_their_order(values):
    p = np.array(values)
    for method in ("holm", "bh"):
        adjusted = adjust_p_values(p, method)
        assert np.all(adjusted >= p - 1e-12) and np.all(adjusted <= 1.0)
        order = np.argsort(p, kind="stable")
        assert np.all(np.diff(adjusted[order]) >= -1e-12)


def test_unchanged_counts_reject_at_the_stated_rate():
    # 2,000 unchanged tables of 10 equiprobable bins, 300 rows a side: p < 0.05 in about 5% of them.
    rng = np.random.default_rng(0)
    rejections = sum(compare_counts(rng.multinomial(300, [0.1] * 10), rng.multinomial(300, [0.1] * 10),
                                    ordered=True).p_value < 0.05 for _ in range(2000))
    assert 0.035 < rejections / 2000 < 0.065
