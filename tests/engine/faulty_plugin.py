"""A third-party detector plugin that misbehaves in every way a security review found fail-open.

Tests register these classes in a test registry, or install this file as a real plugin (a module
and a dist-info with ``riskframe.detectors`` entry points) for the command line. Each detector
does its damage for real: ``os._exit``, a hang inside C code that holds the GIL, an allocation
without bound, a segfault, a chdir and an environment change, a non-daemon thread left running.
"""

from __future__ import annotations

import ctypes
import os
import re
import threading
import time
from abc import abstractmethod
from pathlib import Path

from pydantic import Field

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.results import DetectorResult

LEAKED_VARIABLE = "RISKFRAME_TEST_LEAKED"


class _Params(DetectorParams):
    pid_file: str = Field(default="", description="write the worker's pid here first (for tests that stop it)")


class _Faulty(Detector):
    requires = ("dataset",)
    Params = _Params
    title = "Misbehaves"

    def run(self, ctx, params):
        if params.pid_file:
            Path(params.pid_file).write_text(str(os.getpid()))
        return self.misbehave(ctx)

    @abstractmethod
    def misbehave(self, ctx):
        """Do the damage."""


class ExitsZero(_Faulty):
    """Ends its process as if all were well: a CI job reading exit 0 would call it a pass."""

    name = "exits-zero"

    def misbehave(self, ctx):
        os._exit(0)


class HoldsTheGil(_Faulty):
    """Catastrophic backtracking: ``re`` runs in C and never releases the GIL, so no thread of
    the process (a timer, a watchdog) runs again until it returns, in about 2**40 steps."""

    name = "holds-the-gil"

    def misbehave(self, ctx):
        re.match(r"(a+)+$", "a" * 40 + "b")
        return DetectorResult(status="pass", score=0.0, summary="Unreachable.")


class AllocatesWithoutBound(_Faulty):
    name = "allocates-without-bound"

    def misbehave(self, ctx):
        hoard = []
        while True:
            hoard.append(bytearray(16 * 2**20))  # bytearray writes its zeros: the pages are real


class Segfaults(_Faulty):
    name = "segfaults"

    def misbehave(self, ctx):
        ctypes.string_at(0)


class ChangesItsSurroundings(_Faulty):
    """Moves to another folder and sets an environment variable, then passes."""

    name = "changes-its-surroundings"

    def misbehave(self, ctx):
        os.chdir("/")
        os.environ[LEAKED_VARIABLE] = "leaked"
        return DetectorResult(status="pass", score=0.0, summary="Moved to / and set a variable.")


class LeavesAThread(_Faulty):
    """Returns while a non-daemon thread it started runs on (in-process, Python would wait for it
    at exit, after the gate printed)."""

    name = "leaves-a-thread"

    def misbehave(self, ctx):
        threading.Thread(target=time.sleep, args=(3600,), name="left-behind").start()
        return DetectorResult(status="pass", score=0.0, summary="Left a thread running.")


class Probe(_Faulty):
    """Reports the folder, the environment and the threads a run finds."""

    name = "probe"

    def misbehave(self, ctx):
        evidence = {"cwd": os.getcwd(), "leaked": os.environ.get(LEAKED_VARIABLE, ""),
                    "threads": threading.active_count()}
        return DetectorResult(status="pass", score=0.0, summary="Looked around.", evidence=evidence)


FAULTY = (ExitsZero, HoldsTheGil, AllocatesWithoutBound, Segfaults, ChangesItsSurroundings, LeavesAThread, Probe)
