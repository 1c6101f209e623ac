"""Handlers of the opcodes that name globals and call them, set state, and frame the stream.

Nothing is imported or called: a global becomes a :class:`Ref` record (checked against the
allowlist by the walker) and a call a :class:`Call` record. The table is assembled in
:mod:`riskframe.scanning._opcodes`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from riskframe.scanning._joblib import after_build
from riskframe.scanning._opargs import Handler, importable, malformed, read_int4, read_line, read_uint, registrar
from riskframe.scanning._stream import Truncated
from riskframe.scanning._values import KEEP_TEXT, Call, Opaque, Ref, Seq, describe, seq, snapshot

if TYPE_CHECKING:
    from riskframe.scanning.pickle_ops import Walker

CALL_HANDLERS: dict[int, Handler] = {}
_op = registrar(CALL_HANDLERS)


# -- globals, calls, state -------------------------------------------------------------------

def _name_line(w: Walker, offset: int, encoding: str, *, module: bool = False) -> str | None:
    """One line of a GLOBAL/INST name; None when it is too long to judge."""
    text, length = read_line(w)
    if length > KEEP_TEXT:
        prefix = text.decode(encoding, "replace")
        if module and not w.claimed and not importable(prefix):
            raise malformed(offset, f"{prefix[:40]!r}... is not a module name anything can import")
        return None
    try:
        return text.decode(encoding)
    except UnicodeDecodeError:  # both unpicklers decode strictly
        raise malformed(offset, f"a global name that is not {encoding}") from None


def _named(w: Walker, offset: int, opcode: str, encoding: str) -> Ref | Opaque:
    """Read the module and name lines of GLOBAL/INST and record the global they name."""
    try:
        module = _name_line(w, offset, encoding, module=True)
    except Truncated as exc:
        _imported_at_eof(w, exc, None, offset, opcode)
        raise
    try:
        name = _name_line(w, offset, encoding)
    except Truncated as exc:
        _imported_at_eof(w, exc, module, offset, opcode)
        raise
    if module is None or name is None:
        w.finding(None, offset, "high", f"{opcode} names a global too long to read (over {KEEP_TEXT} bytes): "
                                        "what it imports cannot be judged",
                  title=f"{opcode} names a global too long to read")
        return Opaque("a global too long to read")
    if not w.claimed and not importable(module):
        raise malformed(offset, f"{module[:40]!r} is not a module name anything can import")
    return w.named_global(module, name, offset, opcode)


def _imported_at_eof(w: Walker, exc: Truncated, module: str | None, offset: int, opcode: str) -> None:
    # The pure-Python unpickler (joblib's) takes a last line the data ends in, minus its last
    # byte, and imports the module before failing: record what it would import.
    partial = exc.partial[:-1].decode("utf-8", "replace")
    names = (partial, "") if module is None else (module, partial)
    if names[0] and importable(names[0]):
        w.named_global(*names, offset, opcode)


@_op(b"c")
def _global(w: Walker, offset: int) -> bool:
    w.push(_named(w, offset, "GLOBAL", "utf-8"))
    return False


@_op(b"\x93")
def _stack_global(w: Walker, offset: int) -> bool:
    w.stack_global(offset)
    return False


@_op(b"i")
def _inst(w: Walker, offset: int) -> bool:
    ref = _named(w, offset, "INST", "ascii")  # the pure-Python unpickler imports before it pops the MARK
    args = seq("tuple", w.pop_mark(offset))
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
        target.states.append(snapshot(state))
        if isinstance(target.func, Ref) and target.func.severity and len(target.func.uses) < 3:
            target.func.uses.append(f"state set by BUILD at byte {offset}")
        after_build(w, target, offset)
    else:
        w.mutated(target, offset, "BUILD")
    return False


def _ext(width: int) -> Handler:
    def handler(w: Walker, offset: int) -> bool:
        code = read_int4(w) if width == 4 else read_uint(w, width)
        if code <= 0:
            raise malformed(offset, "EXT specifies code <= 0")
        w.finding(f"<extension code {code}>", offset, "medium",
                  f"EXT{width} names a global by its copyreg extension code {code}, which is only "
                  "defined in the loading process; the scan cannot tell what it imports")
        w.push(Opaque(f"extension code {code}"))
        return False
    return handler


CALL_HANDLERS[0x82], CALL_HANDLERS[0x83], CALL_HANDLERS[0x84] = _ext(1), _ext(2), _ext(4)


@_op(b"P")
def _persid(w: Walker, offset: int) -> bool:
    if not w.persistent_ids:
        raise malformed(offset, "a persistent id, but this loader has no persistent_load")
    text, length = read_line(w)
    if length <= KEEP_TEXT and not text.isascii():
        raise malformed(offset, "a persistent id that is not ASCII")
    w.push(Opaque(f"persistent id {text[:40]!r}"))
    return False


@_op(b"Q")
def _binpersid(w: Walker, offset: int) -> bool:
    if not w.persistent_ids:
        raise malformed(offset, "a persistent id, but this loader has no persistent_load")
    pid = w.pop(offset)
    if (isinstance(pid, Seq) and pid.kind == "tuple" and pid.exact and len(pid.items) >= 2
            and pid.items[0] in ("module", b"module") and isinstance(pid.items[1], Ref)):
        # torch's legacy persistent_load returns the module class its ('module', class, file, source)
        # id names: that class reaches the stack, as if the tuple had not been built around it
        w.push(pid.items[1])
        return False
    w.push(Opaque(f"persistent id {describe(pid, 60)}"))
    return False


# -- framing ---------------------------------------------------------------------------------

@_op(b"\x80")
def _proto(w: Walker, offset: int) -> bool:
    protocol = read_uint(w, 1)
    if protocol > 5:
        raise malformed(offset, f"unsupported pickle protocol {protocol}")
    return False


@_op(b"\x95")
def _frame(w: Walker, offset: int) -> bool:
    # The frame's opcodes follow inline. Its end matters to joblib, whose arrays are read from the
    # file after the frame the pure-Python unpickler has buffered (see pickle_ops.Walker).
    size = read_uint(w, 8)
    if size >= 1 << 63:
        raise malformed(offset, f"a frame of {size} bytes")
    w.frame_end = w.stream.offset + size
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
