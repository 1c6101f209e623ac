"""Run the plan. Running never stops: a detector that raises, overstays its control's timeout,
outgrows its memory limit or ends its worker process becomes an ``error`` result saying so, and
the rest of the assessment completes.

Each run goes to an executor (:mod:`riskframe.engine.executors`) as a
:class:`~riskframe.engine.job.Job` and comes back as JSON text, validated here against
:class:`~riskframe.engine.job.Reply`. With an executor that runs elsewhere (worker processes), the
artifacts' arrays are staged once for all runs (:mod:`riskframe.engine.staging`).
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from riskframe.detectors.context import ArtifactStore
from riskframe.detectors.shared import shared_folder
from riskframe.engine.executors import RunExecutor, import_here, using_executor
from riskframe.engine.job import Job, Reply
from riskframe.engine.limits import Limits
from riskframe.engine.plan import PlannedRun
from riskframe.engine.sharing import run_key
from riskframe.engine.staging import StagedData, stage
from riskframe.errors import WorkerError
from riskframe.results import Attachment

# The longest the main thread sleeps waiting for runs. Ctrl-C raises KeyboardInterrupt only when
# the main thread runs Python again; a SIGINT that the kernel hands to another thread (a worker's
# supervisor) does not wake a wait without a timeout, and riskframe would sit until a run ended.
WAKE_EVERY_S = 0.5

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


def run_plan(runs: Sequence[PlannedRun], store: ArtifactStore, *, jobs: int | None = None, seed: int = 0,
             executor: str | Executor = "process", progress: Progress | None = None) -> list[Outcome]:
    """Execute ``runs`` on ``executor`` (a name, see :func:`~riskframe.engine.executors.make_executor`,
    or an executor) with at most ``jobs`` in flight; outcomes come back in plan order."""
    return run_plans([(runs, store)], jobs=jobs, seed=seed, executor=executor, progress=progress)[0]


def run_plans(plans: Sequence[tuple[Sequence[PlannedRun], ArtifactStore]], *, jobs: int | None = None,
              seed: int = 0, executor: str | Executor = "process",
              progress: Progress | None = None) -> list[list[Outcome]]:
    """Execute several plans' runs (each plan with the store of its pipeline) on one executor, each
    computation once (:func:`~riskframe.engine.sharing.run_key`): a run that another run of any
    plan computes already gets that run's outcome. Outcomes come back per plan, in plan order;
    ``progress`` counts the computations."""
    keys = [[run_key(run, store) for run in runs] for runs, store in plans]
    first: dict[str, tuple[PlannedRun, int]] = {}  # key -> the run that computes it, and its plan
    for i, (runs, _) in enumerate(plans):
        for run, key in zip(runs, keys[i], strict=True):
            first.setdefault(key, (run, i))
    owners = sorted({i for _, i in first.values()})
    with ExitStack() as stack:
        chosen = stack.enter_context(using_executor(executor, jobs))
        in_process = isinstance(chosen, RunExecutor) and chosen.in_process
        preload(chosen, [run for run, _ in first.values()])
        data: dict[int, ArtifactStore | StagedData] = {i: plans[i][1] for i in owners}
        shared = None
        if not in_process:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(  # Windows keeps mapped files: left to TEMP
                prefix="riskframe-run-", dir=getattr(chosen, "staging_dir", None), ignore_cleanup_errors=True)))
            data = {i: _staged(plans[i][1], plans[i][0], _subfolder(folder, i) if len(owners) > 1 else folder)
                    for i in owners}
            shared = _shared(chosen, folder)
        parallel = jobs or getattr(chosen, "max_workers", None) or 1
        computed = _run_all([(run, data[i]) for run, i in first.values()], shared, chosen, parallel, seed, progress)
    by_key = {key: outcome for key, outcome in zip(first, computed, strict=True)}
    return [[dataclasses.replace(by_key[key], run=run) for run, key in zip(runs, keys[i], strict=True)]
            for i, (runs, _) in enumerate(plans)]


def _subfolder(folder: Path, index: int) -> Path:
    sub = folder / f"plan-{index}"
    sub.mkdir(mode=0o700)
    return sub


def _run_all(runs: Sequence[tuple[PlannedRun, ArtifactStore | StagedData]], shared: Path | None, executor: Executor,
             parallel: int, seed: int, progress: Progress | None) -> list[Outcome]:
    enforced = isinstance(executor, RunExecutor) and executor.enforces_limits
    default_memory = executor.default_memory() if isinstance(executor, RunExecutor) else None
    pending = list(reversed(runs))
    inflight: dict[Future[str], tuple[PlannedRun, float, float]] = {}  # run, deadline, when submitted
    outcomes: dict[int, Outcome] = {}  # by the run object itself: one outcome per run, whatever its id

    def finish(outcome: Outcome) -> None:
        outcomes[id(outcome.run)] = outcome
        if progress:
            progress(len(outcomes), len(runs), outcome)

    while pending or inflight:
        while pending and len(inflight) < max(1, parallel):
            run, data = pending.pop()
            limits = Limits(timeout=run.control.timeout, memory=run.control.memory or default_memory)
            job = Job(run.detector, run.params, run.stage, run.bindings, data, limits, seed, shared)
            # An executor that enforces the limits stops the run itself; otherwise it is abandoned here.
            now = time.monotonic()
            deadline = math.inf if enforced else now + run.control.timeout
            inflight[_submit(executor, job)] = (run, deadline, now)
        next_deadline = min(deadline for _, deadline, _ in inflight.values())
        timeout = min(WAKE_EVERY_S, max(0.0, next_deadline - time.monotonic()))
        done, _ = wait(inflight, timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            run, _, submitted = inflight.pop(future)
            finish(_result_of(future, run, round(time.monotonic() - submitted, 3)))
        now = time.monotonic()
        for future, (run, deadline, _) in list(inflight.items()):
            if deadline <= now:
                del inflight[future]
                future.cancel()
                finish(_abandoned(run))
    return [outcomes[id(run)] for run, _ in runs]


def preload(executor: Executor, runs: Sequence[PlannedRun]) -> None:
    """Load the detectors' modules and the heavy modules they import once, where ``runs`` will
    happen (asking again is cheap: what is loaded stays loaded)."""
    modules = [m for run in runs for m in (run.detector.__module__, *run.detector.imports)]
    if isinstance(executor, RunExecutor):
        executor.preload(modules)
    else:  # an executor we know nothing of: this process at least
        import_here(modules)


def _shared(executor: Executor, staging: Path) -> Path:
    """Where runs share results: this process's private folder, or beside the staged arrays when
    those go to storage the workers of other machines read."""
    if getattr(executor, "staging_dir", None) is None:
        return shared_folder()
    folder = staging / "shared"
    folder.mkdir(mode=0o700)
    return folder


def _staged(store: ArtifactStore, runs: Sequence[PlannedRun], folder: Path) -> StagedData:
    for run in runs:  # every digest once, here, so workers and the assessment's inputs agree
        for artifacts in run.bindings.values():
            for artifact in artifacts:
                store.digest(artifact)
    staged = stage(store, folder)
    store.replace(staged.open())  # the parent keeps the mapped copies too: the loaded arrays can go
    return staged


def _submit(executor: Executor, job: Job) -> Future[str]:
    try:
        return executor.submit(job)
    except Exception as exc:  # an executor that refuses the call: an error result, like a failed run
        future: Future[str] = Future()
        future.set_exception(exc)
        return future


def _result_of(future: Future[str], run: PlannedRun, waited: float) -> Outcome:
    try:
        text = future.result()
    except KeyboardInterrupt:
        raise
    except WorkerError as exc:
        return _stopped(run, exc, waited)
    except BaseException as exc:  # an executor that fails to run the call at all
        return _error(run, exc)
    try:
        reply = Reply.model_validate_json(text)
    except ValidationError as exc:
        return _error(run, exc, f"Detector {run.detector.name!r} sent back a result that does not validate")
    return Outcome(run, reply.status, reply.score, reply.summary, reply.metrics, reply.evidence,
                   reply.attachments, reply.duration_s)


def _error(run: PlannedRun, exc: BaseException, what: str = "") -> Outcome:
    kind = type(exc).__name__
    what = what or f"Detector {run.detector.name!r} could not be run ({kind}: {exc})"
    trace = traceback.format_exception(type(exc), exc, exc.__traceback__)
    evidence = {"error": f"{kind}: {exc}", "traceback": "".join(trace[-6:])}
    return Outcome(run, "error", 0.0, f"{what}. Counted as a failure (fail closed).", evidence=evidence)


def _abandoned(run: PlannedRun) -> Outcome:
    limit = run.control.timeout
    summary = (f"Detector {run.detector.name!r} did not finish within the control's timeout of {limit:g} s "
               "and was abandoned. Counted as a failure (fail closed).")
    return Outcome(run, "error", 0.0, summary, evidence={"error": f"timed out after {limit:g} s", "limit": "timeout"},
                   duration_s=limit)


def _stopped(run: PlannedRun, exc: WorkerError, waited: float) -> Outcome:
    if exc.evidence.get("limit") == "timeout":
        what = (f"did not finish within the control's timeout of {run.control.timeout:g} s and was stopped "
                "(its worker process killed)")
        waited = run.control.timeout
    else:
        what = str(exc)
    summary = f"Detector {run.detector.name!r} {what}. Counted as a failure (fail closed)."
    return Outcome(run, "error", 0.0, summary, evidence=dict(exc.evidence), duration_s=waited)
