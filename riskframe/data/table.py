"""What a table reader (csv, Parquet) hands the dataset loader, before the dataset checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Table:
    """A table read as its artifact declares it.

    ``features`` (N, D) float64, text columns as category codes (``categories[column][code]`` is
    the text); ``labels`` class codes 0..K-1 with ``classes`` their values; ``rows`` where each
    row is in its file (csv: the line it starts on; Parquet: its row number, from 0); ``columns``
    the feature columns' names; ``groups`` entity codes and ``ids`` the id column's values, when
    declared.
    """

    features: np.ndarray
    labels: np.ndarray
    classes: np.ndarray
    rows: np.ndarray
    columns: tuple[str, ...]
    categories: Mapping[str, tuple[str, ...]]
    groups: np.ndarray | None = None
    ids: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        arrays = (self.features, self.labels, self.classes, self.rows, self.groups, self.ids)
        return sum(a.nbytes for a in arrays if a is not None)
