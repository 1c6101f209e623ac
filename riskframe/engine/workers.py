"""Run a call in a fresh worker process under hard limits, and learn how it ended.

The workers come from one worker server per riskframe process (:func:`shared_server`, see
:mod:`riskframe.engine._serve_workers`), started on first use and preloaded with each assessment's
detector modules. :func:`call_in_worker` is the whole contract: it returns the text the call
returned, or raises :class:`~riskframe.errors.WorkerError` saying what stopped it (its timeout,
an exit, a signal). Nothing a worker sends is unpickled here: its answer is text.

>>> call_in_worker(platform.python_version, limits=Limits(timeout=10))  # doctest: +SKIP
'3.11.7'
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pickle
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from riskframe.engine._serve_workers import ANSWER, ERROR, IMPORT, MESSAGE, RESULT, SPAWN, STATUS
from riskframe.engine.limits import NO_LIMITS, Limits
from riskframe.errors import WorkerError

# How long the server may take to fork a worker: longer than any first import of heavy libraries.
START_TIMEOUT = 300.0
# How long a killed worker may take to be reported gone.
KILL_GRACE = 10.0
# The parent's sys.path arrives on stdin (it can be long; a command line shows in every `ps`).
_BOOTSTRAP = ("import json, sys; sys.path[:] = json.load(sys.stdin); "
              "from riskframe.engine._serve_workers import serve; serve(int(sys.argv[1]))")


class WorkerServer:
    """The parent's end of a worker server process; thread-safe. Started on first use, and again
    if it has ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: socket.socket | None = None

    @property
    def pid(self) -> int | None:
        """The server process's pid, while it runs."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def start(self) -> None:
        """Start the server now (it imports in the background while the caller goes on)."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()

    def preload(self, modules: Iterable[str]) -> None:
        """Have the server import ``modules`` (the parent's copy of each, when it has one; a
        ``module:function`` entry also calls the function, once) before it forks the next workers."""
        listed = [[entry, getattr(sys.modules.get(entry.partition(":")[0]), "__file__", None)]
                  for entry in dict.fromkeys(modules)]
        request = json.dumps({"path": _absolute_path(), "modules": listed}).encode()
        with self._lock:
            self._send(IMPORT, request, [])

    def spawn(self) -> Worker:
        """Fork a new worker; its pid arrives on :meth:`Worker.started`."""
        job_r, job_w = os.pipe()
        answer_r, answer_w = os.pipe()
        status_r, status_w = os.pipe()
        try:
            with self._lock:
                self._send(SPAWN, b"", [job_r, answer_w, status_w])
        except BaseException:
            for fd in (job_w, answer_r, status_r):
                os.close(fd)
            raise
        finally:
            for fd in (job_r, answer_w, status_w):
                os.close(fd)
        return Worker(job_w, answer_r, status_r)

    def close(self) -> None:
        """End the server (its workers end with it on Linux)."""
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None
            if self._process is not None:
                try:
                    self._process.wait(timeout=KILL_GRACE)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
                self._process = None

    def _send(self, kind: bytes, payload: bytes, fds: list[int]) -> None:
        for attempt in (1, 2):  # a server that has ended is started again once
            if self._socket is None or self._process is None or self._process.poll() is not None:
                self._start()
            assert self._socket is not None
            try:
                socket.send_fds(self._socket, [MESSAGE.pack(kind, len(payload))], fds)
                self._socket.sendall(payload)
                return
            except OSError:
                self._socket.close()
                self._socket = None
                if attempt == 2:
                    raise WorkerError("could not reach the worker server process") from None

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._process = subprocess.Popen([sys.executable, "-c", _BOOTSTRAP, str(theirs.fileno())],
                                             pass_fds=(theirs.fileno(),), stdin=subprocess.PIPE)
        finally:
            theirs.close()
        assert self._process.stdin is not None
        with self._process.stdin as path:  # closed: workers find an empty stdin, never the terminal
            path.write(json.dumps(_absolute_path()).encode())
        self._socket = ours


class Worker:
    """One worker process, from the parent's side."""

    def __init__(self, job_w: int, answer_r: int, status_r: int) -> None:
        self.pid: int | None = None
        self._job_w, self._answer_r, self._status_r = job_w, answer_r, status_r
        self._lock = threading.Lock()
        self._ended = False  # the server has reported the exit: the pid may belong to someone else now
        self._closed = False

    def started(self, timeout: float = START_TIMEOUT) -> int:
        """Wait for the server to report the worker's pid."""
        data = _read_exactly(self._status_r, STATUS.size, time.monotonic() + timeout)
        if len(data) < STATUS.size:
            raise WorkerError("could not start: the worker server did not fork a worker process")
        self.pid = STATUS.unpack(data)[0]
        return self.pid

    def run(self, payload: bytes, deadline: float) -> tuple[bytes, int | None]:
        """Send ``payload``, then collect the answer until the worker ends or ``deadline`` passes.
        Returns the answer bytes and the exit code (``None``: still running at the deadline).
        Raises :class:`WorkerError` when the server ends first (it can no longer report the exit)."""
        pending = memoryview(payload)
        answer = bytearray()
        os.set_blocking(self._job_w, False)
        with selectors.DefaultSelector() as selector:
            selector.register(self._job_w, selectors.EVENT_WRITE)
            selector.register(self._answer_r, selectors.EVENT_READ)
            selector.register(self._status_r, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return bytes(answer), None
                for key, _ in selector.select(None if remaining == float("inf") else remaining):
                    if key.fd == self._job_w:
                        pending = self._feed(pending, selector)
                    elif key.fd == self._answer_r:
                        chunk = os.read(self._answer_r, 1 << 20)
                        answer += chunk
                        if not chunk:
                            selector.unregister(self._answer_r)
                    else:  # readable: the exit code is there (or the server's end), whatever the deadline
                        code = self._exit_code(time.monotonic() + KILL_GRACE)
                        if code is None:
                            raise WorkerError("lost its worker process: the worker server ended")
                        answer += _drain(self._answer_r)
                        return bytes(answer), code

    def kill(self) -> None:
        """Kill the worker and everything it started (its process group)."""
        with self._lock:
            if self.pid is None or self._ended or self._closed:
                return
            for kill in (os.killpg, os.kill):  # the group may not exist yet
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    kill(self.pid, signal.SIGKILL)

    def wait_ended(self, timeout: float = KILL_GRACE) -> int | None:
        """The exit code once the server reports the worker gone (``None``: not within ``timeout``)."""
        return self._exit_code(time.monotonic() + timeout)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                for fd in (self._job_w, self._answer_r, self._status_r):
                    if fd >= 0:
                        os.close(fd)

    def _feed(self, pending: memoryview, selector: selectors.BaseSelector) -> memoryview:
        try:
            pending = pending[os.write(self._job_w, pending):]
        except BlockingIOError:
            return pending
        except BrokenPipeError:  # the worker ended before reading its call: the status says how
            pending = pending[len(pending):]
        if not pending:
            selector.unregister(self._job_w)
            os.close(self._job_w)
            self._job_w = -1  # closed: its number may be reused by the next open file
        return pending

    def _exit_code(self, deadline: float) -> int | None:
        data = _read_exactly(self._status_r, STATUS.size, deadline)
        if len(data) < STATUS.size:
            return None
        with self._lock:
            self._ended = True
        return int(STATUS.unpack(data)[0])


def call_in_worker(fn: Callable[..., Any], *args: Any, limits: Limits = NO_LIMITS, threads: int | None = None,
                   server: WorkerServer | None = None, on_start: Callable[[Worker], None] | None = None,
                   **kwargs: Any) -> str:
    """Run ``fn(*args, **kwargs)`` in a fresh worker process under ``limits`` and return the text
    it returned.

    ``fn`` and its arguments are pickled to the worker (by reference: module-level functions and
    classes); ``fn`` must return ``str``. The timeout counts from the worker's start; past it the
    worker and everything it started are killed. ``threads`` caps the threads of the numerical
    libraries (BLAS, OpenMP, torch) unless the caller's environment sets ``OMP_NUM_THREADS``.
    ``on_start`` is told of the worker as it starts (an executor keeps it, to kill it on shutdown).

    Raises
    ------
    WorkerError
        The call could not be sent or loaded, raised, passed its timeout, or its worker ended
        (an exit, a signal) before answering.
    """
    payload = _payload(fn, args, kwargs, limits, threads)
    worker = (server or shared_server()).spawn()
    try:
        worker.started()
        if on_start is not None:
            on_start(worker)
        started = time.monotonic()
        deadline = started + limits.timeout if limits.timeout is not None else float("inf")
        answer, code = worker.run(payload, deadline)
        if code is None:
            worker.kill()
            worker.wait_ended()
            raise WorkerError(f"did not finish within its timeout of {limits.timeout:g} s and was stopped "
                              "(its worker process killed)", limit="timeout", timeout_s=limits.timeout)
        return _answer_of(answer, code)
    except BaseException:
        worker.kill()  # Ctrl-C in the caller's thread: the worker must not outlive the call
        raise
    finally:
        worker.close()


_shared: WorkerServer | None = None
_shared_lock = threading.Lock()


def shared_server() -> WorkerServer:
    """This process's worker server (one per process: its preloads serve every assessment)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = WorkerServer()
            atexit.register(_shared.close)  # it would end on its own; this waits for it, and its workers' exits
        return _shared


def _payload(fn: Callable[..., Any], args: Any, kwargs: Any, limits: Limits, threads: int | None) -> bytes:
    if "OMP_NUM_THREADS" in os.environ:  # the user's own choice stands
        threads = None
    setup = {"path": _absolute_path(), "cwd": os.getcwd(), "env": dict(os.environ), "memory": limits.memory,
             "threads": threads}
    try:
        return pickle.dumps(setup) + pickle.dumps((fn, args, kwargs))
    except Exception as exc:  # a class defined inside a function, in __main__ of a notebook, ...
        raise WorkerError(f"could not be sent to a worker process ({type(exc).__name__}: {exc}); define it at "
                          "the top level of an importable module, or run it with the local executor") from None


def _answer_of(answer: bytes, code: int) -> str:
    if len(answer) >= ANSWER.size:
        kind, size = ANSWER.unpack(answer[:ANSWER.size])
        text = answer[ANSWER.size:ANSWER.size + size]
        if len(text) == size and kind == RESULT:
            return text.decode()
        if len(text) == size and kind == ERROR:
            raise WorkerError(text.decode(errors="replace"))
    raise WorkerError(f"ended its worker process {_ending(code)} without returning a result",
                      **_ending_evidence(code))


def _ending(code: int) -> str:
    if code >= 0:
        return f"with exit code {code}"
    name = _signal_name(-code)
    why = " (sent by the system's out-of-memory killer, or by another process)" if -code == signal.SIGKILL else ""
    return f"with signal {-code} ({name}){why}"


def _ending_evidence(code: int) -> dict[str, Any]:
    return {"exit_code": code} if code >= 0 else {"signal": _signal_name(-code)}


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _absolute_path() -> list[str]:
    return [os.path.abspath(p) if p else os.getcwd() for p in sys.path]


def _read_exactly(fd: int, size: int, deadline: float) -> bytes:
    data = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while len(data) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(None if remaining == float("inf") else remaining):
                break
            chunk = os.read(fd, size - len(data))
            if not chunk:
                break
            data += chunk
    return data


def _drain(fd: int) -> bytes:
    os.set_blocking(fd, False)
    data = bytearray()
    while True:
        try:
            chunk = os.read(fd, 1 << 20)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        data += chunk
    return bytes(data)
