"""The shared vocabulary: each word list is complete and consistent with its type."""

from typing import get_args

import pytest

from riskframe.vocabulary import (
    FAILING,
    LEVELS,
    NO_VERDICT,
    STATUSES,
    WORST_FIRST,
    Level,
    Status,
    Verdict,
    level_rank,
    strictest,
    worst,
)


def test_the_tuples_list_exactly_the_words_of_their_types() -> None:
    assert get_args(Status) == STATUSES
    assert get_args(Level) == LEVELS
    assert set(get_args(Verdict)) <= set(STATUSES)


def test_worst_first_orders_every_status_once() -> None:
    assert sorted(WORST_FIRST) == sorted(STATUSES)
    assert set(STATUSES) >= FAILING and set(NO_VERDICT) <= set(STATUSES)
    # The failing statuses are the worst ones; the ones without a verdict come last.
    assert set(WORST_FIRST[: len(FAILING)]) == FAILING
    assert set(WORST_FIRST[-len(NO_VERDICT):]) == set(NO_VERDICT)


def test_worst_and_strictest() -> None:
    assert worst(["pass", "waived", "skipped"]) == "waived"
    assert worst([]) == "not-assessed"
    assert strictest(["critical", "medium", "high"]) == "medium"
    assert strictest([]) == "high"
    assert [level_rank(level) for level in LEVELS] == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        level_rank("severe")
