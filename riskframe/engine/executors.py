"""Where detector runs execute. Every executor is a :class:`concurrent.futures.Executor`: the engine
submits :class:`~riskframe.engine.job.Job` objects (callables that return JSON text) and reads
the text from the futures.

``process`` (the default of ``riskframe assess``): each run in a fresh worker process, at most
``max_workers`` at once (default: every core), killed past its control's ``timeout``, its data
segment limited to its control's ``memory``; a worker that dies (``os._exit``, a signal, a crash in
native code) is an ``error`` result that says how. ``local``: runs in this process, one daemon
thread each, for tests and debugging; a run past its timeout is abandoned, nothing else is
contained. Any other :class:`~concurrent.futures.Executor` works too (jobs are picklable; their
data is staged on this machine).

``dask`` (:class:`~riskframe.engine.dask_executor.DaskExecutor`): each run a task on a
``dask.distributed`` cluster, where it runs ``call_in_worker(job, limits=job.limits)``
(:mod:`riskframe.engine.workers`) so the limits hold there too; ``staging_dir`` is storage every
worker reads, and ``preload`` goes to every worker.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from riskframe.engine.limits import NO_LIMITS, default_memory
from riskframe.engine.workers import Worker, WorkerServer, call_in_worker, shared_server
from riskframe.errors import UsageError

ExecutorName = Literal["process", "local", "dask"]
EXECUTORS: tuple[str, ...] = ExecutorName.__args__  # type: ignore[attr-defined]


class RunExecutor(Executor):
    """What the engine needs to know of an executor besides ``submit``."""

    #: Calls run in this process, so the parent's loaded artifacts are handed over as they are.
    in_process: bool = False
    #: The executor stops a call past its ``limits`` itself (the engine need not abandon it).
    enforces_limits: bool = False
    #: Where staged arrays go; ``None``: a private temporary folder on this machine.
    staging_dir: Path | None = None

    def preload(self, modules: Iterable[str]) -> None:
        """Import ``modules`` where the runs happen, before they start side by side. Here by
        default (:func:`import_here`)."""
        import_here(modules)

    def default_memory(self) -> int | None:
        """The memory limit of a run whose control sets none (``None``: not enforced)."""
        return None


class LocalExecutor(RunExecutor):
    """One daemon thread per call, in this process: no isolation, for tests and debugging.

    A run past its timeout cannot be interrupted inside the process, so the engine abandons it
    rather than awaiting it, and a daemon thread cannot hold the process open at exit
    (``ThreadPoolExecutor``'s workers would).
    """

    in_process = True

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()

        def target() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to the caller through the future
                future.set_exception(exc)

        threading.Thread(target=target, daemon=True, name="riskframe-run").start()
        return future


class ProcessExecutor(RunExecutor):
    """Each call in a fresh worker process (:func:`~riskframe.engine.workers.call_in_worker`),
    under the ``limits`` attribute of the callable when it has one, its numerical libraries held to
    its share of the cores (:attr:`threads`).

    ``shutdown(cancel_futures=True)``, and leaving a ``with`` block on an exception, also kill the
    workers that are running: a stopped assessment leaves no process behind.

    >>> with ProcessExecutor(max_workers=2) as executor:  # doctest: +SKIP
    ...     executor.submit(job).result()
    '{"status":"pass",...}'
    """

    in_process = False
    enforces_limits = True

    def __init__(self, max_workers: int | None = None, server: WorkerServer | None = None) -> None:
        self.max_workers = max_workers or cpu_count()
        self._server = server or shared_server()
        self._server.start()  # it imports in the background while the parent loads the inputs
        self._server.preload(["riskframe.engine.job", "threadpoolctl"])
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queue: deque[tuple[Future[str], Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = deque()
        self._running: set[Worker] = set()
        self._active = 0
        self._closed = False

    def preload(self, modules: Iterable[str]) -> None:
        self._server.preload(modules)

    def default_memory(self) -> int | None:
        return default_memory(self.max_workers)

    @property
    def threads(self) -> int:
        """Each worker's share of the cores, for its numerical libraries' threads."""
        return max(1, cpu_count() // self.max_workers)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit to a ProcessExecutor after shutdown")
            self._queue.append((future, fn, args, kwargs))
            self._start_queued()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            if cancel_futures:
                while self._queue:
                    self._queue.popleft()[0].cancel()
                for worker in list(self._running):
                    worker.kill()
        if wait:
            with self._idle:
                self._idle.wait_for(lambda: self._active == 0)

    def __exit__(self, exc_type: Any, *rest: Any) -> Literal[False]:
        self.shutdown(wait=True, cancel_futures=exc_type is not None)
        return False

    def _start_queued(self) -> None:
        while self._queue and self._active < self.max_workers:
            future, fn, args, kwargs = self._queue.popleft()
            if future.set_running_or_notify_cancel():
                self._active += 1
                threading.Thread(target=self._supervise, args=(future, fn, args, kwargs), daemon=True,
                                 name="riskframe-worker").start()

    def _supervise(self, future: Future[str], fn: Callable[..., Any], args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> None:
        workers: list[Worker] = []

        def started(worker: Worker) -> None:
            with self._lock:
                workers.append(worker)
                self._running.add(worker)
                if self._closed and future.cancelled():
                    worker.kill()

        try:
            limits = getattr(fn, "limits", NO_LIMITS)
            future.set_result(call_in_worker(fn, *args, limits=limits, threads=self.threads, server=self._server,
                                             on_start=started, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        finally:
            with self._lock:
                self._running.difference_update(workers)
                self._active -= 1
                self._start_queued()
                self._idle.notify_all()


def import_here(modules: Iterable[str]) -> None:
    """Import ``modules`` in this process, in this thread: first imports of packages with circular
    imports (scikit-learn) are not thread-safe, and a half-initialised module would crash a run.
    An entry ``module:function`` also calls the function, once per process."""
    for entry in dict.fromkeys(modules):
        if entry in _called:
            continue
        name, _, function = entry.partition(":")
        try:
            module = importlib.import_module(name)
            if function:
                getattr(module, function)()
                _called.add(entry)
        except ImportError:  # a missing extra: the run itself says which one to install
            continue


_called: set[str] = set()


def cpu_count() -> int:
    """The cores this process may use (its CPU affinity, where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def make_executor(name: str, jobs: int | None = None) -> RunExecutor:
    """``"process"``, ``"local"`` or ``"dask"`` (a ``LocalCluster`` of ``jobs`` worker processes),
    running at most ``jobs`` detectors at once (default: every core with ``process`` and ``dask``,
    one with ``local``)."""
    if name == "process":
        if not hasattr(os, "fork"):
            raise UsageError("the process executor needs a system with fork (Linux, macOS); use the local executor")
        return ProcessExecutor(max_workers=jobs)
    if name == "local":
        return LocalExecutor()
    if name == "dask":
        from riskframe.engine.dask_executor import DaskExecutor

        return DaskExecutor(n_workers=jobs)
    raise UsageError(f"unknown executor {name!r}; use one of {', '.join(EXECUTORS)}")


@contextmanager
def using_executor(choice: str | Executor, jobs: int | None = None) -> Iterator[Executor]:
    """The executor ``choice`` names (made here, and shut down on leaving: on an exception, its
    running workers are killed), or ``choice`` itself when it is one (left to its owner)."""
    if isinstance(choice, Executor):
        yield choice
        return
    executor = make_executor(choice, jobs)
    try:
        yield executor
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
