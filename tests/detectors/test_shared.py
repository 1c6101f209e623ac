"""Results shared by worker runs: computed once whoever asks first, read by the others."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import numpy as np

from riskframe.detectors.shared import computed_once, shared_folder
from riskframe.engine.executors import ProcessExecutor


def _save(value: np.ndarray, path: Path) -> None:
    np.savez(path, value=value)


def _load(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as saved:
        return saved["value"]


def slow_square(folder: str, log: str) -> str:
    """In a worker: square 0..4 once for everyone, noting each computation in ``log``."""

    def compute() -> np.ndarray:
        with open(log, "a") as note:
            note.write("computed\n")
        time.sleep(0.5)  # long enough for the other worker to ask meanwhile
        return np.arange(5) ** 2

    return str(computed_once(Path(folder), ("square", 5), compute, _save, _load).tolist())


def test_two_workers_asking_at_once_compute_once(tmp_path):
    log = tmp_path / "log.txt"
    with ProcessExecutor(max_workers=2) as executor:
        answers = [f.result() for f in [executor.submit(slow_square, str(tmp_path), str(log)) for _ in range(2)]]
    assert answers == ["[0, 1, 4, 9, 16]"] * 2
    assert log.read_text() == "computed\n"


def test_a_damaged_result_is_computed_again(tmp_path):
    calls = []

    def compute() -> np.ndarray:
        calls.append(1)
        return np.ones(3)

    computed_once(tmp_path, ("k",), compute, _save, _load)
    for result in tmp_path.glob("*.npz"):
        result.write_bytes(b"damaged")
    assert computed_once(tmp_path, ("k",), compute, _save, _load).tolist() == [1.0, 1.0, 1.0]
    assert len(calls) == 2


def test_the_folder_is_private_to_this_process_user():
    assert stat.S_IMODE(shared_folder().stat().st_mode) == 0o700
    assert shared_folder() == shared_folder()
