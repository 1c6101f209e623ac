"""Run the plan. Running never stops: a detector that raises, or overstays its control's timeout,
becomes an ``error`` result and the rest of the assessment completes.

Runs go through a :class:`concurrent.futures.Executor`, so a distributed executor can replace the
default one. The default starts a daemon thread per run: a run past its timeout cannot be
interrupted inside the process, so it is abandoned rather than awaited, and a daemon thread cannot
hold the process open at exit (``ThreadPoolExecutor``'s workers would).
"""

from __future__ import annotations

import importlib
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from typing import Any

from riskframe.engine.context import ArtifactStore, RunContext
from riskframe.engine.plan import PlannedRun
from riskframe.errors import MissingDependencyError, NotApplicableError
from riskframe.results import Attachment, DetectorResult

Progress = Callable[[int, int, "Outcome"], None]


@dataclass(frozen=True)
class Outcome:
    """What one run produced, before scoring."""

    run: PlannedRun
    status: str
    score: float
    summary: str
    metrics: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)
    duration_s: float = 0.0


class DaemonThreadExecutor(Executor):
    """One daemon thread per submitted call; concurrency is bounded by the caller."""

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


def execute(run: PlannedRun, store: ArtifactStore, seed: int = 0) -> Outcome:
    """Run one detector; every exception becomes an outcome. Only ``KeyboardInterrupt`` (the user
    stopping riskframe) propagates: a ``SystemExit`` from a detector or from user training code
    (argparse, click) must not end the assessment with exit 0 and no reports."""
    started = time.perf_counter()
    ctx = RunContext(stage=run.stage, bindings=run.bindings, store=store, seed=seed)
    try:
        result = run.detector().run(ctx, run.params)
        if not isinstance(result, DetectorResult):
            raise TypeError(f"run() returned {type(result).__name__}, not a DetectorResult")
    except NotApplicableError as exc:
        return Outcome(run, "not_applicable", 0.0, str(exc), duration_s=_since(started))
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # fail closed: a crashed detector is an error result, not a crash
        return _error(run, exc, _since(started))
    return Outcome(run, result.status, result.score, result.summary, dict(result.metrics),
                   dict(result.evidence), list(result.attachments), _since(started))


def run_plan(runs: Sequence[PlannedRun], store: ArtifactStore, *, jobs: int = 1, seed: int = 0,
             executor: Executor | None = None, progress: Progress | None = None) -> list[Outcome]:
    """Execute ``runs`` with at most ``jobs`` in flight; outcomes come back in plan order."""
    executor = executor or DaemonThreadExecutor()
    if jobs > 1:
        _import_ahead(runs)
    pending = list(reversed(runs))
    inflight: dict[Future[Outcome], tuple[PlannedRun, float]] = {}
    outcomes: dict[int, Outcome] = {}  # by the run object itself: one outcome per run, whatever its id

    def finish(outcome: Outcome) -> None:
        outcomes[id(outcome.run)] = outcome
        if progress:
            progress(len(outcomes), len(runs), outcome)

    while pending or inflight:
        while pending and len(inflight) < max(1, jobs):
            run = pending.pop()
            inflight[executor.submit(execute, run, store, seed)] = (run, time.monotonic() + run.control.timeout)
        next_deadline = min(deadline for _, deadline in inflight.values())
        done, _ = wait(inflight, timeout=max(0.0, next_deadline - time.monotonic()), return_when=FIRST_COMPLETED)
        for future in done:
            run, _ = inflight.pop(future)
            finish(_result_of(future, run))
        now = time.monotonic()
        for future, (run, deadline) in list(inflight.items()):
            if deadline <= now:
                del inflight[future]
                future.cancel()
                finish(_timed_out(run))
    return [outcomes[id(run)] for run in runs]


def _import_ahead(runs: Sequence[PlannedRun]) -> None:
    """Import the detectors' heavy modules here, in one thread, before runs start side by side."""
    for module in dict.fromkeys(m for run in runs for m in run.detector.imports):
        try:
            importlib.import_module(module)
        except ImportError:  # a missing extra: the run itself says which one to install
            continue


def _result_of(future: Future[Outcome], run: PlannedRun) -> Outcome:
    try:
        return future.result()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # an executor that fails to run the call at all
        return _error(run, exc, 0.0)


def _error(run: PlannedRun, exc: BaseException, duration: float) -> Outcome:
    kind = type(exc).__name__
    if isinstance(exc, MissingDependencyError):
        summary = f"Could not run: {exc}"
    else:
        summary = f"Detector {run.detector.name!r} raised {kind}: {exc}. Counted as a failure (fail closed)."
    trace = traceback.format_exception(type(exc), exc, exc.__traceback__)
    evidence = {"error": f"{kind}: {exc}", "traceback": "".join(trace[-6:])}
    return Outcome(run, "error", 0.0, summary, evidence=evidence, duration_s=duration)


def _timed_out(run: PlannedRun) -> Outcome:
    limit = run.control.timeout
    summary = (f"Detector {run.detector.name!r} did not finish within the control's timeout of {limit:g} s "
               "and was abandoned. Counted as a failure (fail closed).")
    return Outcome(run, "error", 0.0, summary, evidence={"error": f"timed out after {limit:g} s"},
                   duration_s=limit)


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)
