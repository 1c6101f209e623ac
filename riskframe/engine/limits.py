"""The limits a detector run works under: wall-clock time and memory.

A control sets them (``timeout:``, ``memory:``); the process executor enforces both, the local
executor only abandons a run past its timeout. Memory is the run's own allocation on top of what
its worker holds when the detector starts (the interpreter and the preloaded libraries, shared
with every other worker): on Linux the kernel refuses a larger data segment (``RLIMIT_DATA``:
heap, anonymous mappings, thread stacks), and the allocation fails with ``MemoryError``. Input
arrays the worker memory-maps do not count: they are pages of a shared file.

>>> format_size(300 * 2**20)
'300 MiB'
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# Room above the limit, lifted once a run has hit it, so the worker can still report what happened.
REPORTING_HEADROOM = 64 * 2**20
# What the default leaves to the parent, the operating system and other programs.
DEFAULT_MACHINE_SHARE = 0.75


@dataclass(frozen=True)
class Limits:
    """``timeout`` in seconds of wall-clock time; ``memory`` in bytes the run may allocate.
    ``None`` is no limit."""

    timeout: float | None = None
    memory: int | None = None


NO_LIMITS = Limits()


def format_size(n_bytes: int) -> str:
    """Bytes as people write them: binary units, at most one decimal, no trailing ``.0``."""
    value, unit = float(n_bytes), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"


def default_memory(parallel_runs: int) -> int:
    """Three quarters of this machine's memory (or of its container's limit), shared equally by
    ``parallel_runs`` runs: a run that allocates without bound cannot take the machine."""
    return int(machine_memory() * DEFAULT_MACHINE_SHARE / max(1, parallel_runs))


def machine_memory() -> int:
    """Physical memory in bytes, or the cgroup (v2) limit of the container when it is lower."""
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    try:
        with open("/sys/fs/cgroup/memory.max") as limit:
            text = limit.read().strip()
    except OSError:  # not Linux, or cgroup v1: the physical size is what we know
        return physical
    return min(physical, int(text)) if text.isdigit() else physical


def limit_memory(extra: int) -> None:
    """Let this process's data segment grow by at most ``extra`` bytes from now on (Linux; a no-op
    where the size of the data segment cannot be read)."""
    import resource  # POSIX only, like the process executor

    current = _data_segment()
    if current is None:
        return
    soft = current + extra
    resource.setrlimit(resource.RLIMIT_DATA, (soft, soft + REPORTING_HEADROOM))


def memory_limited() -> bool:
    """Whether :func:`limit_memory` is in force in this process."""
    try:
        import resource
    except ImportError:  # Windows: no limits, and no process executor to set them
        return False
    soft, _ = resource.getrlimit(resource.RLIMIT_DATA)
    return soft != resource.RLIM_INFINITY


def lift_to_headroom() -> None:
    """After a ``MemoryError`` under the limit: raise the soft limit to the hard one, so the
    report of what happened can be written."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (hard, hard))


def _data_segment() -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
