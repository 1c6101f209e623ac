"""The folder a command writes its reports into, held for one run.

Two runs writing into one folder at once would leave a mix of both sets of reports. The folder is
locked while a run uses it (an advisory lock on the folder itself, released by the operating
system however the run ends), so a second run stops at once with exit 2. Running again into the
same folder afterwards is the normal case (a CI job re-run): the reports are replaced, each file
atomically.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from riskframe.errors import UsageError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks on folders; runs go unlocked
    fcntl = None  # type: ignore[assignment]


@contextmanager
def held(out: Path, option: str = "--out") -> Iterator[Path]:
    """Create ``out`` if needed and hold it until the block ends; a folder created here and left
    empty (the run stopped before writing) is removed again.

    Raises
    ------
    UsageError
        Another run holds the folder.
    """
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        _lock(fd, out, option)
        yield out
    finally:
        os.close(fd)  # releases the lock
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()  # only succeeds while it is empty


def left_over(out: Path, written: Sequence[Path], known: Sequence[str]) -> list[str]:
    """Report files (of the ``known`` names) in ``out`` that this run did not write: another
    format's reports from an earlier run, which no longer go with the ones beside them."""
    fresh = {path.name for path in written}
    return [name for name in known if name not in fresh and (out / name).is_file()]


def _lock(fd: int, out: Path, option: str) -> None:
    if fcntl is None:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise UsageError(f"{option} {out}: another riskframe run is writing its reports there; wait for it to "
                         "finish, or choose another folder") from None
    except OSError:  # a file system without locks (some network mounts): the run goes on unlocked
        pass
