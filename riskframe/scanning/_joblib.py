"""joblib's array layout inside a pickle stream.

``joblib.dump`` pickles each numpy array as a ``joblib.numpy_pickle.NumpyArrayWrapper`` (class,
then BUILD with a state dict: ``shape``, ``dtype``, ``order``, ``allow_mmap`` and, since joblib
1.2, ``numpy_array_alignment_bytes``) and writes the array's bytes *into the pickle stream right
after that BUILD*; ``joblib.load`` reads them there. So the walker must step over them:

- plain dtypes: one byte giving a padding length, that many padding bytes (when the state has
  ``numpy_array_alignment_bytes``), then ``prod(shape) * itemsize`` raw bytes;
- dtypes holding Python objects: a nested pickle (protocol 5), walked like any other, since
  joblib unpickles it with the same machinery.

The dtype comes from the symbolic ``numpy.dtype(typestr, ...)`` call and its BUILD state
``(version, byteorder, subarray, names, fields, elsize, alignment, flags, ...)``: ``elsize`` is
the item size when positive, else the digits of ``typestr`` (``f8``); bit 0 of ``flags`` is
numpy's "holds objects" flag. A wrapper whose layout cannot be worked out stops the walk with a
finding rather than guessing, because a wrong guess would misread the rest of the stream.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from riskframe.scanning._values import Call, Map, Ref, Seq

if TYPE_CHECKING:
    from riskframe.scanning.pickle_ops import Walker

WRAPPERS = frozenset({"joblib.numpy_pickle.NumpyArrayWrapper",
                      "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper"})
_TYPESTR = re.compile(r"^[bBiuUfcmMOSVa?]([0-9]+)$")
_HASOBJECT = 0x01  # NPY_ITEM_REFCOUNT: the dtype holds Python object references
_NESTED_DEPTH = 4  # object arrays inside object arrays inside ...


class LayoutUnknown(Exception):
    """The wrapper's array size cannot be worked out from its state."""


def after_build(walker: Walker, target: Call, offset: int) -> None:
    """If ``target`` is a joblib array wrapper, step over (or walk) the array that follows it."""
    if not (isinstance(target.func, Ref) and target.func.dotted in WRAPPERS):
        return
    from riskframe.scanning.pickle_ops import Malformed

    try:
        count, itemsize, has_objects, aligned = array_layout(target.state)
    except LayoutUnknown as exc:
        raise Malformed(offset, f"joblib array wrapper whose layout cannot be read ({exc}); "
                                "the array bytes that follow cannot be stepped over") from None
    stream = walker.stream
    if has_objects:
        _walk_nested(walker, offset)
        return
    if aligned:
        stream.skip(stream.read(1, "joblib's padding length")[0], "joblib's alignment padding")
    stream.skip(count * itemsize, f"a joblib array of {count} items")


def _walk_nested(walker: Walker, offset: int) -> None:
    from riskframe.scanning.pickle_ops import Malformed, Walker

    if walker.nesting >= _NESTED_DEPTH:
        raise Malformed(offset, f"joblib object arrays nested more than {_NESTED_DEPTH} deep")
    nested = Walker(walker.stream, walker.allowlist, walker.report, walker.limits,
                    torchscript=walker.torchscript, nesting=walker.nesting + 1)
    nested.walk_one()


def array_layout(state: Any) -> tuple[int, int, bool, bool]:
    """``(count, itemsize, holds objects, alignment byte present)`` from a wrapper's state."""
    if not isinstance(state, Map):
        raise LayoutUnknown("its state is not a dict")
    shape = state.get("shape")
    if not (isinstance(shape, Seq) and shape.length == len(shape.items)
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape.items)):
        raise LayoutUnknown(f"shape {shape!r} is not a tuple of sizes")
    itemsize, has_objects = dtype_layout(state.get("dtype"))
    aligned = any(k == "numpy_array_alignment_bytes" and v is not None for k, v in state.items)
    return math.prod(shape.items), itemsize, has_objects, aligned


def dtype_layout(dtype: Any) -> tuple[int, bool]:
    """``(itemsize, holds objects)`` of a symbolic ``numpy.dtype(...)`` call with its state."""
    if not (isinstance(dtype, Call) and isinstance(dtype.func, Ref) and dtype.func.dotted == "numpy.dtype"
            and isinstance(dtype.args, Seq) and dtype.args.items and isinstance(dtype.args.items[0], str)):
        raise LayoutUnknown("its dtype is not a numpy.dtype(...) call")
    typestr = dtype.args.items[0]
    state = dtype.state.items if isinstance(dtype.state, Seq) else []
    flags = state[7] if len(state) > 7 and isinstance(state[7], int) else 0
    elsize = state[5] if len(state) > 5 and isinstance(state[5], int) else -1
    has_objects = typestr.startswith("O") or bool(flags & _HASOBJECT)
    if elsize > 0:
        return elsize, has_objects
    match = _TYPESTR.match(typestr)
    if match is None:
        raise LayoutUnknown(f"dtype {typestr!r} has no item size")
    return int(match.group(1)), has_objects
