"""Progress on stderr while detectors run: one line per finished run, only on a terminal."""

from __future__ import annotations

from typing import Any, TextIO

from riskframe.io.terminal import escape


class ProgressPrinter:
    """Callable handed to :func:`riskframe.engine.run.run_plan` as ``progress``."""

    def __init__(self, stream: TextIO, enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()

    def __call__(self, done: int, total: int, outcome: Any) -> None:
        if not self.enabled:
            return
        run = outcome.run
        what = f"{run.control.id} at {run.stage.name}" + (f" ({run.primary.name})" if run.primary else "")
        self.stream.write(escape(f"[{done}/{total}] {what}: {outcome.status} in {outcome.duration_s:.1f}s") + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.flush()
