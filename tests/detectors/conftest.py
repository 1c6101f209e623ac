"""Real poisoned digits on disk for the label-flip and class-outlier detector tests.

Each scenario is written as an ``.npz`` into a temporary folder and read back through the real
``ArtifactStore``, so the detectors see exactly what ``riskframe assess`` would give them. The
expensive full-digits runs are session-scoped and shared by the tests that read their result.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from riskframe import scenarios
from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.labels.label_issues import LabelIssues
from riskframe.results import DetectorResult
from riskframe.spec.pipeline import Artifact, Stage

DigitsContext = Callable[..., RunContext]


def write_dataset_context(
    folder: Path, features: np.ndarray, labels: np.ndarray, *, seed: int = 0, representations: np.ndarray | None = None
) -> RunContext:
    """Save ``features``/``labels`` as ``folder/train.npz`` (and reps) and bind them to a stage."""
    scenarios.save_npz(folder / "train.npz", features, labels)
    dataset = Artifact(name="train", type="dataset", path="train.npz", format="npz", features="X", labels="y")
    artifacts, bindings = [dataset], {"dataset": (dataset,)}
    if representations is not None:
        np.save(folder / "train_reps.npy", representations)
        reps = Artifact(name="train-reps", type="representations", path="train_reps.npy", of="train")
        artifacts.append(reps)
        bindings["representations"] = (reps,)
    stage = Stage(name="train", kind="data-preparation", artifacts=artifacts)
    return RunContext(stage=stage, bindings=bindings, store=ArtifactStore(folder), seed=seed)


@pytest.fixture
def digits_dataset_context(tmp_path: Path) -> DigitsContext:
    """Factory: ``(features, labels, seed=0, representations=None) -> RunContext`` in tmp_path."""
    count = iter(range(1_000_000))

    def build(
        features: np.ndarray, labels: np.ndarray, *, seed: int = 0, representations: np.ndarray | None = None
    ) -> RunContext:
        folder = tmp_path / f"dataset-{next(count)}"
        folder.mkdir()
        return write_dataset_context(folder, features, labels, seed=seed, representations=representations)

    return build


TableContext = Callable[[str, list[str], str], RunContext]


@pytest.fixture
def csv_table_context(tmp_path: Path) -> TableContext:
    """Factory: ``(header, lines, labels) -> RunContext`` on ``tmp_path/table.csv``, written as a
    user would, its ``labels`` column the label."""

    def build(header: str, lines: list[str], labels: str) -> RunContext:
        (tmp_path / "table.csv").write_text(header + "\n" + "\n".join(lines) + "\n")
        table = Artifact(name="table", type="dataset", path="table.csv", format="csv", labels=labels)
        stage = Stage(name="train", kind="data-preparation", artifacts=[table])
        return RunContext(stage=stage, bindings={"dataset": (table,)}, store=ArtifactStore(tmp_path), seed=0)

    return build


def _run_label_issues(folder: Path, scenario: scenarios.Scenario) -> tuple[scenarios.Scenario, DetectorResult]:
    ctx = write_dataset_context(folder, scenario.images, scenario.labels)
    return scenario, LabelIssues().run(ctx, LabelIssues.Params())


@pytest.fixture(scope="session")
def digits_flip_targeted_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[scenarios.Scenario, DetectorResult]:
    """``label-issues`` with default parameters on the digits with 10% of the 7s relabelled 1."""
    return _run_label_issues(tmp_path_factory.mktemp("flip-7-1"), scenarios.digits_targeted(7, 1, 0.10, seed=0))


@pytest.fixture(scope="session")
def digits_flip_random_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[scenarios.Scenario, DetectorResult]:
    """``label-issues`` on the digits with 3% of all samples given a random other label."""
    return _run_label_issues(tmp_path_factory.mktemp("flip-random"), scenarios.digits_random(0.03, seed=1))


@pytest.fixture(scope="session")
def digits_flip_clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[scenarios.Scenario, DetectorResult]:
    """``label-issues`` on the digits as scikit-learn ships them."""
    return _run_label_issues(tmp_path_factory.mktemp("flip-clean"), scenarios.digits_clean())
