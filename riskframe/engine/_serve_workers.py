"""The worker server: one process that imports riskframe and the detectors' libraries once, then
forks a fresh worker process for every detector run.

It runs on its own (:class:`riskframe.engine.workers.WorkerServer` starts it with ``python -c``)
and imports only the standard library until asked to preload, so it starts fast. Forking a
preloaded process costs milliseconds where a new interpreter importing scikit-learn costs seconds,
and every run still gets a process of its own: what a detector does to its process (``os.chdir``,
environment variables, threads it leaves behind, a patched module) ends with it.

Why not :mod:`multiprocessing`'s forkserver: it re-runs the parent's ``__main__`` script in every
worker (a script without a main guard would assess again), its preload list is fixed once it has
started (riskframe learns each assessment's detector modules as it plans), and a riskframe worker
must be set up before any detector code is loaded: its own process group, killed with its server,
no core dumps.

Protocol. Parent to server, on the Unix socket: ``I`` + JSON ``{"path": [...], "modules": [[name,
file], ...]}`` (import these, and call ``function`` once for a ``module:function`` name; a failed
import is left for the run that needs it to report), or
``S`` with three file descriptors attached (a job pipe to read, an answer pipe to write, a status
pipe to write): fork a worker. Server to parent, on the status pipe: the worker's pid when it
starts, its exit code (negative: the signal that ended it) when it ends. A worker reads its setup
and its call from the job pipe, writes one answer (:data:`RESULT` and the call's text, or
:data:`ERROR` and what went wrong, worded to follow a detector's name) on the answer pipe, and
ends with ``os._exit`` (threads a detector left behind cannot keep it alive). The server ends when
the parent closes the socket; on Linux its workers are killed with it (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import pickle
import resource
import selectors
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

MESSAGE = struct.Struct("!cI")  # kind, payload length
STATUS = struct.Struct("!i")  # a pid, then an exit code
ANSWER = struct.Struct("!cQ")  # kind, text length
IMPORT, SPAWN = b"I", b"S"
RESULT, ERROR = b"R", b"E"
_PR_SET_PDEATHSIG = 1
_EX_SOFTWARE = 70  # the worker's own setup failed
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def serve(fd: int) -> None:
    """Serve the parent on the connected Unix socket ``fd`` until it closes it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    gc.disable()  # see _import: collections here would leave holes in pages the workers share
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, not SIG_IGN: SIGCHLD must wake the loop
    _Server(socket.socket(fileno=fd), wake_r, wake_w, _prctl()).loop()


class _Server:
    def __init__(self, control: socket.socket, wake_r: int, wake_w: int, prctl: Callable[..., int] | None) -> None:
        self.control, self.wake_r, self.wake_w, self.prctl = control, wake_r, wake_w, prctl
        self.status: dict[int, int] = {}  # worker pid -> its status pipe

    def loop(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.control, selectors.EVENT_READ)
        selector.register(self.wake_r, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select():
                if key.fileobj is self.control:
                    if not self.handle():
                        return
                else:
                    while _read_some(self.wake_r):
                        pass
                    self.reap()

    def handle(self) -> bool:
        try:
            kind, payload, fds = _receive(self.control)
        except EOFError:  # the parent has gone: so do we, and (Linux) our workers with us
            return False
        if kind == SPAWN and len(fds) == 3:
            self.spawn(*fds)
            return True
        for fd in fds:
            os.close(fd)
        if kind == IMPORT:
            _import(json.loads(payload))
        return True

    def spawn(self, job_r: int, answer_w: int, status_w: int) -> None:
        server = os.getpid()
        pid = os.fork()
        if pid == 0:
            code = _EX_SOFTWARE
            try:
                for fd in (self.control.fileno(), self.wake_r, self.wake_w, status_w, *self.status.values()):
                    os.close(fd)
                code = _work(job_r, answer_w, server, self.prctl)
            finally:
                os._exit(code)
        os.close(job_r)
        os.close(answer_w)
        with contextlib.suppress(OSError):  # the parent stopped waiting for this worker; it is reaped all the same
            os.write(status_w, STATUS.pack(pid))
        self.status[pid] = status_w

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            fd = self.status.pop(pid, None)
            if fd is None:
                continue
            with contextlib.suppress(OSError):
                os.write(fd, STATUS.pack(os.waitstatus_to_exitcode(status)))
            os.close(fd)


def _work(job_r: int, answer_w: int, server: int, prctl: Callable[..., int] | None) -> int:
    """The worker: set itself apart, load the call, run it, answer. Returns the exit code."""
    os.setpgid(0, 0)  # its own process group: stopping it stops whatever it started too
    gc.enable()
    _die_with(server, prctl)
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.dup2(2, 1)  # a detector's prints go to stderr: stdout carries riskframe's own output
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file of a crashed worker's heap in the user's folder
    with os.fdopen(job_r, "rb") as source:
        setup = pickle.load(source)  # the parent's own bytes, never a file's
        sys.path[:] = setup["path"]
        os.chdir(setup["cwd"])
        os.environ.clear()
        os.environ.update(setup["env"])
        try:
            fn, args, kwargs = pickle.load(source)
        except BaseException as exc:  # a module the worker cannot import, a class that moved
            return _answer(answer_w, ERROR, f"could not be loaded in its worker process: {_described(exc)}")
    if setup["memory"] is not None:
        from riskframe.engine.limits import limit_memory

        limit_memory(setup["memory"])
    if setup["threads"] is not None:
        _limit_threads(setup["threads"])
    return _call(fn, args, kwargs, answer_w)


def _limit_threads(threads: int) -> None:
    """Hold the numerical libraries to this worker's share of the cores: two workers each running
    a thread per core spin against each other (OpenMP waits busily) and both run slower."""
    for name in _THREAD_VARIABLES:  # for libraries loaded from now on, and processes the run starts
        os.environ[name] = str(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; without it, the loaded libraries keep their threads
        return
    threadpool_limits(limits=threads)  # BLAS and OpenMP of every library loaded (torch's libgomp too)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def _call(fn: Callable[..., Any], args: Any, kwargs: Any, answer_w: int) -> int:
    try:
        result = fn(*args, **kwargs)
    except MemoryError as exc:
        from riskframe.engine.limits import lift_to_headroom, memory_limited

        if memory_limited():
            lift_to_headroom()
        return _answer(answer_w, ERROR, f"failed in its worker process: {_described(exc)}")
    except BaseException as exc:  # everything, SystemExit included, is the parent's to hear about
        trace = "".join(traceback.format_exception(exc)[-6:])
        return _answer(answer_w, ERROR, f"failed in its worker process: {_described(exc)}\n{trace}")
    if isinstance(result, str):
        result = result.encode()
    if not isinstance(result, bytes):
        return _answer(answer_w, ERROR, f"failed in its worker process: returned {type(result).__name__}; a worker "
                                        "answers with text only")
    return _answer(answer_w, RESULT, result)


def _answer(answer_w: int, kind: bytes, text: str | bytes) -> int:
    data = text.encode() if isinstance(text, str) else text
    with contextlib.suppress(OSError):  # the parent stopped listening (it was interrupted): nothing left to do
        _write_all(answer_w, ANSWER.pack(kind, len(data)) + data)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    return 0


def _die_with(server: int, prctl: Callable[..., int] | None) -> None:
    """End this worker when its server ends (and the server ends with the parent)."""
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    elif sys.platform != "win32":  # no prctl: watch for the server's end instead (a GIL-holding run delays it)
        threading.Thread(target=_watch_parent, args=(server,), daemon=True, name="riskframe-orphan-watch").start()
    if os.getppid() != server:  # the server ended before the line above took effect
        os._exit(_EX_SOFTWARE)


def _watch_parent(server: int) -> None:
    while os.getppid() == server:
        time.sleep(1.0)
    os._exit(_EX_SOFTWARE)


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _import(request: dict[str, Any], called: set[str] = set()) -> None:  # noqa: B006 - once per process
    sys.path[:] = request["path"]
    for entry, file in request["modules"]:
        name, _, function = entry.partition(":")
        loaded = sys.modules.get(name)
        if loaded is not None and file is not None and getattr(loaded, "__file__", None) != file:
            del sys.modules[name]  # another module of that name (a plugin in another folder): load the parent's
            called.discard(entry)
        try:
            module = importlib.import_module(name)
            if function and entry not in called:
                getattr(module, function)()  # warm what a first use builds, once for every worker
                called.add(entry)
        except BaseException:  # the run that needs the module imports it again, and reports why it fails
            pass
    # What the server holds is every worker's too, shared until written. A collection in a worker
    # writes to every object it visits, copying each page it touches: frozen objects are not visited
    # (the recipe of the gc.freeze documentation).
    gc.freeze()


def _receive(sock: socket.socket) -> tuple[bytes, bytes, list[int]]:
    head, fds, _, _ = socket.recv_fds(sock, MESSAGE.size, 3)
    if not head:
        raise EOFError
    head += _exactly(sock, MESSAGE.size - len(head))
    kind, size = MESSAGE.unpack(head)
    return kind, _exactly(sock, size), list(fds)


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _read_some(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except BlockingIOError:
        return b""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _described(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
