"""The words every part of riskframe shares: result statuses and their order, and the four levels.

Defined once here, beside :data:`Status`; every model, check and report imports them.

- A result's **status** is what happened to one control run. :data:`WORST_FIRST` orders them for
  roll-ups (the status a technique or requirement shows when several results cover it);
  :data:`FAILING` are the ones a baseline or a diff counts as failures (the gate fails closed on
  ``error``); :data:`NO_VERDICT` gave no verdict at all.
- A **level** grades both a requirement's severity and a residual risk, from ``low`` to
  ``critical``; :func:`level_rank` compares them.

>>> level_rank("high") > level_rank("medium")
True
>>> worst(["pass", "error", "warn"])
'error'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

Status = Literal["pass", "warn", "fail", "error", "skipped", "waived", "not_applicable"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail", "error", "skipped", "waived", "not_applicable")

# What a detector itself may conclude; the engine adds error, skipped and waived.
Verdict = Literal["pass", "warn", "fail", "not_applicable"]

# Worst first: the status a roll-up shows when several results cover one thing.
WORST_FIRST: tuple[Status, ...] = ("error", "fail", "waived", "warn", "pass", "skipped", "not_applicable")
# Failing results: a failed check, and one that could not run (an unmeasured risk is not an accepted one).
FAILING: frozenset[str] = frozenset({"fail", "error"})
# Results that say nothing about the risk: the check did not apply, or was not run.
NO_VERDICT: tuple[Status, ...] = ("not_applicable", "skipped")

Level = Literal["low", "medium", "high", "critical"]
LEVELS: tuple[Level, ...] = ("low", "medium", "high", "critical")


def level_rank(level: str) -> int:
    """Position of ``level`` in :data:`LEVELS` (``low`` is 0); ValueError for another word."""
    return LEVELS.index(level)


def strictest(levels: Iterable[Level], default: Level = "high") -> Level:
    """The lowest of ``levels`` (a gate set at it fails soonest), ``default`` when there is none.

    >>> strictest(["high", "medium"])
    'medium'
    """
    return min(levels, key=level_rank, default=default)


def worst(statuses: Iterable[str]) -> str:
    """The worst of ``statuses`` by :data:`WORST_FIRST`; ``not-assessed`` when there is none."""
    present = set(statuses)
    return next((s for s in WORST_FIRST if s in present), "not-assessed")
