"""The gate: the one pass/fail decision a CI job acts on.

It fails when any result ended in ``error`` (fail closed: an unmeasured risk is not an accepted
one), or when any result that is not waived or not applicable reaches the ``fail_on`` level of
residual risk.
"""

from __future__ import annotations

from collections.abc import Sequence

from riskframe.assessment import ControlResult, Gate, Level
from riskframe.scoring import level_rank

_VERBS = {"pass": "passed", "warn": "warned", "fail": "failed", "skipped": "was skipped"}


def decide(results: Sequence[ControlResult], fail_on: Level) -> Gate:
    reasons = []
    for result in results:
        where = f"{result.requirement} at stage {result.stage}: {result.control}"
        if result.status == "error":
            reasons.append(f"{where} ended in error; the gate fails closed")
        elif result.status in _VERBS and level_rank(result.risk.level) >= level_rank(fail_on):
            reasons.append(f"{where} {_VERBS[result.status]} with {result.risk.level} residual risk "
                           f"({result.risk.residual:.2f}), at or above fail_on: {fail_on}")
    return Gate(decision="fail" if reasons else "pass", fail_on=fail_on, reasons=reasons)
