"""A pickle opcode's inline argument, read from the stream, and the registration of handlers.

Arguments follow their opcode in the stream (pickletools' argument descriptors): fixed-width
integers, newline-terminated text, and length-prefixed payloads. A payload longer than
``KEEP_TEXT`` is skipped and recorded as a :class:`Blob`: the scan keeps names, never data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from riskframe.scanning._values import KEEP_TEXT, Blob

if TYPE_CHECKING:
    from riskframe.scanning.pickle_ops import Walker

Handler = Callable[["Walker", int], bool]


def registrar(table: dict[int, Handler]) -> Callable[[bytes], Callable[[Handler], Handler]]:
    """A decorator factory: ``@op(b"c")`` puts the handler in ``table`` under that opcode.

    Examples
    --------
    >>> table: dict[int, Handler] = {}
    >>> op = registrar(table)
    >>> @op(b".")
    ... def stop(w, offset):
    ...     return True
    >>> table[ord(".")] is stop
    True
    """
    def op(code: bytes) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if code[0] in table:  # two handlers for one opcode: the later would silently win
                raise ValueError(f"opcode 0x{code[0]:02x} already has a handler")
            table[code[0]] = handler
            return handler
        return register
    return op


def malformed(offset: int, message: str) -> Exception:
    # Imported late: pickle_ops imports the opcode table lazily, and this module is part of it.
    from riskframe.scanning.pickle_ops import Malformed

    return Malformed(offset, message)


def read_uint(w: Walker, n: int) -> int:
    return int.from_bytes(w.stream.read(n), "little")


def read_int4(w: Walker) -> int:
    return int.from_bytes(w.stream.read(4), "little", signed=True)


def read_line(w: Walker, offset: int) -> bytes:
    text, length = w.stream.read_line(KEEP_TEXT)
    if length > KEEP_TEXT:
        raise malformed(offset, f"a text argument of {length} bytes")
    return text


def read_decimal(w: Walker, offset: int) -> int:
    text = read_line(w, offset)
    try:
        return int(text.rstrip(b"L") or b"x")
    except ValueError:
        raise malformed(offset, f"{text[:20]!r} is not an integer") from None


def read_payload(w: Walker, n: int, kind: str, offset: int) -> bytes | Blob:
    if n < 0:
        raise malformed(offset, f"negative {kind} length {n}")
    if n > KEEP_TEXT:
        w.stream.skip(n, f"a {kind} of {n} bytes")
        return Blob(kind, n)
    return w.stream.read(n, f"a {kind} of {n} bytes")


def py2_string(data: bytes | Blob) -> str | bytes | Blob:
    # Python 3 decodes protocol-2 "str" as ASCII by default: a str operand is possible.
    if isinstance(data, Blob):
        return data
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        return data
