"""A pickle opcode's inline argument, read from the stream, and the registration of handlers.

Arguments follow their opcode in the stream (pickletools' argument descriptors): fixed-width
integers, newline-terminated text, and length-prefixed payloads. A payload longer than
``KEEP_TEXT`` is skipped and recorded as a :class:`Blob`: the scan keeps names, never data.

Two unpicklers read the pickles riskframe meets: CPython's C unpickler (``pickle.load``,
``torch.load``, ``numpy.load``) and the pure-Python ``pickle._Unpickler`` (joblib). They read a
few text arguments differently: the C one parses ``I`` and ``L`` lines with ``strtol``/
``PyLong_FromString`` in base 0 (``I010`` is 8 there, an error in Python) and stops a line at a
NUL byte. The walker follows both: a line is an error only when *both* refuse it (the stream is
then certainly not loaded past it), and a value they would read differently is opaque.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from riskframe.scanning._values import KEEP_TEXT, Blob, Opaque

if TYPE_CHECKING:
    from riskframe.scanning.pickle_ops import Walker

Handler = Callable[["Walker", int], bool]
_C_LONG = 1 << 63  # strtol's range on the 64-bit platforms CPython runs models on
_STRTOL = re.compile(rb"[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_C_FLOAT = re.compile(rb"\s*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)",
                      re.IGNORECASE)


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
    """Every unpickler raises here: nothing after ``offset`` is loaded."""
    # Imported late: pickle_ops imports the opcode table lazily, and this module is part of it.
    from riskframe.scanning.pickle_ops import Malformed

    return Malformed(offset, message)


def unfollowable(offset: int, message: str) -> Exception:
    """A loader may go on here, but the walker cannot tell what it reads next."""
    from riskframe.scanning.pickle_ops import Unfollowable

    return Unfollowable(offset, message)


def read_uint(w: Walker, n: int) -> int:
    return int.from_bytes(w.stream.read(n), "little")


def read_int4(w: Walker) -> int:
    return int.from_bytes(w.stream.read(4), "little", signed=True)


def read_line(w: Walker) -> tuple[bytes, int]:
    """The next line without its newline, cut to ``KEEP_TEXT`` bytes, and its full length.
    Both unpicklers refuse a line the data ends in (raises Truncated)."""
    return w.stream.read_line(KEEP_TEXT)


def importable(module: str) -> bool:
    """A dotted path of identifiers: a module ``import`` can find without a file planted under a
    name no package has. The walk of a file that does not claim to be a pickle ends at any other
    module name (text files start with letters that are pickle opcodes)."""
    return all(part.isidentifier() for part in module.split("."))


def c_string(text: bytes) -> bytes:
    """What the C unpickler's string functions see of a line: up to its first NUL."""
    return text.split(b"\0", 1)[0]


def memo_index(w: Walker, offset: int) -> int:
    """A PUT/GET index. Both unpicklers read it in base 10; the C one stops at a NUL, where the
    Python one raises, so the C reading is the one a loader may go on with."""
    text, length = read_line(w)
    if length > KEEP_TEXT:
        raise unfollowable(offset, f"a memo index of {length} bytes")
    try:
        return int(c_string(text), 10)
    except ValueError:
        raise malformed(offset, f"{text[:20]!r} is not a memo index") from None


def int_value(text: bytes, length: int) -> Any:
    """The value of an ``I`` line, opaque where the unpicklers disagree; ValueError when both refuse."""
    if length > KEEP_TEXT:
        return Opaque(f"an integer line of {length} bytes")
    python = _python_int(text)
    c = _c_int(text)
    if python is None and c is None:
        raise ValueError(text[:20])
    if python is not None and c is not None and type(python) is type(c) and python == c:
        return python
    return Opaque(f"the integer {text[:20]!r}, which the C and Python unpicklers read differently")


def long_value(text: bytes, length: int) -> Any:
    """The value of an ``L`` line (a trailing ``L`` is dropped), as :func:`int_value`."""
    if length > KEEP_TEXT:
        return Opaque(f"an integer line of {length} bytes")
    digits = text[:-1] if text.endswith(b"L") else text
    python, c = _int_or_none(digits), _int_or_none(c_string(digits))
    if python is None and c is None:
        raise ValueError(text[:20])
    return python if python == c and python is not None else Opaque(f"the integer {text[:20]!r}")


def float_accepted(text: bytes, length: int) -> Any:
    """The value of an ``F`` line (opaque unless Python reads it); ValueError when neither accepts it."""
    if length > KEEP_TEXT:
        return Opaque(f"a float line of {length} bytes")
    try:
        return float(text)
    except ValueError:
        pass
    # The C unpickler takes a float followed by the end of the C string (or overflows, which we
    # count as going on: the walker only ever stops where every loader does).
    match = _C_FLOAT.match(c_string(text))
    if match is not None and match.end() == len(c_string(text)):
        return Opaque(f"the float {text[:20]!r}")
    raise ValueError(text[:20])


def _python_int(text: bytes) -> int | None:
    # pickle._Unpickler.load_int: b"00" and b"01" are booleans, anything else int(data, 0).
    if text in (b"00", b"01"):
        return text == b"01"
    return _int_or_none(text)


def _int_or_none(text: bytes) -> int | None:
    try:
        return int(text, 0)
    except ValueError:
        return None


def _c_int(text: bytes) -> int | None:
    # _pickle.c load_int: strtol(s, &end, 0) must end at the newline or a NUL (and fit a long),
    # else PyLong_FromString(s, NULL, 0) on the C string; a 3-byte line holding 0 or 1 is a bool.
    s = c_string(text)
    value, end = _strtol(s)
    if end == len(s) and end and -_C_LONG <= value < _C_LONG:
        return bool(value) if len(text) == 2 and value in (0, 1) else value
    return _int_or_none(s)


def _strtol(s: bytes) -> tuple[int, int]:
    """C ``strtol(s, &end, 0)``: the value and where it stopped (0 when no digit was read)."""
    match = _STRTOL.match(s)
    if match is None:
        return 0, 0
    sign, digits = match.groups()
    base = 16 if digits[1:2] in (b"x", b"X") else 8 if digits[:1] == b"0" else 10
    value = int(digits[2:] if base == 16 else digits, base)
    return (-value if sign == b"-" else value), match.end()


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
