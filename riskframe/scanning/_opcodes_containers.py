"""Handlers of the opcodes that build containers and move things on the stack and in the memo.

Lists, tuples, dicts and sets become :class:`Seq` and :class:`Map` records; adding items to
anything else (an object a call returned) is reported by the walker as a mutation. The table is
assembled in :mod:`riskframe.scanning._opcodes`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from riskframe.scanning._opargs import Handler, malformed, memo_index, read_uint, registrar
from riskframe.scanning._values import Call, Map, Ref, Seq, appeared, seq

if TYPE_CHECKING:
    from riskframe.scanning.pickle_ops import Walker

CONTAINER_HANDLERS: dict[int, Handler] = {}
_op = registrar(CONTAINER_HANDLERS)


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


CONTAINER_HANDLERS[0x85], CONTAINER_HANDLERS[0x86], CONTAINER_HANDLERS[0x87] = _tuple_n(1), _tuple_n(2), _tuple_n(3)


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
        raise malformed(offset, "a dict opcode with a key but no value")
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
    elif isinstance(target, Call) and isinstance(target.func, Ref) and target.func.constructed_only:
        # the loader calls the object's own extend/append/__setitem__/add with values from the file
        w.finding(target.func.dotted, offset, "medium",
                  f"{opcode} on an object of {target.func.dotted} calls its methods, where it is admitted "
                  "only when rebuilt from its state")
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
    value = w.top(offset)
    appeared(value)
    w.push(value)
    return False


@_op(b"p")
def _put(w: Walker, offset: int) -> bool:
    w.put(memo_index(w, offset), offset)
    return False


@_op(b"q")
def _binput(w: Walker, offset: int) -> bool:
    w.put(_byte(w), offset)
    return False


def _byte(w: Walker) -> int:
    stream = w.stream
    pos = stream._pos
    if pos < len(stream._buf):
        stream._pos = pos + 1
        return stream._buf[pos]
    return stream.read(1)[0]


@_op(b"r")
def _long_binput(w: Walker, offset: int) -> bool:
    w.put(read_uint(w, 4), offset)
    return False


@_op(b"\x94")
def _memoize(w: Walker, offset: int) -> bool:
    w.put(w.memo_count, offset)
    return False


@_op(b"g")
def _get(w: Walker, offset: int) -> bool:
    w.get(memo_index(w, offset), offset)
    return False


@_op(b"h")
def _binget(w: Walker, offset: int) -> bool:
    w.get(_byte(w), offset)
    return False


@_op(b"j")
def _long_binget(w: Walker, offset: int) -> bool:
    w.get(read_uint(w, 4), offset)
    return False
