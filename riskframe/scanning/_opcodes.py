"""The pickle opcode table: one handler per opcode, applying its effect to the symbolic stack.

``HANDLERS[code](walker, offset)`` returns True for STOP. The effects mirror CPython's
``pickle._Unpickler``; nothing is imported or called: globals become :class:`Ref` records and
calls :class:`Call` records (see :mod:`riskframe.scanning.pickle_ops`). The handlers live in
:mod:`~riskframe.scanning._opcodes_values` (constants, numbers, strings),
:mod:`~riskframe.scanning._opcodes_containers` (containers, stack and memo) and
:mod:`~riskframe.scanning._opcodes_calls` (globals, calls, state, framing); their arguments are
read by :mod:`~riskframe.scanning._opargs`.
"""

from __future__ import annotations

from collections.abc import Mapping

from riskframe.scanning._opargs import Handler
from riskframe.scanning._opcodes_calls import CALL_HANDLERS
from riskframe.scanning._opcodes_containers import CONTAINER_HANDLERS
from riskframe.scanning._opcodes_values import VALUE_HANDLERS


def _table(*parts: Mapping[int, Handler]) -> list[Handler | None]:
    # A list indexed by the opcode byte: the walker's hot loop looks a handler up per opcode.
    table: list[Handler | None] = [None] * 256
    for part in parts:
        for code, handler in part.items():
            if table[code] is not None:
                raise ValueError(f"opcode 0x{code:02x} has a handler in two modules")
            table[code] = handler
    return table


HANDLERS = _table(VALUE_HANDLERS, CONTAINER_HANDLERS, CALL_HANDLERS)
