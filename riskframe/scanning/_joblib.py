"""joblib's array layout inside a pickle stream.

``joblib.dump`` pickles each numpy array as a ``joblib.numpy_pickle.NumpyArrayWrapper`` (class,
then BUILD with a state dict: ``subclass``, ``shape``, ``order``, ``dtype``, ``allow_mmap`` and,
since joblib 1.2, ``numpy_array_alignment_bytes``) and writes the array's bytes *into the file
right after that BUILD*; ``joblib.load`` reads them there, from the file itself:

- plain dtypes: one byte giving a padding length, that many padding bytes (when the wrapper has a
  ``numpy_array_alignment_bytes`` that is not None), then ``prod(shape) * itemsize`` raw bytes;
- dtypes holding Python objects: a nested pickle, read by a fresh pure-Python unpickler (no array
  layout there: a wrapper inside it is an ordinary object).

So the walker of a stream ``joblib.load`` reads must step over exactly the bytes joblib reads, and
reads the wrapper *as joblib will*: the attributes its BUILDs set (the last value of a repeated
key wins, as in a dict), every key known (an unknown one could shadow a method joblib calls on
the wrapper), every value a literal the scan holds in full, the dtype rebuilt by numpy
(:mod:`riskframe.scanning._dtypes`), no frame left unread (the pure-Python unpickler has buffered
it, so joblib would read the array after it) and no memoized object changed through the memo
before (the scan does not keep those). Anything else is :class:`Unfollowable`: a wrong guess
would misread the rest of the stream, so the file is never vouched for.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from riskframe.scanning._dtypes import DtypeUnknown, exact_dtype
from riskframe.scanning._values import Call, Map, Opaque, Ref, Seq

if TYPE_CHECKING:
    from riskframe.scanning.pickle_ops import Walker

WRAPPERS = frozenset({"joblib.numpy_pickle.NumpyArrayWrapper",
                      "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper"})
_KEYS = frozenset({"subclass", "shape", "order", "dtype", "allow_mmap", "numpy_array_alignment_bytes"})
_NESTED_DEPTH = 4  # object arrays inside object arrays inside ...
_INT64 = 1 << 63


class LayoutUnknown(Exception):
    """The wrapper's array layout cannot be read exactly as joblib will."""


def after_build(walker: Walker, target: Call, offset: int) -> None:
    """If ``target`` is a joblib array wrapper, step over (or walk) the array joblib reads after it."""
    if not (isinstance(target.func, Ref) and target.func.dotted in WRAPPERS):
        return
    walker.report.wrappers += 1
    if walker.mode != "joblib":
        return  # pickle.load, torch.load: the wrapper is an ordinary object, the next byte an opcode
    from riskframe.scanning.pickle_ops import Unfollowable

    stream = walker.stream
    try:
        if stream.offset < walker.frame_end:
            raise LayoutUnknown(f"it is built inside a frame, and joblib reads the array after the frame "
                                f"(byte {walker.frame_end})")
        if walker.memo_changed:
            raise LayoutUnknown("an object kept in the memo was changed through it earlier, which the scan "
                                "does not follow")
        count, itemsize, has_objects, aligned = array_layout(target.states)
    except LayoutUnknown as exc:
        raise Unfollowable(offset, f"joblib array wrapper whose layout cannot be read as joblib reads it "
                                   f"({exc}); the bytes joblib reads after it cannot be told apart from "
                                   "opcodes") from None
    walker.stack[-1] = Opaque("a numpy array joblib reads from the file")
    if has_objects:
        _walk_nested(walker, offset)
        return
    if aligned:
        stream.skip(stream.read(1, "joblib's padding length")[0], "joblib's alignment padding")
    stream.skip(count * itemsize, f"a joblib array of {count} items")


def _walk_nested(walker: Walker, offset: int) -> None:
    from riskframe.scanning.pickle_ops import Unfollowable, Walker

    if walker.nesting >= _NESTED_DEPTH:
        raise Unfollowable(offset, f"joblib object arrays nested more than {_NESTED_DEPTH} deep")
    nested = Walker(walker.stream, walker.allowlist, walker.report, walker.limits, walker.budget,
                    torchscript=walker.torchscript, mode="plain", persistent_ids=False,
                    nesting=walker.nesting + 1)
    nested.walk_one()


def array_layout(states: list[Any]) -> tuple[int, int, bool, bool]:
    """``(count, itemsize, holds objects, alignment byte present)`` from a wrapper's BUILD states."""
    attrs = wrapper_attributes(states)
    if "shape" not in attrs or "dtype" not in attrs:
        raise LayoutUnknown("its state lacks a shape or a dtype")
    shape = attrs["shape"]
    if not (isinstance(shape, Seq) and shape.kind in ("tuple", "list") and shape.exact
            and all(type(n) is int and 0 <= n < _INT64 for n in shape.items)):
        raise LayoutUnknown("its shape is not a tuple of sizes")
    count = math.prod(shape.items)
    if count >= _INT64:
        raise LayoutUnknown("its shape holds more items than joblib counts")
    try:
        dtype = exact_dtype(attrs["dtype"])
    except DtypeUnknown as exc:
        raise LayoutUnknown(f"its dtype: {exc}") from None
    alignment = attrs.get("numpy_array_alignment_bytes")
    if not (alignment is None or type(alignment) is int):
        raise LayoutUnknown("its alignment is not a number")
    mmap = attrs.get("allow_mmap", False)
    if type(mmap) is not bool or (mmap and dtype.hasobject) or type(attrs.get("order", "C")) is not str:
        raise LayoutUnknown("its allow_mmap or order is not what joblib writes")
    return count, dtype.itemsize, dtype.hasobject, alignment is not None


def wrapper_attributes(states: list[Any]) -> dict[str, Any]:
    """The attributes a wrapper has after its BUILDs: each state's pairs set in order."""
    attrs: dict[str, Any] = {}
    for state in states:
        if state is None:
            continue
        if not (isinstance(state, Map) and state.exact):
            raise LayoutUnknown("its state is not a dict the scan holds in full")
        for key, value in state.items:
            if type(key) is not str or key not in _KEYS:
                raise LayoutUnknown(f"its state sets {key!r}, which joblib does not write")
            attrs[key] = value
    return attrs
