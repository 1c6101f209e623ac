"""The memory an assessment may spend on datasets and representations, checked before allocating.

A 2 MB npz can declare (and inflate to) a 2 GiB array; a header can declare 47 GiB. Each loader
works out what an artifact takes in memory once loaded from the array headers alone (or, for csv,
row by row as it parses) and refuses it, located, when that is more than what is left of the
budget: the datasets and representations an assessment holds at once stay under it.

The budget is :data:`DEFAULT_BUDGET` (2 GiB), or the ``RISKFRAME_MAX_DATASET_MEMORY`` environment
variable (``4GiB``, ``500MB``, ``1073741824``). Detectors work on copies of what they are given, so
the process needs a few times the budget (docs/security.md has the measured factor).

>>> parse_size("1.5GiB")
1610612736
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from riskframe.errors import ArtifactError, UsageError

ENV_VAR = "RISKFRAME_MAX_DATASET_MEMORY"
DEFAULT_BUDGET = 2 << 30
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30,
          "t": 1 << 40, "tib": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str) -> int:
    """Bytes in ``text``: a number with an optional unit (``kB``/``MB``/``GB``, ``KiB``/``MiB``/``GiB``).

    Raises
    ------
    ValueError
        Not such a size.
    """
    match = _SIZE.match(text)
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(text)
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def configured_budget() -> int:
    """The budget in bytes: ``RISKFRAME_MAX_DATASET_MEMORY`` when set, else :data:`DEFAULT_BUDGET`.

    Raises
    ------
    UsageError
        The variable is set to something that is not a size.
    """
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return DEFAULT_BUDGET
    try:
        return parse_size(text)
    except ValueError:
        raise UsageError(f"{ENV_VAR}: must be a size such as 4GiB, 500MB or 1073741824. "
                         f"Got {text!r} instead.") from None


def human(size: float) -> str:
    """``2.0 GiB``, ``512.0 MiB``, ``300 B``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size:.0f} B"


@dataclass
class Budget:
    """What is left of the budget for one assessment, shared by its loads (thread-safe)."""

    total: int
    spent: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def from_environment(cls) -> Budget:
        return cls(configured_budget())

    @property
    def left(self) -> int:
        return max(0, self.total - self.spent)

    def exceeded(self, size: int, what: str, field: str = "path", when: str = "before reading it") -> ArtifactError:
        """The error for ``what`` needing ``size`` bytes, more than is left."""
        left = "" if self.spent == 0 else f" ({human(self.left)} left after the artifacts already loaded)"
        return ArtifactError(f"{what} would take {human(size)} in memory once loaded, more than the dataset memory "
                             f"budget of {human(self.total)}{left}; refused {when} (set {ENV_VAR} to change the "
                             "budget)", field)

    @contextmanager
    def reserve(self, size: int, what: str, field: str = "path") -> Iterator[None]:
        """Hold ``size`` bytes for ``what`` (``raw.npz: features (6300000000 x 1 float64)``) while the
        block loads it; kept when the block succeeds, given back when it raises.

        Raises
        ------
        ArtifactError
            ``size`` does not fit in what is left (blamed on ``field``); nothing is held.
        """
        with self._lock:
            if size > self.left:
                raise self.exceeded(size, what, field)
            self.spent += size
        try:
            yield
        except BaseException:
            with self._lock:
                self.spent -= size
            raise
