"""The ``dask`` executor: detector runs as tasks on a :mod:`dask.distributed` cluster, each still in a
worker process of its own under its control's limits.

Dask schedules, places and retries the runs; riskframe's isolation stays inside each task: the task
calls :func:`~riskframe.engine.workers.call_in_worker` in its Dask worker, which forks the run from
that Dask worker's own worker server, kills it past its timeout and limits its memory, exactly as the
``process`` executor does on one machine. What a task sends back is the run's JSON text (or why it
was stopped), never an object of the detector's.

What travels: the client submits the :class:`~riskframe.engine.job.Job` (detector class by
reference, parameters, stage, artifact declarations, limits, and where the staged arrays are) and
gets text back. The arrays themselves are written once by the client into :attr:`staging_dir`, which
every Dask worker must read at the same path (shared storage); workers memory-map them. With a
``LocalCluster`` (no scheduler address) the workers are on this machine and a private temporary
folder serves.

A Dask worker that dies while it runs a task (killed, out of memory, its machine gone) takes the
run's process with it (the worker server ends with its Dask worker, and the run with its server); the
scheduler runs the task again on another worker, up to its ``allowed-failures`` setting, and then the
run is an ``error`` result that says so: the gate fails closed.

>>> with DaskExecutor(n_workers=2) as executor:  # doctest: +SKIP
...     riskframe.assess("pipeline.yaml", ["policies/data-poisoning.yaml"], executor=executor)
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, InvalidStateError
from pathlib import Path
from typing import Any, Literal

from riskframe.engine.executors import RunExecutor, cpu_count
from riskframe.engine.limits import NO_LIMITS, Limits
from riskframe.engine.workers import Worker, call_in_worker, shared_server
from riskframe.errors import MissingDependencyError, UsageError, WorkerError

# How long connecting to a scheduler may take before the address is reported unreachable.
CONNECT_TIMEOUT = 30.0
# What every worker imports before the first run (as the process executor's server does).
_ALWAYS_PRELOADED = ("riskframe.engine.job", "threadpoolctl")

Answer = tuple[Literal["result", "stopped"], str, dict[str, Any]]


class DaskExecutor(RunExecutor):
    """Runs on the Dask cluster at ``scheduler`` (``tcp://host:8786``), or on a ``LocalCluster`` of
    ``n_workers`` worker processes on this machine (one thread each, loopback only) that it starts
    and closes.

    Parameters
    ----------
    scheduler
        Address of a running ``dask.distributed`` scheduler; ``None``: start a ``LocalCluster``.
    n_workers
        The ``LocalCluster``'s worker processes (default: one per core).
    staging_dir
        A folder every worker reads at the same path, where the client writes the staged arrays;
        required with ``scheduler``.
    max_workers
        Runs in flight at once (default: the cluster's threads when it starts, at least one).
    cluster_options
        Further keyword arguments for the ``LocalCluster``.
    """

    in_process = False
    enforces_limits = True

    def __init__(self, scheduler: str | None = None, *, n_workers: int | None = None,
                 staging_dir: Path | None = None, max_workers: int | None = None,
                 cluster_options: dict[str, Any] | None = None) -> None:
        distributed = _distributed()
        self._cluster: Any = None
        if scheduler is None:
            options = dict(cluster_options or {})
            # No dashboard; the scheduler's health endpoint on a free loopback port, not on 8787.
            scheduler_options = {"dashboard_address": "127.0.0.1:0", **options.pop("scheduler_kwargs", {})}
            self._cluster = distributed.LocalCluster(
                n_workers=n_workers or cpu_count(), threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.ERROR, scheduler_kwargs=scheduler_options, **options)
            try:
                self._client = distributed.Client(self._cluster)
            except BaseException:
                self._cluster.close()  # no worker process outlives a failed start
                raise
        else:
            if staging_dir is None:
                raise UsageError("--dask-scheduler needs --staging-dir: a folder every Dask worker reads at the "
                                 "same path (shared storage), where riskframe writes the arrays the runs read")
            try:
                self._client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError, ValueError) as exc:
                raise UsageError(f"--dask-scheduler {scheduler}: could not connect ({exc})") from None
        self.staging_dir = staging_dir
        self.max_workers = max_workers or max(1, self._threads())
        self._lock = threading.Lock()
        self._tasks: dict[Any, Future[Any]] = {}  # Dask future -> the future handed to the caller
        self._closed = False

    @property
    def client(self) -> Any:
        """The :class:`distributed.Client` the runs go through."""
        return self._client

    def preload(self, modules: Iterable[str]) -> None:
        """Have every worker's worker server import ``modules`` before the runs start (a worker
        that joins later imports what a run needs when it runs)."""
        # A worker gone meanwhile: its runs go elsewhere, and import what they need.
        with contextlib.suppress(Exception):
            self._client.run(_preload, [*_ALWAYS_PRELOADED, *modules])

    def default_memory(self) -> int | None:
        """A worker's ``memory_limit`` shared by its threads, on the smallest worker (``None``
        when the workers have no limit)."""
        shares = [w["memory_limit"] // max(1, w["nthreads"]) for w in self._workers() if w.get("memory_limit")]
        return min(shares) if shares else None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        key = f"riskframe-run-{uuid.uuid4().hex}"
        limits = getattr(fn, "limits", NO_LIMITS)
        future: Future[Any] = Future()
        future.set_running_or_notify_cancel()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit to a DaskExecutor after shutdown")
            task = self._client.submit(run_in_worker, key, fn, args, kwargs, limits, key=key, pure=False)
            self._tasks[task] = future
        task.add_done_callback(lambda done: self._settle(future, done))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Close the client (and the ``LocalCluster``, whose worker processes end with their runs);
        with ``cancel_futures``, runs still going on a remote cluster are killed first."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            tasks = list(self._tasks)
            handed = list(self._tasks.values())
        try:
            if cancel_futures and tasks:
                self._client.cancel(tasks, force=True)
                self._client.run(kill_runs, [task.key for task in tasks])
            elif wait and tasks:
                _distributed().wait(tasks)
        except Exception:  # the cluster is going or gone: closing below is all there is left to do
            pass
        finally:
            self._client.close()
            if self._cluster is not None:
                self._cluster.close()
        for future in handed:  # a task the closed client will never report on
            with contextlib.suppress(InvalidStateError):  # settled meanwhile
                future.set_exception(WorkerError("was cancelled on the Dask cluster before it finished"))

    def __exit__(self, exc_type: Any, *rest: Any) -> Literal[False]:
        self.shutdown(wait=True, cancel_futures=exc_type is not None)
        return False

    def _settle(self, future: Future[Any], task: Any) -> None:
        with self._lock:
            self._tasks.pop(task, None)
        try:
            if task.status == "cancelled":
                raise WorkerError("was cancelled on the Dask cluster before it finished")
            if task.status != "finished":
                raise _lost(task.exception())
            kind, text, evidence = task.result()
            if kind != "result":
                raise WorkerError(text, **evidence)
            with contextlib.suppress(InvalidStateError):  # settled at shutdown already
                future.set_result(text)
        except BaseException as exc:  # handed to the caller through the future
            with contextlib.suppress(InvalidStateError):
                future.set_exception(exc)

    def _workers(self) -> list[dict[str, Any]]:
        try:
            info = self._client.scheduler_info(n_workers=-1)  # every worker (some releases list five by default)
        except TypeError:  # a release before the argument: it lists them all
            info = self._client.scheduler_info()
        return list(info.get("workers", {}).values())

    def _threads(self) -> int:
        return sum(int(w.get("nthreads", 1)) for w in self._workers())


def run_in_worker(key: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                  limits: Limits) -> Answer:
    """The Dask task: ``fn`` in a fresh process forked from this Dask worker's worker server, under
    ``limits``. Dask's worker environment (``OMP_NUM_THREADS=1``, ...) sets the run's threads."""

    def started(worker: Worker) -> None:
        with _running_lock:
            _running[key] = worker

    try:
        return "result", call_in_worker(fn, *args, limits=limits, on_start=started, **kwargs), {}
    except WorkerError as exc:
        return "stopped", str(exc), {k: v for k, v in exc.evidence.items() if k != "error"}
    finally:
        with _running_lock:
            _running.pop(key, None)


def kill_runs(keys: list[str]) -> int:
    """Kill the runs of these tasks in this Dask worker (run on every worker by ``client.run``: a
    cancelled Dask task is not stopped by Dask). Returns how many were running here."""
    with _running_lock:
        workers = [_running[key] for key in keys if key in _running]
    for worker in workers:
        worker.kill()
    return len(workers)


_running: dict[str, Worker] = {}
_running_lock = threading.Lock()


def _preload(modules: list[str]) -> None:
    server = shared_server()
    server.start()
    server.preload(modules)


def _lost(exc: BaseException | None) -> BaseException:
    """What stopped a task that did not finish: a lost worker in the words of a run's ending."""
    if exc is not None and type(exc).__name__ == "KilledWorker":
        retries = getattr(exc, "allowed_failures", None)
        times = "repeatedly" if not isinstance(retries, int) else "once" if retries == 0 else f"{retries + 1} times"
        return WorkerError(f"lost its Dask worker {times} (the worker process died while running it: killed, out "
                           "of memory, or its machine gone) and was not tried again",
                           dask="KilledWorker", last_worker=_address(getattr(exc, "last_worker", "")))
    return exc if exc is not None else WorkerError("ended on the Dask cluster without a result")


def _address(worker: Any) -> str:
    return str(getattr(worker, "address", worker))


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise MissingDependencyError("dask.distributed", "dask") from None
    return distributed
