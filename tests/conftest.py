"""Fixtures shared across test packages."""

from __future__ import annotations

import os
from pathlib import Path

# One thread per numerical library: the suite's timings and results then hold on a shared 2-core CI
# machine (torch's default of one thread per core oversubscribes it when anything else runs).
# Set before numpy or torch is imported, which read it once.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
from hypothesis import settings

# No per-example deadline: on a shared 2-core machine the first example of a property test can take
# seconds (imports, a loaded CPU) and fail a test whose property holds. Slowness is measured in
# benchmarks/, not in tests.
settings.register_profile("riskframe", deadline=None)
settings.load_profile("riskframe")


@pytest.fixture
def digits_small() -> tuple[np.ndarray, np.ndarray]:
    """60 of scikit-learn's 8x8 digits (images (60, 8, 8) and labels 0..9)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images[:60].astype(np.float64), bunch.target[:60].astype(np.int64)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """--doctest-modules (pyproject.toml) is for the package's docstrings: under tests/, only test
    modules are collected, not the fixtures' and helpers' own .py files (which tests import)."""
    if collection_path.suffix == ".py" and not collection_path.name.startswith(("test_", "conftest")):
        return True
    return None
