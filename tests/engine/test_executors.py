"""Executors: the process executor gives the assessment the local one gives, byte for byte apart
from timings; it runs at most ``max_workers`` calls at once and kills its workers when stopped."""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from riskframe.engine.assess import assess
from riskframe.engine.executors import LocalExecutor, ProcessExecutor, make_executor
from riskframe.errors import UsageError, WorkerError
from tests.engine.test_workers import gone, wait_for_file

ROOT = Path(__file__).resolve().parents[2]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals as on Linux")


def stable(assessment) -> str:
    """The assessment JSON without what differs between two runs of the same inputs: times."""
    data = assessment.model_dump(mode="json")
    data.pop("created_at")
    for result in data["results"]:
        result.pop("duration_s")
    return json.dumps(data, sort_keys=True)


def interval(seconds: float) -> str:
    started = time.monotonic()
    time.sleep(seconds)
    return f"{started} {time.monotonic()}"


def write_pid_and_hang(pid_file: str) -> str:
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(60)
    return "unreachable"


def test_process_and_local_executors_give_the_same_assessment(workspace, registry):
    workspace.write_policy(("R1", "balance", "high"), ("R2", "crash", "low"), ("R3", "exit", "low"))

    def run(executor, jobs=None):
        return stable(assess(workspace.pipeline, [workspace.policy], controls_dirs=[workspace.controls],
                             registry=registry, executor=executor, jobs=jobs))

    local = run("local")
    assert run("process", 2) == local
    with ThreadPoolExecutor(2) as threads:  # any concurrent.futures executor: the jobs carry staged data
        assert run(threads) == local


@pytest.mark.slow
def test_the_example_with_real_detectors_and_pictures_is_byte_identical_in_workers():
    example = ROOT / "examples/poisoned-digits"
    if not (example / "data/train.npz").exists():
        pytest.skip("run examples/poisoned-digits/make_example.py first (make demo)")

    def run(executor):
        return stable(assess(example / "pipeline.yaml", [ROOT / "policies/data-poisoning.yaml"], executor=executor))

    local = run("local")
    assert '"attachments": [{' in local  # PNG pictures travel back from the workers as text
    assert run("process") == local


def test_the_process_executor_runs_at_most_max_workers_calls_at_once():
    with ProcessExecutor(max_workers=1) as executor:
        spans = [tuple(map(float, f.result().split())) for f in [executor.submit(interval, 0.2) for _ in range(3)]]
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))


@linux_only
def test_stopping_the_process_executor_kills_its_running_workers(tmp_path):
    executor = ProcessExecutor(max_workers=2)
    futures = [executor.submit(write_pid_and_hang, str(tmp_path / f"{i}.pid")) for i in range(2)]
    pids = [int(wait_for_file(tmp_path / f"{i}.pid")) for i in range(2)]

    executor.shutdown(wait=True, cancel_futures=True)

    assert all(gone(pid) for pid in pids)
    for future in futures:
        with pytest.raises(WorkerError, match=r"with signal 9 \(SIGKILL\)"):
            future.result()


@linux_only
def test_leaving_a_with_block_on_an_exception_kills_the_workers(tmp_path):
    with pytest.raises(KeyboardInterrupt), ProcessExecutor() as executor:
        executor.submit(write_pid_and_hang, str(tmp_path / "w.pid"))
        pid = int(wait_for_file(tmp_path / "w.pid"))
        raise KeyboardInterrupt
    assert gone(pid)


def test_executors_by_name():
    assert isinstance(make_executor("local"), LocalExecutor)
    assert make_executor("process", 3).max_workers == 3  # type: ignore[attr-defined]
    with pytest.raises(UsageError, match=r"^unknown executor 'ray'; use one of process, local, dask$"):
        make_executor("ray")
