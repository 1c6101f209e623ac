"""Running the plan in worker processes: every fault of a real plugin detector is contained.

The plugin (``faulty_plugin.py``) is installed in a folder on the path and registered in a test
registry; each test runs a real assessment with the process executor under small limits
(timeout 2 s, memory 300 MiB).
"""

from __future__ import annotations

import os
import sys
import threading

import pytest

from riskframe.detectors.registry import Registry
from riskframe.engine.assess import assess
from tests.engine.faulty_workspace import CLASSES, write_workspace

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="limits and signals as on Linux")


def test_every_fault_is_an_error_result_that_says_how_and_the_gate_fails(plugin, tmp_path):
    # Filling 300 MiB can take over 2 s on a loaded machine: the memory limit, not the timeout, must end it.
    ws = write_workspace(tmp_path, list(CLASSES), timeouts={"allocates-without-bound": 60})
    cwd, threads = os.getcwd(), threading.active_count()

    assessment = assess(ws.pipeline, ws.policy, controls_dirs=[ws.controls], registry=plugin, jobs=2)

    by = {r.control: r for r in assessment.results}
    assert {c: r.status for c, r in by.items()} == {
        "exits-zero": "error", "holds-the-gil": "error", "allocates-without-bound": "error", "segfaults": "error",
        "changes-its-surroundings": "error", "leaves-a-thread": "error", "probe": "pass"}
    assert by["exits-zero"].summary == ("Detector 'exits-zero' ended its worker process with exit code 0 without "
                                        "returning a result. Counted as a failure (fail closed).")
    assert by["exits-zero"].evidence == {"error": "ended its worker process with exit code 0 without returning "
                                                  "a result", "exit_code": 0}
    assert by["holds-the-gil"].summary == (
        "Detector 'holds-the-gil' did not finish within the control's timeout of 2 s and was stopped (its worker "
        "process killed). Counted as a failure (fail closed).")
    assert by["holds-the-gil"].evidence["limit"] == "timeout" and by["holds-the-gil"].duration_s == 2
    assert by["allocates-without-bound"].summary.startswith(
        "Detector 'allocates-without-bound' ran out of memory under its memory limit of 300 MiB (MemoryError")
    assert by["allocates-without-bound"].evidence["limit"] == "memory"
    assert by["allocates-without-bound"].evidence["memory_limit_bytes"] == 300 * 2**20
    assert by["segfaults"].summary == ("Detector 'segfaults' ended its worker process with signal 11 (SIGSEGV) "
                                       "without returning a result. Counted as a failure (fail closed).")
    assert by["segfaults"].evidence["signal"] == "SIGSEGV"
    assert by["changes-its-surroundings"].summary == (
        "Detector 'changes-its-surroundings' changed the working directory: a detector must leave its process as "
        "it found it (a changed folder breaks the runs after it, a running thread keeps riskframe alive). Counted "
        "as a failure (fail closed).")
    assert by["leaves-a-thread"].summary.startswith(
        "Detector 'leaves-a-thread' left 1 non-daemon thread running (left-behind): a detector must leave")
    # What a run does to its process ends with it: the parent and the other runs never see it.
    assert by["probe"].evidence == {"cwd": cwd, "leaked": "", "threads": 1}
    assert os.getcwd() == cwd and "RISKFRAME_TEST_LEAKED" not in os.environ
    assert threading.active_count() == threads
    assert assessment.gate.decision == "fail"
    assert sum("ended in error; the gate fails closed" in reason for reason in assessment.gate.reasons) == 6


def test_the_local_executor_runs_in_process_and_contains_none_of_it(plugin, tmp_path, monkeypatch):
    """Why the command line does not default to it: the detector moves riskframe itself (the folder
    is put back and the run is an error, but its environment change stays)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RISKFRAME_TEST_LEAKED", raising=False)
    ws = write_workspace(tmp_path / "ws", ["changes-its-surroundings"])

    assessment = assess(ws.pipeline, ws.policy, controls_dirs=[ws.controls], registry=plugin, executor="local")

    assert assessment.results[0].status == "error"
    assert os.getcwd() == str(tmp_path) and os.environ["RISKFRAME_TEST_LEAKED"] == "leaked"


def test_a_detector_defined_where_workers_cannot_import_it_is_an_error_naming_the_way_out(tmp_path):
    from riskframe.detectors.base import Detector, DetectorParams
    from riskframe.results import DetectorResult

    class Inline(Detector):  # inside a function: pickled by reference, it cannot reach a worker
        name = "probe"
        title = "Defined inside a test"
        requires = ("dataset",)
        Params = DetectorParams

        def run(self, ctx, params):
            return DetectorResult(status="pass", score=0.0, summary="Fine.")

    registry = Registry()
    registry.register(Inline)
    ws = write_workspace(tmp_path, ["probe"])

    result = assess(ws.pipeline, ws.policy, controls_dirs=[ws.controls], registry=registry).results[0]

    assert result.status == "error"
    assert result.summary.startswith("Detector 'probe' could not be sent to a worker process (")
    assert result.summary.endswith("define it at the top level of an importable module, or run it with the local "
                                   "executor. Counted as a failure (fail closed).")


def test_progress_is_reported_as_each_worker_finishes(plugin, tmp_path):
    from riskframe.commands.progress import ProgressPrinter

    ws = write_workspace(tmp_path, ["probe", "exits-zero"])
    primary, secondary = os.openpty()  # a real terminal: the printer writes only to one
    seen = []
    with os.fdopen(secondary, "w") as terminal:
        printer = ProgressPrinter(terminal)

        def progress(done, total, outcome):
            seen.append((done, total, outcome.run.control.id))
            printer(done, total, outcome)

        assess(ws.pipeline, ws.policy, controls_dirs=[ws.controls], registry=plugin, progress=progress)
    shown = _read_all(primary)
    assert [(done, total) for done, total, _ in seen] == [(1, 2), (2, 2)]
    assert {control for *_, control in seen} == {"probe", "exits-zero"}
    assert "] probe at ingest (raw): pass in " in shown and "] exits-zero at ingest (raw): error in " in shown


def _read_all(primary: int) -> str:
    """Everything written to a pty whose other end is closed: one read may return a line at a
    time, and Linux ends the stream with EIO rather than an empty read."""
    chunks = []
    try:
        while chunk := os.read(primary, 65536):
            chunks.append(chunk)
    except OSError:
        pass
    os.close(primary)
    return b"".join(chunks).decode()
