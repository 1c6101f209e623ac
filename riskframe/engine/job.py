"""One detector run as an executor carries it, and what it sends back.

A :class:`Job` is a picklable callable: whichever process calls it (the parent with the local
executor, a worker with the process executor) runs the detector there and returns the outcome as
JSON text, a :class:`Reply`. The parent validates that text with the pydantic model, so nothing a
run sends back can execute code in the parent: it is data, not pickled objects.

Every exception becomes an ``error`` reply: a crashed detector is an error result, not a crash.
Only ``KeyboardInterrupt`` (the user stopping riskframe) propagates; a ``SystemExit`` from a
detector or from user training code (argparse, click) must not end the assessment with exit 0 and
no reports.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from riskframe.data.datasets import Dataset
from riskframe.data.rows import with_flagged_rows
from riskframe.detectors.base import DetectorClass, DetectorParams
from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.engine.limits import NO_LIMITS, Limits, format_size, lift_to_headroom, memory_limited
from riskframe.engine.staging import StagedData
from riskframe.errors import MissingDependencyError, NotApplicableError
from riskframe.results import Attachment, DetectorResult, Status
from riskframe.spec.pipeline import Artifact, Stage


class Reply(BaseModel):
    """What a run sends back to the parent: a detector result, or why there is none."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Status
    score: float = Field(ge=0.0, le=1.0)
    summary: str = Field(min_length=1)
    metrics: dict[str, float] = Field(default_factory=dict)
    evidence: dict[str, Any] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(default_factory=list)
    duration_s: float = Field(default=0.0, ge=0.0)


@dataclass(frozen=True)
class Job:
    """Run ``detector`` with ``params`` on ``stage``'s ``bindings``; the artifacts' content comes
    from ``data`` (the parent's store itself, or the arrays it staged for workers); ``shared`` is
    the folder where worker runs share results (see :class:`~riskframe.detectors.context.RunContext`)."""

    detector: DetectorClass
    params: DetectorParams
    stage: Stage
    bindings: Mapping[str, tuple[Artifact, ...]]
    data: ArtifactStore | StagedData
    limits: Limits = NO_LIMITS
    seed: int = 0
    shared: Path | None = None

    def __call__(self) -> str:
        """Run in this process and return the :class:`Reply` as JSON text."""
        started = time.perf_counter()
        try:
            store = self.data if isinstance(self.data, ArtifactStore) else self.data.open()
            ctx = RunContext(stage=self.stage, bindings=self.bindings, store=store, seed=self.seed, shared=self.shared)
            before = _process_state()
            result = self.detector().run(ctx, self.params)
            left_behind = _changed_since(before)
            if left_behind:
                raise SideEffectError(left_behind)
            if not isinstance(result, DetectorResult):
                raise TypeError(f"run() returned {type(result).__name__}, not a DetectorResult")
            # Checked again: model_construct() skips the checks, and a status such as 'waived' must
            # never come from a detector.
            result = DetectorResult.model_validate(result.model_dump())
            evidence = with_flagged_rows(result.evidence, _bound_datasets(store, self.bindings))
        except NotApplicableError as exc:
            reply = Reply(status="not_applicable", score=0.0, summary=str(exc), duration_s=_since(started))
            return reply.model_dump_json()
        except KeyboardInterrupt:
            raise
        except MemoryError as exc:
            if memory_limited():
                lift_to_headroom()
            return self._error(exc, started).model_dump_json()
        except BaseException as exc:  # fail closed: a crashed detector is an error result, not a crash
            return self._error(exc, started).model_dump_json()
        reply = Reply(status=result.status, score=result.score, summary=result.summary, metrics=result.metrics,
                      evidence=evidence, attachments=result.attachments, duration_s=_since(started))
        try:
            return reply.model_dump_json()
        except Exception as exc:  # evidence that JSON cannot carry (a numpy integer): the detector's bug
            summary = (f"Detector {self.detector.name!r} returned evidence that is not JSON ({exc}). "
                       "Counted as a failure (fail closed).")
            return Reply(status="error", score=0.0, summary=summary, evidence={"error": str(exc)},
                         duration_s=reply.duration_s).model_dump_json()

    def _error(self, exc: BaseException, started: float) -> Reply:
        kind = type(exc).__name__
        name = self.detector.name
        if isinstance(exc, MissingDependencyError):
            summary = f"Could not run: {exc}"
        elif isinstance(exc, SideEffectError):
            summary = (f"Detector {name!r} {exc}: a detector must leave its process as it found it (a changed "
                       "folder breaks the runs after it, a running thread keeps riskframe alive). Counted as a "
                       "failure (fail closed).")
        elif isinstance(exc, MemoryError) and self.limits.memory is not None and memory_limited():
            summary = (f"Detector {name!r} ran out of memory under its memory limit of "
                       f"{format_size(self.limits.memory)} ({kind}{': ' + str(exc) if str(exc) else ''}). "
                       "Counted as a failure (fail closed).")
        else:
            summary = f"Detector {name!r} raised {kind}: {exc}. Counted as a failure (fail closed)."
        trace = traceback.format_exception(type(exc), exc, exc.__traceback__)
        evidence: dict[str, Any] = {"error": f"{kind}: {exc}", "traceback": "".join(trace[-6:])}
        if isinstance(exc, MemoryError) and self.limits.memory is not None and memory_limited():
            evidence |= {"limit": "memory", "memory_limit_bytes": self.limits.memory}
        traceback.clear_frames(exc.__traceback__)  # what the run held (all of memory, perhaps) is freed now
        return Reply(status="error", score=0.0, summary=summary, evidence=evidence, duration_s=_since(started))


def _bound_datasets(store: ArtifactStore, bindings: Mapping[str, tuple[Artifact, ...]]) -> list[Dataset]:
    """The loaded datasets of the run's artifacts, the one bound as ``dataset`` first: where its
    flagged samples are found (nothing is loaded for it)."""
    loaded = store.loaded_datasets()
    names = [a.name for a in bindings.get("dataset", ())] + [a.name for arts in bindings.values() for a in arts]
    return [loaded[name] for name in dict.fromkeys(names) if name in loaded]


class SideEffectError(RuntimeError):
    """A detector returned a result but changed its process: the result is not trusted."""


def _process_state() -> tuple[str | None, set[threading.Thread]]:
    try:
        folder: str | None = os.getcwd()
    except OSError:  # a folder removed under us: nothing to compare with
        folder = None
    return folder, set(threading.enumerate())


def _changed_since(before: tuple[str | None, set[threading.Thread]]) -> str:
    """What a run changed in its process that would outlive it, in words ('' for nothing); the
    working folder is put back, so that the runs after it (in-process executors) are unharmed."""
    folder, threads = before
    problems = []
    try:
        now: str | None = os.getcwd()
    except OSError:
        now = None
    if folder is not None and now != folder:
        os.chdir(folder)
        problems.append("changed the working directory")
    running = [t for t in threading.enumerate() if t not in threads and t.is_alive() and not t.daemon]
    if running:
        names = ", ".join(sorted(t.name for t in running))
        problems.append(f"left {len(running)} non-daemon thread{'s' if len(running) > 1 else ''} running ({names})")
    return " and ".join(problems)


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)
