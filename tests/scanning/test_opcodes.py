"""The opcode table (``scanning._opcodes``): assembled from its three handler modules, it covers
exactly the opcodes CPython's pickle defines, and no opcode can get two handlers."""

from __future__ import annotations

import pickletools

import pytest

from riskframe.scanning._opargs import registrar
from riskframe.scanning._opcodes import HANDLERS, _table
from riskframe.scanning._opcodes_calls import CALL_HANDLERS
from riskframe.scanning._opcodes_containers import CONTAINER_HANDLERS
from riskframe.scanning._opcodes_values import VALUE_HANDLERS


def test_every_opcode_pickle_defines_has_exactly_one_handler():
    defined = {ord(op.code) for op in pickletools.opcodes}

    assert {code for code, handler in enumerate(HANDLERS) if handler is not None} == defined
    assert len(VALUE_HANDLERS) + len(CONTAINER_HANDLERS) + len(CALL_HANDLERS) == len(defined)


def test_a_second_handler_for_an_opcode_is_refused():
    op = registrar({})
    op(b".")(lambda w, offset: True)

    with pytest.raises(ValueError, match=r"^opcode 0x2e already has a handler$"):
        op(b".")(lambda w, offset: True)
    with pytest.raises(ValueError, match=r"^opcode 0x4e has a handler in two modules$"):
        _table(VALUE_HANDLERS, {ord("N"): VALUE_HANDLERS[ord("N")]})
