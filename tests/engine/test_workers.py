"""Calls in fresh worker processes: what comes back, how an ending is named, what a limit stops,
and that no worker outlives its call, its server or its parent.

The called functions are defined at the top of this module: workers import them by name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from riskframe.engine.limits import Limits
from riskframe.engine.workers import WorkerServer, call_in_worker
from riskframe.errors import WorkerError

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="limits and signals as on Linux")

ROOT = Path(__file__).resolve().parents[2]


def surroundings() -> str:
    return f"{os.getpid()} {os.getcwd()} {os.environ.get('RISKFRAME_TEST_MARK', '')}"


def exit_with(code: int) -> str:
    os._exit(code)


def kill_myself() -> str:
    os.kill(os.getpid(), signal.SIGKILL)
    return "unreachable"


def raise_system_exit() -> str:
    sys.exit(3)


def return_a_number() -> int:
    return 42


def allocate(n_bytes: int) -> str:
    return str(len(bytearray(n_bytes)))


def sum_mapped(path: str) -> str:
    return str(int(np.load(path, mmap_mode="r").sum()))


def start_child_and_hang(pid_file: str) -> str:
    child = subprocess.Popen(["sleep", "60"])
    Path(pid_file).write_text(str(child.pid))
    time.sleep(60)
    return "unreachable"


def thread_settings() -> str:
    from threadpoolctl import threadpool_info

    return f"{os.environ.get('OMP_NUM_THREADS')} {max(pool['num_threads'] for pool in threadpool_info())}"


def print_and_return() -> str:
    print("printed by a detector")
    return "returned"


def gone(pid: int, within: float = 5.0) -> bool:
    """Whether process ``pid`` ended (or is a zombie waiting for its parent) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def wait_for_file(path: Path, within: float = 30.0) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} was not written")


def test_a_call_returns_its_text_from_a_fresh_process_in_the_callers_folder_and_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RISKFRAME_TEST_MARK", "seen")
    first = call_in_worker(surroundings, limits=Limits(timeout=30)).split()
    second = call_in_worker(surroundings, limits=Limits(timeout=30)).split()
    assert first[1:] == [str(tmp_path), "seen"]
    assert first[0] != second[0] != str(os.getpid())


@pytest.mark.parametrize(("fn", "args", "message", "evidence"), [
    (exit_with, (0,), "ended its worker process with exit code 0 without returning a result", {"exit_code": 0}),
    (exit_with, (3,), "ended its worker process with exit code 3 without returning a result", {"exit_code": 3}),
    (kill_myself, (), "ended its worker process with signal 9 (SIGKILL) (sent by the system's out-of-memory killer, "
                      "or by another process) without returning a result", {"signal": "SIGKILL"}),
])
def test_a_worker_that_ends_without_answering_is_named_by_how_it_ended(fn, args, message, evidence):
    with pytest.raises(WorkerError) as info:
        call_in_worker(fn, *args, limits=Limits(timeout=30))
    assert str(info.value) == message
    assert info.value.evidence == {"error": message, **evidence}


def test_what_a_call_raises_comes_back_as_text_never_as_an_object():
    with pytest.raises(WorkerError, match=r"^failed in its worker process: SystemExit: 3\nTraceback"):
        call_in_worker(raise_system_exit, limits=Limits(timeout=30))
    with pytest.raises(WorkerError, match=r"^failed in its worker process: returned int; a worker answers with "
                                          r"text only$"):
        call_in_worker(return_a_number, limits=Limits(timeout=30))


def test_a_call_that_cannot_be_sent_or_loaded_says_so(tmp_path):
    with pytest.raises(WorkerError, match=r"^could not be sent to a worker process \(.*lambda.*\); define it at "
                                          r"the top level of an importable module, or run it with the local "
                                          r"executor$"):
        call_in_worker(lambda: "x", limits=Limits(timeout=30))
    (tmp_path / "rf_vanishing.py").write_text("def hello():\n    return 'hello'\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import rf_vanishing
    finally:
        sys.path.remove(str(tmp_path))  # imported here, not importable in a worker any more
    try:
        with pytest.raises(WorkerError, match=r"^could not be loaded in its worker process: ModuleNotFoundError: "
                                              r"No module named 'rf_vanishing'"):
            call_in_worker(rf_vanishing.hello, limits=Limits(timeout=30))
    finally:
        sys.modules.pop("rf_vanishing", None)


def test_past_its_timeout_the_worker_and_what_it_started_are_killed(tmp_path):
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    with pytest.raises(WorkerError) as info:
        call_in_worker(start_child_and_hang, str(pid_file), limits=Limits(timeout=1))
    assert time.monotonic() - started < 10
    assert str(info.value) == "did not finish within its timeout of 1 s and was stopped (its worker process killed)"
    assert info.value.evidence == {"error": str(info.value), "limit": "timeout", "timeout_s": 1}
    assert gone(int(pid_file.read_text()))  # the worker's own child: same process group


def test_the_memory_limit_counts_what_the_run_allocates_not_the_data_it_maps(tmp_path):
    mib = 2**20
    np.save(tmp_path / "big.npy", np.ones(64 * mib // 8))
    limits = Limits(timeout=30, memory=32 * mib)
    assert call_in_worker(allocate, 16 * mib, limits=limits) == str(16 * mib)
    assert call_in_worker(sum_mapped, str(tmp_path / "big.npy"), limits=limits) == str(8 * mib)
    with pytest.raises(WorkerError, match=r"^failed in its worker process: MemoryError"):
        call_in_worker(allocate, 64 * mib, limits=limits)


def test_a_worker_holds_its_numerical_libraries_to_its_share_of_the_cores_unless_the_user_chose(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert call_in_worker(thread_settings, limits=Limits(timeout=30), threads=1) == "1 1"
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert call_in_worker(thread_settings, limits=Limits(timeout=30), threads=1).split()[0] == "3"


def test_a_workers_prints_go_to_stderr_not_to_the_parents_stdout(capfd):
    server = WorkerServer()
    try:
        assert call_in_worker(print_and_return, limits=Limits(timeout=30), server=server) == "returned"
    finally:
        server.close()
    out, err = capfd.readouterr()
    assert "printed by a detector" in err and "printed by a detector" not in out


def test_a_worker_ends_with_its_server():
    server = WorkerServer()
    workers = []
    try:
        with pytest.raises(WorkerError, match=r"^lost its worker process: the worker server ended$"):
            call_in_worker(time.sleep, 60, limits=Limits(timeout=30), server=server,
                           on_start=lambda w: (workers.append(w.pid), os.kill(server.pid, signal.SIGKILL)))
    finally:
        server.close()
    assert gone(workers[0])


def test_no_worker_outlives_a_parent_killed_without_warning(tmp_path):
    """SIGKILL gives the parent no chance to clean up: the server sees its socket close and ends,
    and the kernel kills its workers (PR_SET_PDEATHSIG)."""
    pid_file = tmp_path / "worker.pid"
    script = textwrap.dedent(f"""\
        from pathlib import Path
        from riskframe.engine.limits import Limits
        from riskframe.engine.workers import call_in_worker, shared_server
        import time
        def started(worker):
            Path({str(pid_file)!r}).write_text(f"{{worker.pid}} {{shared_server().pid}}")
        call_in_worker(time.sleep, 60, limits=Limits(timeout=60), on_start=started)
        """)
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        worker, server = map(int, wait_for_file(pid_file).split())
        parent.kill()
        parent.wait(timeout=10)
    finally:
        parent.kill()
    assert gone(server) and gone(worker)
