"""Handlers of the opcodes that push a value: constants, numbers, strings and bytes.

Each reads its argument (:mod:`riskframe.scanning._opargs`) and pushes the value the unpickler
would; payloads too long to keep are pushed as :class:`Blob` records, very long integers as
:class:`Opaque`. The table is assembled in :mod:`riskframe.scanning._opcodes`.
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from riskframe.scanning._opargs import (
    Handler,
    float_accepted,
    int_value,
    long_value,
    malformed,
    py2_string,
    read_int4,
    read_line,
    read_payload,
    read_uint,
    registrar,
)
from riskframe.scanning._values import KEEP_TEXT, Blob, Map, Opaque, Seq

if TYPE_CHECKING:
    from riskframe.scanning.pickle_ops import Walker

VALUE_HANDLERS: dict[int, Handler] = {}
_op = registrar(VALUE_HANDLERS)
_LONG_KEEP = 64  # bytes of a LONG1/LONG4 kept as a number; longer ones are opaque


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

VALUE_HANDLERS[ord("N")] = _push(None)
VALUE_HANDLERS[0x88] = _push(True)
VALUE_HANDLERS[0x89] = _push(False)
VALUE_HANDLERS[ord("]")] = _push_new(lambda: Seq("list", [], 0))
VALUE_HANDLERS[ord(")")] = _push_new(lambda: Seq("tuple", [], 0))
VALUE_HANDLERS[ord("}")] = _push_new(lambda: Map([], 0))
VALUE_HANDLERS[0x8F] = _push_new(lambda: Seq("set", [], 0))


@_op(b"I")
def _int(w: Walker, offset: int) -> bool:
    text, length = read_line(w)
    try:
        w.push(int_value(text, length))
    except ValueError:
        raise malformed(offset, f"{text[:20]!r} is not an integer") from None
    return False


@_op(b"L")
def _long(w: Walker, offset: int) -> bool:
    text, length = read_line(w)
    try:
        w.push(long_value(text, length))
    except ValueError:
        raise malformed(offset, f"{text[:20]!r} is not an integer") from None
    return False


@_op(b"F")
def _float(w: Walker, offset: int) -> bool:
    text, length = read_line(w)
    try:
        w.push(float_accepted(text, length))
    except ValueError:
        raise malformed(offset, f"{text[:20]!r} is not a float") from None
    return False


@_op(b"J")
def _binint(w: Walker, offset: int) -> bool:
    w.push(read_int4(w))
    return False


@_op(b"K")
def _binint1(w: Walker, offset: int) -> bool:
    stream = w.stream
    pos = stream._pos
    if pos < len(stream._buf):
        stream._pos = pos + 1
        w.stack.append(stream._buf[pos])
    else:
        w.stack.append(stream.read(1)[0])
    return False


@_op(b"M")
def _binint2(w: Walker, offset: int) -> bool:
    w.push(read_uint(w, 2))
    return False


def _long_n(w: Walker, offset: int, n: int) -> None:
    data = read_payload(w, n, "long", offset) if n <= _LONG_KEEP else None
    if data is None:
        w.stream.skip(n, f"a long of {n} bytes")
        w.push(Opaque(f"an integer of {n} bytes"))
    else:
        w.push(int.from_bytes(data, "little", signed=True))  # type: ignore[arg-type]


@_op(b"\x8a")
def _long1(w: Walker, offset: int) -> bool:
    _long_n(w, offset, read_uint(w, 1))
    return False


@_op(b"\x8b")
def _long4(w: Walker, offset: int) -> bool:
    n = read_int4(w)
    if n < 0:
        raise malformed(offset, f"negative long length {n}")
    _long_n(w, offset, n)
    return False


@_op(b"G")
def _binfloat(w: Walker, offset: int) -> bool:
    stream = w.stream
    pos = stream._pos
    if pos + 8 <= len(stream._buf):
        stream._pos = pos + 8
        w.stack.append(struct.unpack_from(">d", stream._buf, pos)[0])
    else:
        w.stack.append(struct.unpack(">d", stream.read(8))[0])
    return False


@_op(b"S")
def _string(w: Walker, offset: int) -> bool:
    text, length = read_line(w)
    if length > KEEP_TEXT:  # a long protocol-0 string: data, and neither of its ends was kept
        w.push(Blob("string", length))
        return False
    if len(text) < 2 or text[0] != text[-1] or text[:1] not in (b"'", b'"'):
        raise malformed(offset, "the STRING opcode argument must be quoted")
    try:
        w.push(py2_string(codecs.escape_decode(text[1:-1])[0]))
    except ValueError:
        raise malformed(offset, "a STRING with a bad escape") from None
    return False


@_op(b"T")
def _binstring(w: Walker, offset: int) -> bool:
    # Unsigned: the C unpickler reads 2**31 and more as a length where the Python one raises.
    w.push(py2_string(read_payload(w, read_uint(w, 4), "string", offset)))
    return False


@_op(b"U")
def _short_binstring(w: Walker, offset: int) -> bool:
    w.push(py2_string(read_payload(w, read_uint(w, 1), "string", offset)))
    return False


@_op(b"V")
def _unicode(w: Walker, offset: int) -> bool:
    text, length = read_line(w)
    if length > KEEP_TEXT:
        w.push(Blob("unicode string", length))
        return False
    try:
        w.push(text.decode("raw-unicode-escape"))
    except UnicodeDecodeError:
        raise malformed(offset, "a UNICODE argument with a bad escape") from None
    return False


def _sized(kind: str, width: int, *, text: bool) -> Handler:
    def handler(w: Walker, offset: int) -> bool:
        stream = w.stream
        buf, pos = stream._buf, stream._pos
        end = pos + width
        if end <= len(buf):  # the common case, read from the buffer (these opcodes are a third of a pickle)
            n = int.from_bytes(buf[pos:end], "little")
            if n <= KEEP_TEXT and end + n <= len(buf):
                stream._pos = end + n
                if not text:
                    w.stack.append(buf[end:end + n])
                    return False
                try:
                    w.stack.append(buf[end:end + n].decode("utf-8", "surrogatepass"))
                except UnicodeDecodeError:
                    raise malformed(offset, "a unicode string that is not UTF-8") from None
                return False
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
            raise malformed(offset, "a unicode string that is not UTF-8") from None
        return False
    return handler


VALUE_HANDLERS[ord("X")] = _sized("unicode string", 4, text=True)
VALUE_HANDLERS[0x8C] = _sized("unicode string", 1, text=True)
VALUE_HANDLERS[0x8D] = _sized("unicode string", 8, text=True)
VALUE_HANDLERS[ord("B")] = _sized("bytes", 4, text=False)
VALUE_HANDLERS[ord("C")] = _sized("bytes", 1, text=False)
VALUE_HANDLERS[0x8E] = _sized("bytes", 8, text=False)
VALUE_HANDLERS[0x96] = _sized("bytearray", 8, text=False)
