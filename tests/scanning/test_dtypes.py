"""Pickled numpy dtypes worked out exactly, without calling __setstate__ on a file's state."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest

from riskframe.scanning._dtypes import DtypeUnknown, exact_dtype
from riskframe.scanning._stream import ByteStream
from riskframe.scanning.allowlist import Allowlist
from riskframe.scanning.findings import ScanLimits
from riskframe.scanning.pickle_ops import walk_pickles


def symbolic(data: bytes):
    return walk_pickles(ByteStream(io.BytesIO(data)), Allowlist(), ScanLimits()).values[0]


DTYPES = [np.dtype(t) for t in ("f8", ">i4", "u1", "?", "c16", "O", "U7", "S3", "V5", "M8[ns]", "m8[3s]", "<M8")] + [
    np.dtype([("a", "<f8"), ("b", "O")]), np.dtype(("O", (2,))), np.dtype([("a", "i1"), ("b", "<f8")], align=True),
    np.dtype([("x", [("y", "u2"), ("z", ("f4", (2, 3)))])]),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("protocol", [2, 5])
def test_every_dtype_numpy_pickles_is_rebuilt_exactly(dtype, protocol):
    rebuilt = exact_dtype(symbolic(pickle.dumps(dtype, protocol=protocol)))

    assert rebuilt == dtype and (rebuilt.itemsize, rebuilt.hasobject) == (dtype.itemsize, dtype.hasobject)


def _forged(typestr: str, state: str) -> bytes:
    return f"cnumpy\ndtype\n(S'{typestr}'\nI00\nI01\ntR{state}b.".encode()


@pytest.mark.parametrize(("data", "why"), [
    # numpy believes the flags in the state: a byte type claiming to hold objects would make joblib
    # read a pickle where the scan read bytes, an object subarray with no flags the reverse
    (_forged("u1", "(I3\nS'|'\nNNNI-1\nI-1\nI63\nt"), "is not one numpy writes"),
    (_forged("V16", "(I3\nS'|'\n(cnumpy\ndtype\n(S'O8'\nI00\nI01\ntR(I3\nS'|'\nNNNI-1\nI-1\nI63\ntb(I2\nttNNI16\nI8\nI0\nt"),
     "is not one numpy writes"),
    (_forged("V16", "(I3\nS'|'\n(S'O'\n(I2\nttNNI16\nI8\nI63\nt"), "is not one numpy writes"),  # a string, not a dtype
    (b"cnumpy\ndtype\n(S'f8'\nI00\nI01\ntR.", None),
    # a field with a title is one tuple named twice through the memo, which the scan does not keep
    (pickle.dumps(np.dtype({"names": ["a"], "formats": ["u1"], "titles": ["T"]}), protocol=5), "opaque values"),
], ids=["flags-say-objects", "flags-hide-objects", "subarray-as-text", "no-state", "titled-field"])
def test_a_state_numpy_would_not_write_is_not_worked_out(data, why):
    value = symbolic(data)
    if why is None:
        assert exact_dtype(value) == np.dtype("f8")
        return

    with pytest.raises(DtypeUnknown, match=why):
        exact_dtype(value)


def test_numpy_itself_trusts_the_flags_which_is_why_the_scan_does_not():
    dtype = np.dtype("u1", False, True)
    dtype.__setstate__((3, "|", None, None, None, -1, -1, 63))

    assert dtype.hasobject
