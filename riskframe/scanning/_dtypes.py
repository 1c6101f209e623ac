"""A numpy dtype as a pickle rebuilds it, worked out without running the pickle.

A pickled dtype is ``numpy.dtype(typestr, align, copy)`` followed by ``BUILD`` with its state
``(version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])``;
``dtype.__setstate__`` then sets all of it, and the dtype's item size and whether it holds Python
objects follow from the result (an object dtype can hide in a subarray or a structured field, and
the ``flags`` in the state are not what numpy goes by).

The scan never calls ``__setstate__`` on state from a file. It builds, with numpy and from the
literal values alone, the dtype the state describes (a plain type with its byte order, a subarray,
a structured dtype, a datetime unit) and accepts it only if numpy pickles *that* dtype to exactly
the same arguments and state: numpy's own round trip then guarantees the loader gets the same
dtype. Any other state is :class:`DtypeUnknown`.

>>> import numpy as np
>>> from riskframe.scanning._values import Call, Ref, Seq
>>> call = Call(Ref("numpy", "dtype", 0, "GLOBAL"), Seq("tuple", ["V16", False, True], 3), "REDUCE", 0)
>>> call.states = [Seq("tuple", [3, "|", Seq("tuple", [Call(Ref("numpy", "dtype", 0, "GLOBAL"),
...     Seq("tuple", ["O8", False, True], 3), "REDUCE", 0), Seq("tuple", [2], 1)], 2), None, None,
...     16, 8, 63], 8)]
>>> exact_dtype(call).hasobject
True
"""

from __future__ import annotations

from typing import Any

from riskframe.scanning._values import Blob, Call, Map, Opaque, Ref, Seq, describe

_DEPTH = 8  # dtypes nested in dtypes
_ENCODE = frozenset({"_codecs.encode", "codecs.encode"})
_ALIGNED_STRUCT = 0x80  # NPY_ALIGNED_STRUCT in the state's flags


class DtypeUnknown(Exception):
    """The dtype cannot be worked out exactly from what the stream holds."""


def exact_dtype(value: Any, depth: int = 0) -> Any:
    """The ``numpy.dtype`` a pickled ``numpy.dtype(...)`` call with its BUILD state rebuilds."""
    import numpy as np

    if depth > _DEPTH:
        raise DtypeUnknown("dtypes nested too deep")
    if not (isinstance(value, Call) and isinstance(value.func, Ref) and value.func.dotted == "numpy.dtype"
            and value.opcode == "REDUCE" and len(value.states) <= 1):
        raise DtypeUnknown("it is not one numpy.dtype(...) call with at most one state")
    args = literal(value.args, depth)
    if not (isinstance(args, tuple) and 1 <= len(args) <= 3 and isinstance(args[0], str)
            and all(type(flag) in (bool, int) for flag in args[1:])):
        raise DtypeUnknown(f"numpy.dtype is called with {args!r}")
    state = literal(value.states[0], depth) if value.states else None
    try:
        dtype = np.dtype(*args) if state is None else _described(np, args, state)
        ok = state is None or _same(_round_trip(dtype), (args, state))
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        raise DtypeUnknown(f"numpy cannot build {args!r} with state {state!r}: {exc}") from None
    if not ok:
        raise DtypeUnknown(f"the state {state!r} is not one numpy writes for {args!r}")
    return dtype


def _described(np: Any, args: tuple[Any, ...], state: Any) -> Any:
    """The dtype the state describes, built from its literal parts (checked by the round trip)."""
    if not (isinstance(state, tuple) and len(state) in (8, 9)):
        raise ValueError("a dtype state has 8 or 9 items")
    _, byteorder, subarray, names, fields, elsize, _, flags = state[:8]
    if subarray is not None:
        base, shape = subarray
        return np.dtype((base, shape))
    if names is not None:
        spec = {"names": list(names), "formats": [fields[n][0] for n in names],
                "offsets": [fields[n][1] for n in names], "itemsize": elsize}
        if any(len(fields[n]) > 2 for n in names):
            spec["titles"] = [fields[n][2] if len(fields[n]) > 2 else None for n in names]
        return np.dtype(spec, align=bool(flags & _ALIGNED_STRUCT))
    typestr = args[0]
    if len(state) == 9 and isinstance(state[8], tuple) and len(state[8]) == 2 and typestr in ("M8", "m8"):
        unit, count = state[8][1][:2]  # datetime metadata: (unit, count, ...)
        typestr = f"{typestr}[{count if count != 1 else ''}{unit.decode('ascii')}]"
    if typestr[:1] in "SUV" and typestr[1:] in ("", "0") and elsize > 0:
        typestr = f"{typestr[0]}{elsize // 4 if typestr[0] == 'U' else elsize}"
    dtype = np.dtype(typestr)
    return dtype.newbyteorder(byteorder) if byteorder in "<>" else dtype


def _round_trip(dtype: Any) -> tuple[Any, Any]:
    _, args, state = dtype.__reduce__()
    return args, state


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (a dtype compares equal to a type string)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if hasattr(a, "__reduce__") and type(a).__module__.startswith("numpy"):
        return bool(a == b) and _same(_round_trip(a), _round_trip(b))
    return bool(a == b)


def literal(value: Any, depth: int) -> Any:
    """A symbolic value as the plain Python value it stands for (dtypes rebuilt); DtypeUnknown for
    anything the stream does not hold in full as a literal."""
    if value is None or type(value) in (bool, int, float, str, bytes):
        return value
    if isinstance(value, Seq) and value.exact and value.kind in ("tuple", "list"):
        items = [literal(item, depth) for item in value.items]
        return tuple(items) if value.kind == "tuple" else items
    if isinstance(value, Map) and value.exact:
        pairs = [(literal(k, depth), literal(v, depth)) for k, v in value.items]
        if any(type(k) is not str for k, _ in pairs):
            raise DtypeUnknown("a dict with keys that are not strings")
        return dict(pairs)
    if isinstance(value, Call) and isinstance(value.func, Ref) and value.func.dotted in _ENCODE:
        text, encoding = literal(value.args, depth)  # protocols 0-2 write bytes as _codecs.encode(text, 'latin1')
        if isinstance(text, str) and encoding in ("latin1", "latin-1"):
            return text.encode("latin-1")
        raise DtypeUnknown(f"bytes written as {describe(value, 60)}")
    if isinstance(value, Call):
        return exact_dtype(value, depth + 1)
    if isinstance(value, (Blob, Opaque, Ref)):
        raise DtypeUnknown(f"it holds {type(value).__name__.lower()} values the scan does not know")
    raise DtypeUnknown(f"it holds {value!r}")
