"""Handlers of the opcodes that name globals and call them, set state, and frame the stream.

Nothing is imported or called: a global becomes a :class:`Ref` record (checked against the
allowlist by the walker) and a call a :class:`Call` record. The table is assembled in
:mod:`riskframe.scanning._opcodes`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from riskframe.scanning._joblib import after_build
from riskframe.scanning._opargs import Handler, malformed, read_int4, read_line, read_uint, registrar
from riskframe.scanning._values import Call, Opaque, Ref, describe, seq

if TYPE_CHECKING:
    from riskframe.scanning.pickle_ops import Walker

CALL_HANDLERS: dict[int, Handler] = {}
_op = registrar(CALL_HANDLERS)


# -- globals, calls, state -------------------------------------------------------------------

def _name_pair(w: Walker, offset: int) -> tuple[str, str]:
    try:
        return read_line(w, offset).decode("utf-8"), read_line(w, offset).decode("utf-8")
    except UnicodeDecodeError:
        raise malformed(offset, "a global name that is not UTF-8") from None


@_op(b"c")
def _global(w: Walker, offset: int) -> bool:
    module, name = _name_pair(w, offset)
    w.push(w.named_global(module, name, offset, "GLOBAL"))
    return False


@_op(b"\x93")
def _stack_global(w: Walker, offset: int) -> bool:
    w.stack_global(offset)
    return False


@_op(b"i")
def _inst(w: Walker, offset: int) -> bool:
    module, name = _name_pair(w, offset)
    args = seq("tuple", w.pop_mark(offset))
    ref = w.named_global(module, name, offset, "INST")
    w.push(w.called(ref, args, offset, "INST"))
    return False


@_op(b"o")
def _obj(w: Walker, offset: int) -> bool:
    items = w.pop_mark(offset)
    if not items:
        raise malformed(offset, "OBJ needs a class after its MARK")
    w.push(w.called(items[0], seq("tuple", items[1:]), offset, "OBJ"))
    return False


@_op(b"R")
def _reduce(w: Walker, offset: int) -> bool:
    args, func = w.pop(offset), w.pop(offset)
    w.push(w.called(func, args, offset, "REDUCE"))
    return False


@_op(b"\x81")
def _newobj(w: Walker, offset: int) -> bool:
    args, cls = w.pop(offset), w.pop(offset)
    w.push(w.called(cls, args, offset, "NEWOBJ"))
    return False


@_op(b"\x92")
def _newobj_ex(w: Walker, offset: int) -> bool:
    kwargs, args, cls = w.pop(offset), w.pop(offset), w.pop(offset)
    w.push(w.called(cls, seq("tuple", [args, kwargs]), offset, "NEWOBJ_EX"))
    return False


@_op(b"b")
def _build(w: Walker, offset: int) -> bool:
    state = w.pop(offset)
    target = w.top(offset)
    if isinstance(target, Call):
        target.state = state
        if isinstance(target.func, Ref) and target.func.severity and len(target.func.uses) < 3:
            target.func.uses.append(f"state set by BUILD at byte {offset}")
        after_build(w, target, offset)
    else:
        w.mutated(target, offset, "BUILD")
    return False


def _ext(width: int) -> Handler:
    def handler(w: Walker, offset: int) -> bool:
        code = read_int4(w) if width == 4 else read_uint(w, width)
        w.finding(f"<extension code {code}>", offset, "medium",
                  f"EXT{width} names a global by its copyreg extension code {code}, which is only "
                  "defined in the loading process; the scan cannot tell what it imports")
        w.push(Opaque(f"extension code {code}"))
        return False
    return handler


CALL_HANDLERS[0x82], CALL_HANDLERS[0x83], CALL_HANDLERS[0x84] = _ext(1), _ext(2), _ext(4)


@_op(b"P")
def _persid(w: Walker, offset: int) -> bool:
    w.push(Opaque(f"persistent id {read_line(w, offset)[:40]!r}"))
    return False


@_op(b"Q")
def _binpersid(w: Walker, offset: int) -> bool:
    w.push(Opaque(f"persistent id {describe(w.pop(offset), 60)}"))
    return False


# -- framing ---------------------------------------------------------------------------------

@_op(b"\x80")
def _proto(w: Walker, offset: int) -> bool:
    w.proto = read_uint(w, 1)
    if w.proto > 5:
        raise malformed(offset, f"unsupported pickle protocol {w.proto}")
    return False


@_op(b"\x95")
def _frame(w: Walker, offset: int) -> bool:
    w.stream.read(8)  # the frame's opcodes follow inline; its length only helps buffering
    return False


@_op(b"\x97")
def _next_buffer(w: Walker, offset: int) -> bool:
    w.push(Opaque("an out-of-band buffer"))
    return False


@_op(b"\x98")
def _readonly_buffer(w: Walker, offset: int) -> bool:
    w.top(offset)
    return False


@_op(b".")
def _stop(w: Walker, offset: int) -> bool:
    return True
