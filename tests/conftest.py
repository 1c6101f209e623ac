"""Fixtures shared across test packages."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def digits_small() -> tuple[np.ndarray, np.ndarray]:
    """60 of scikit-learn's 8x8 digits (images (60, 8, 8) and labels 0..9)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images[:60].astype(np.float64), bunch.target[:60].astype(np.int64)
