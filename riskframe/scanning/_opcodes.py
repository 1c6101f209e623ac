"""One handler per pickle opcode: read its argument, apply its effect to the symbolic stack.

``HANDLERS[code](walker, offset)`` returns True for STOP. The effects mirror CPython's
``pickle._Unpickler``; nothing is imported or called: globals become :class:`Ref` records and
calls :class:`Call` records (see :mod:`riskframe.scanning.pickle_ops`).
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from riskframe.scanning._joblib import after_build
from riskframe.scanning._values import KEEP_TEXT, Blob, Call, Map, Opaque, Ref, Seq, describe, seq

if TYPE_CHECKING:
    from riskframe.scanning.pickle_ops import Walker

Handler = Callable[["Walker", int], bool]
HANDLERS: list[Handler | None] = [None] * 256
_LONG_KEEP = 64  # bytes of a LONG1/LONG4 kept as a number; longer ones are opaque


def _op(code: bytes) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[code[0]] = handler
        return handler
    return register


def _malformed(offset: int, message: str) -> Exception:
    from riskframe.scanning.pickle_ops import Malformed

    return Malformed(offset, message)


# -- argument readers ------------------------------------------------------------------------

def _uint(w: Walker, n: int) -> int:
    return int.from_bytes(w.stream.read(n), "little")


def _int4(w: Walker) -> int:
    return int.from_bytes(w.stream.read(4), "little", signed=True)


def _line(w: Walker, offset: int) -> bytes:
    text, length = w.stream.read_line(KEEP_TEXT)
    if length > KEEP_TEXT:
        raise _malformed(offset, f"a text argument of {length} bytes")
    return text


def _decimal(w: Walker, offset: int) -> int:
    text = _line(w, offset)
    try:
        return int(text.rstrip(b"L") or b"x")
    except ValueError:
        raise _malformed(offset, f"{text[:20]!r} is not an integer") from None


def _payload(w: Walker, n: int, kind: str, offset: int) -> bytes | Blob:
    if n < 0:
        raise _malformed(offset, f"negative {kind} length {n}")
    if n > KEEP_TEXT:
        w.stream.skip(n, f"a {kind} of {n} bytes")
        return Blob(kind, n)
    return w.stream.read(n, f"a {kind} of {n} bytes")


def _text(data: bytes | Blob, offset: int) -> str | Blob:
    if isinstance(data, Blob):
        return data
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        raise _malformed(offset, "a unicode string that is not UTF-8") from None


def _py2_string(data: bytes | Blob) -> str | bytes | Blob:
    # Python 3 decodes protocol-2 "str" as ASCII by default: a str operand is possible.
    if isinstance(data, Blob):
        return data
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        return data


def _push(value: Any) -> Handler:
    def handler(w: Walker, offset: int) -> bool:
        w.stack.append(value)
        return False
    return handler


def _push_new(factory: Callable[[], Any]) -> Handler:
    def handler(w: Walker, offset: int) -> bool:
        w.stack.append(factory())
        return False
    return handler


# -- constants -------------------------------------------------------------------------------

HANDLERS[ord("N")] = _push(None)
HANDLERS[0x88] = _push(True)
HANDLERS[0x89] = _push(False)
HANDLERS[ord("]")] = _push_new(lambda: Seq("list", [], 0))
HANDLERS[ord(")")] = _push_new(lambda: Seq("tuple", [], 0))
HANDLERS[ord("}")] = _push_new(lambda: Map([], 0))
HANDLERS[0x8F] = _push_new(lambda: Seq("set", [], 0))


@_op(b"I")
def _int(w: Walker, offset: int) -> bool:
    text = _line(w, offset)
    w.push({b"00": False, b"01": True}.get(text) if text in (b"00", b"01") else _parse_int(text, offset))
    return False


def _parse_int(text: bytes, offset: int) -> int:
    try:
        return int(text)
    except ValueError:
        raise _malformed(offset, f"{text[:20]!r} is not an integer") from None


@_op(b"L")
def _long(w: Walker, offset: int) -> bool:
    w.push(_decimal(w, offset))
    return False


@_op(b"F")
def _float(w: Walker, offset: int) -> bool:
    text = _line(w, offset)
    try:
        w.push(float(text))
    except ValueError:
        raise _malformed(offset, f"{text[:20]!r} is not a float") from None
    return False


@_op(b"J")
def _binint(w: Walker, offset: int) -> bool:
    w.push(_int4(w))
    return False


@_op(b"K")
def _binint1(w: Walker, offset: int) -> bool:
    w.stack.append(w.stream.read(1)[0])
    return False


@_op(b"M")
def _binint2(w: Walker, offset: int) -> bool:
    w.push(_uint(w, 2))
    return False


def _long_n(w: Walker, offset: int, n: int) -> None:
    data = _payload(w, n, "long", offset) if n <= _LONG_KEEP else None
    if data is None:
        w.stream.skip(n, f"a long of {n} bytes")
        w.push(Opaque(f"an integer of {n} bytes"))
    else:
        w.push(int.from_bytes(data, "little", signed=True))  # type: ignore[arg-type]


@_op(b"\x8a")
def _long1(w: Walker, offset: int) -> bool:
    _long_n(w, offset, _uint(w, 1))
    return False


@_op(b"\x8b")
def _long4(w: Walker, offset: int) -> bool:
    n = _int4(w)
    if n < 0:
        raise _malformed(offset, f"negative long length {n}")
    _long_n(w, offset, n)
    return False


@_op(b"G")
def _binfloat(w: Walker, offset: int) -> bool:
    w.push(struct.unpack(">d", w.stream.read(8))[0])
    return False


@_op(b"S")
def _string(w: Walker, offset: int) -> bool:
    text = _line(w, offset)
    if len(text) < 2 or text[0] != text[-1] or text[:1] not in (b"'", b'"'):
        raise _malformed(offset, "the STRING opcode argument must be quoted")
    try:
        w.push(_py2_string(codecs.escape_decode(text[1:-1])[0]))
    except ValueError:
        raise _malformed(offset, "a STRING with a bad escape") from None
    return False


@_op(b"T")
def _binstring(w: Walker, offset: int) -> bool:
    w.push(_py2_string(_payload(w, _int4(w), "string", offset)))
    return False


@_op(b"U")
def _short_binstring(w: Walker, offset: int) -> bool:
    w.push(_py2_string(_payload(w, _uint(w, 1), "string", offset)))
    return False


@_op(b"V")
def _unicode(w: Walker, offset: int) -> bool:
    try:
        w.push(_line(w, offset).decode("raw-unicode-escape"))
    except UnicodeDecodeError:
        raise _malformed(offset, "a UNICODE argument with a bad escape") from None
    return False


def _sized(kind: str, width: int, *, text: bool) -> Handler:
    def handler(w: Walker, offset: int) -> bool:
        stream = w.stream
        n = int.from_bytes(stream.read(width), "little")
        if n > KEEP_TEXT:
            stream.skip(n, f"a {kind} of {n} bytes")
            w.stack.append(Blob(kind, n))
            return False
        data = stream.read(n, f"a {kind} of {n} bytes")
        if not text:
            w.stack.append(data)
            return False
        try:
            w.stack.append(data.decode("utf-8", "surrogatepass"))
        except UnicodeDecodeError:
            raise _malformed(offset, "a unicode string that is not UTF-8") from None
        return False
    return handler


HANDLERS[ord("X")] = _sized("unicode string", 4, text=True)
HANDLERS[0x8C] = _sized("unicode string", 1, text=True)
HANDLERS[0x8D] = _sized("unicode string", 8, text=True)
HANDLERS[ord("B")] = _sized("bytes", 4, text=False)
HANDLERS[ord("C")] = _sized("bytes", 1, text=False)
HANDLERS[0x8E] = _sized("bytes", 8, text=False)
HANDLERS[0x96] = _sized("bytearray", 8, text=False)


# -- containers ------------------------------------------------------------------------------

@_op(b"(")
def _mark(w: Walker, offset: int) -> bool:
    w.marks.append(len(w.stack))
    return False


@_op(b"t")
def _tuple(w: Walker, offset: int) -> bool:
    w.push(seq("tuple", w.pop_mark(offset)))
    return False


def _tuple_n(n: int) -> Handler:
    def handler(w: Walker, offset: int) -> bool:
        items = [w.pop(offset) for _ in range(n)][::-1]
        w.push(seq("tuple", items))
        return False
    return handler


HANDLERS[0x85], HANDLERS[0x86], HANDLERS[0x87] = _tuple_n(1), _tuple_n(2), _tuple_n(3)


@_op(b"l")
def _list(w: Walker, offset: int) -> bool:
    w.push(seq("list", w.pop_mark(offset)))
    return False


@_op(b"\x91")
def _frozenset(w: Walker, offset: int) -> bool:
    w.push(seq("frozenset", w.pop_mark(offset)))
    return False


def _pairs(items: list[Any], offset: int) -> list[tuple[Any, Any]]:
    if len(items) % 2:
        raise _malformed(offset, "a dict opcode with a key but no value")
    return list(zip(items[::2], items[1::2], strict=True))


@_op(b"d")
def _dict(w: Walker, offset: int) -> bool:
    map_ = Map([], 0)
    map_.update(_pairs(w.pop_mark(offset), offset))
    w.push(map_)
    return False


def _add_items(w: Walker, target: Any, values: list[Any], offset: int, opcode: str) -> None:
    if isinstance(target, Map):
        target.update(_pairs(values, offset))
    elif isinstance(target, Seq):
        target.extend(values)
    else:
        w.mutated(target, offset, opcode)


@_op(b"a")
def _append(w: Walker, offset: int) -> bool:
    value = w.pop(offset)
    _add_items(w, w.top(offset), [value], offset, "APPEND")
    return False


@_op(b"e")
def _appends(w: Walker, offset: int) -> bool:
    values = w.pop_mark(offset)
    _add_items(w, w.top(offset), values, offset, "APPENDS")
    return False


@_op(b"\x90")
def _additems(w: Walker, offset: int) -> bool:
    values = w.pop_mark(offset)
    _add_items(w, w.top(offset), values, offset, "ADDITEMS")
    return False


@_op(b"s")
def _setitem(w: Walker, offset: int) -> bool:
    value, key = w.pop(offset), w.pop(offset)
    _add_items(w, w.top(offset), [key, value], offset, "SETITEM")
    return False


@_op(b"u")
def _setitems(w: Walker, offset: int) -> bool:
    values = w.pop_mark(offset)
    _add_items(w, w.top(offset), values, offset, "SETITEMS")
    return False


# -- stack and memo --------------------------------------------------------------------------

@_op(b"0")
def _pop(w: Walker, offset: int) -> bool:
    if len(w.stack) > (w.marks[-1] if w.marks else 0):
        w.stack.pop()
    else:
        w.pop_mark(offset)
    return False


@_op(b"1")
def _pop_mark(w: Walker, offset: int) -> bool:
    w.pop_mark(offset)
    return False


@_op(b"2")
def _dup(w: Walker, offset: int) -> bool:
    w.push(w.top(offset))
    return False


@_op(b"p")
def _put(w: Walker, offset: int) -> bool:
    w.put(_decimal(w, offset), offset)
    return False


@_op(b"q")
def _binput(w: Walker, offset: int) -> bool:
    w.put(w.stream.read(1)[0], offset)
    return False


@_op(b"r")
def _long_binput(w: Walker, offset: int) -> bool:
    w.put(_uint(w, 4), offset)
    return False


@_op(b"\x94")
def _memoize(w: Walker, offset: int) -> bool:
    w.put(w.memo_count, offset)
    return False


@_op(b"g")
def _get(w: Walker, offset: int) -> bool:
    w.get(_decimal(w, offset), offset)
    return False


@_op(b"h")
def _binget(w: Walker, offset: int) -> bool:
    w.get(w.stream.read(1)[0], offset)
    return False


@_op(b"j")
def _long_binget(w: Walker, offset: int) -> bool:
    w.get(_uint(w, 4), offset)
    return False


# -- globals, calls, state -------------------------------------------------------------------

def _name_pair(w: Walker, offset: int) -> tuple[str, str]:
    try:
        return _line(w, offset).decode("utf-8"), _line(w, offset).decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed(offset, "a global name that is not UTF-8") from None


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
        raise _malformed(offset, "OBJ needs a class after its MARK")
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
        code = _int4(w) if width == 4 else _uint(w, width)
        w.finding(f"<extension code {code}>", offset, "medium",
                  f"EXT{width} names a global by its copyreg extension code {code}, which is only "
                  "defined in the loading process; the scan cannot tell what it imports")
        w.push(Opaque(f"extension code {code}"))
        return False
    return handler


HANDLERS[0x82], HANDLERS[0x83], HANDLERS[0x84] = _ext(1), _ext(2), _ext(4)


@_op(b"P")
def _persid(w: Walker, offset: int) -> bool:
    w.push(Opaque(f"persistent id {_line(w, offset)[:40]!r}"))
    return False


@_op(b"Q")
def _binpersid(w: Walker, offset: int) -> bool:
    w.push(Opaque(f"persistent id {describe(w.pop(offset), 60)}"))
    return False


# -- framing ---------------------------------------------------------------------------------

@_op(b"\x80")
def _proto(w: Walker, offset: int) -> bool:
    w.proto = _uint(w, 1)
    if w.proto > 5:
        raise _malformed(offset, f"unsupported pickle protocol {w.proto}")
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

