"""Results one run computes and another reuses, across worker processes.

Worker processes share no memory: a search that two detectors both need (Neural Cleanse on one
model and one dataset) would run twice, once in each. :func:`computed_once` has the runs of one
riskframe process compute it once: the first takes a lock on the result's key (``flock``, released
however that worker ends), computes and writes the result; the others wait for the lock, then read
the file. The folder (:func:`shared_folder`) is private to the riskframe process (mode 0700) and
removed when it ends, so no result outlives the process that trusts it; files hold arrays only,
read without pickles.

>>> screen = computed_once(ctx.shared, key, search, save, load)  # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_folder: Path | None = None
_lock = threading.Lock()


def shared_folder() -> Path:
    """This riskframe process's folder for results its runs share (created on first use)."""
    global _folder
    with _lock:
        if _folder is None:
            _folder = Path(tempfile.mkdtemp(prefix="riskframe-shared-"))
            atexit.register(shutil.rmtree, _folder, True)
        return _folder


def computed_once(folder: Path, key: tuple[Hashable, ...], compute: Callable[[], T],
                  save: Callable[[T, Path], None], load: Callable[[Path], T]) -> T:
    """``compute()``'s result for ``key`` (a tuple of values whose ``repr`` says what was
    computed, from what), computed by the first run that asks and read from ``folder`` by the
    others. ``save`` writes a result to a path ending in ``.npz``; ``load`` reads one back (a file
    it cannot read is computed again)."""
    name = hashlib.sha256(repr(key).encode()).hexdigest()[:32]
    path = folder / f"{name}.npz"
    with _held(folder / f"{name}.lock"):
        if path.exists():
            with contextlib.suppress(Exception):
                return load(path)
        value = compute()
        partial = folder / f".{name}.{os.getpid()}.npz"
        save(value, partial)
        os.replace(partial, path)  # readers see the whole file or none
        return value


@contextlib.contextmanager
def _held(lock_file: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: no process executor either, nothing to wait for
        yield
        return
    with open(lock_file, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # waiting counts against the waiting run's timeout
        yield
