"""Tables for the drift tests: built from numpy columns (the statistics are pure functions of them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from riskframe.data.tables import Column, Table

COUNTRIES = ("DE", "FR", "IT")


def _make_table(rng: np.random.Generator, n: int, *, shift: float = 0.0, class_shift: float = 0.0,
               approved_share: float = 0.4, country_p: tuple[float, ...] = (0.5, 0.3, 0.2)) -> Table:
    """Two classes; ``income`` (float) depends on the class, ``accounts`` (integer, 0-5) and
    ``country`` (text) do not. ``shift`` moves income in every row, ``class_shift`` in class 1 only
    (in standard deviations of that class)."""
    labels = (rng.random(n) < approved_share).astype(np.int64)
    income = rng.normal(np.where(labels == 1, 1.0, 0.0), 1.0) + shift + class_shift * (labels == 1)
    accounts = rng.integers(0, 6, n).astype(np.float64)
    country = rng.choice(len(COUNTRIES), n, p=country_p).astype(np.int64)
    columns = (Column("income", income), Column("accounts", accounts), Column("country", country, COUNTRIES))
    return Table("t", Path("t.csv"), columns, labels, n)


@pytest.fixture
def make_table():
    """``make_table(rng, n, shift=..., class_shift=..., approved_share=..., country_p=...)``."""
    return _make_table
