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


@pytest.fixture
def digits_small() -> tuple[np.ndarray, np.ndarray]:
    """60 of scikit-learn's 8x8 digits (images (60, 8, 8) and labels 0..9)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images[:60].astype(np.float64), bunch.target[:60].astype(np.int64)


# Fixtures that take a second or more to build and are shared (module or session scope). Under
# pytest-xdist (make test-fast: -n 2 --dist loadgroup) every test using one of them runs on the same
# worker, so the fixture is built once, not once per worker. Without xdist the marks do nothing.
SHARED_EXPENSIVE_FIXTURES = frozenset({
    "digits_flip_targeted_run", "digits_flip_random_run", "digits_flip_clean_run",  # label-issues on full digits
    "real_assessment", "html_page", "assessed", "cluster", "mlflow_server", "empty_store", "models",
    "corpus", "scenario_result", "mlp_stage", "patched_digits",
})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None or item.get_closest_marker("xdist_group"):
            continue
        shared = [name for name in item.fixturenames if name in SHARED_EXPENSIVE_FIXTURES]
        if shared:  # the fixture's own node (conftest folder or module) tells same-named fixtures apart
            definition = info.name2fixturedefs[shared[0]][-1]
            item.add_marker(pytest.mark.xdist_group(f"{shared[0]}@{definition.baseid}"))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """--doctest-modules (pyproject.toml) is for the package's docstrings: under tests/, only test
    modules are collected, not the fixtures' and helpers' own .py files (which tests import)."""
    if collection_path.suffix == ".py" and not collection_path.name.startswith(("test_", "conftest")):
        return True
    return None
