"""joblib's layout: the bytes joblib.load reads as arrays are stepped over exactly, and a wrapper
the scan cannot read exactly as joblib does is never vouched for."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from devtools.scanning.asm import Asm
from devtools.scanning.hostile import _common, _shape, _wrapper
from riskframe.scanning import scan_file

ARRAYS = {
    "floats": np.linspace(0, 1, 50), "ints": np.arange(30, dtype=">i8"), "bools": np.array([True, False]),
    "structured": np.array([(1, 2.0)], dtype=[("a", "i2"), ("b", "<f8")]), "unicode": np.array(["x", "yz"]),
    "objects": np.array([{"a": 1}, None], dtype=object), "datetime": np.array(["2024-01-01"], dtype="M8[s]"),
    "fortran": np.asfortranarray(np.ones((3, 4))), "scalar": np.array(3.5), "empty": np.zeros((0, 5)),
    "complex": np.ones(3, dtype="c8"), "object-fields": np.array([(1, "a")], dtype=[("n", "i4"), ("o", "O")]),
}


@pytest.mark.parametrize("compress", [0, 3])
def test_every_kind_of_array_joblib_writes_is_read_exactly(tmp_path, compress):
    import joblib

    joblib.dump(ARRAYS, tmp_path / "arrays.joblib", compress=compress)

    scan = scan_file(tmp_path / "arrays.joblib")

    assert (scan.verdict, scan.findings) == ("safe", [])
    assert scan.format == ("joblib" if not compress else "joblib+zlib")


def test_a_wrapper_built_again_through_the_memo_reads_a_second_array(tmp_path):
    """joblib's memo holds the wrapper, not its array: BUILD on it again reads another array."""
    first = _wrapper(Asm(2), [*_common(), ("shape", _shape(2)), ("numpy_array_alignment_bytes", Asm.none)], memo=1)
    data = (first.raw(b"N0").raw(b"0h\x01").empty_dict().mark().text("shape").raw(b"K\x03\x85").raw(b"u")
            .build().raw(b"N0N").stop())
    (tmp_path / "twice.joblib").write_bytes(data)

    scan = scan_file(tmp_path / "twice.joblib")
    assert (scan.verdict, scan.findings) == ("safe", [])
    code = f"import joblib; print(joblib.load({str(tmp_path / 'twice.joblib')!r}).tolist())"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert loaded.stdout.strip() == "[78, 48, 78]"  # b"N0N": the second array, read where the scan stepped over it


def test_a_wrapper_made_by_anything_but_newobj_is_a_finding(tmp_path):
    # copyreg.__newobj__ makes the same object: joblib reads its array, a walk that missed it would not
    made = (Asm(2).global_("copyreg", "__newobj__").global_("joblib.numpy_pickle", "NumpyArrayWrapper").tuple(1)
            .reduce().empty_dict().build().stop())
    (tmp_path / "m.joblib").write_bytes(made)

    reasons = {f.global_: f.reason for f in scan_file(tmp_path / "m.joblib").findings}

    assert "admitted only when an object of it is rebuilt" in reasons["joblib.numpy_pickle.NumpyArrayWrapper"]


def test_a_memoized_object_changed_through_the_memo_before_an_array_is_not_followed(tmp_path):
    state = [*_common(), ("shape", _shape(1)), ("numpy_array_alignment_bytes", Asm.none)]
    data = (Asm(2).empty_dict().binput(9).pop().binget(9).text("shape").raw(b"K\x05\x85").setitem().pop())
    (tmp_path / "m.joblib").write_bytes(_wrapper(data, state).raw(b"N").stop())

    (finding,) = scan_file(tmp_path / "m.joblib").findings

    assert "an object kept in the memo was changed through it earlier" in finding.reason


def test_object_arrays_spend_the_same_opcode_budget_as_the_pickle_around_them(tmp_path):
    import joblib

    from riskframe.scanning import ScanLimits

    joblib.dump([np.array([[i] * 300 for i in range(3)], dtype=object) for _ in range(40)], tmp_path / "o.joblib")

    assert scan_file(tmp_path / "o.joblib").verdict == "safe"
    (finding,) = scan_file(tmp_path / "o.joblib", limits=ScanLimits(max_opcodes=20_000)).findings
    assert finding.reason.startswith("scan limit reached (more than 20000 opcodes walked one by one")
