"""The pickle walker: every protocol, the memo, several pickles, evasions and broken streams."""

from __future__ import annotations

import collections
import io
import os
import pickle
import pickletools
import struct
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devtools.scanning.asm import Asm
from riskframe.scanning import pickle_ops, scan_file
from riskframe.scanning._stream import ByteStream
from riskframe.scanning.allowlist import Allowlist
from riskframe.scanning.findings import ScanLimits
from riskframe.scanning.pickle_ops import StreamReport, walk_pickles


class Call:
    """Pickles as ``func(*args)``; only ever dumped here."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def walk(data: bytes, **kwargs) -> StreamReport:
    return walk_pickles(ByteStream(io.BytesIO(data)), Allowlist(), kwargs.pop("limits", ScanLimits()), **kwargs)


def found(report: StreamReport) -> set[tuple[str | None, str]]:
    return {(f.global_, f.severity) for f in report.findings}


@pytest.mark.parametrize("protocol", range(6))
def test_benign_values_are_clean_in_every_protocol(protocol):
    value = {"weights": np.arange(6.0).reshape(2, 3), "names": ["a", "b"], "od": collections.OrderedDict(a=1),
             "scalar": np.float32(0.5), "raw": b"\x00\x01", "nested": ({1, 2}, frozenset({3}), 2**70, None)}

    report = walk(pickle.dumps(value, protocol=protocol))

    assert (report.pickles, report.findings, report.complete) == (1, [], True)
    assert "numpy.dtype" in report.globals


@pytest.mark.parametrize("protocol", range(6))
def test_a_gadget_is_found_in_every_protocol_with_offset_and_call(protocol):
    data = pickle.dumps(Call(os.system, "touch /tmp/x"), protocol=protocol)

    (finding,) = walk(data).findings

    assert (finding.global_, finding.severity) == ("posix.system", "critical")
    assert data[finding.offset:finding.offset + 1] in (b"c", b"\x93")  # GLOBAL or STACK_GLOBAL
    assert "called by REDUCE" in finding.reason and "'touch /tmp/x'" in finding.reason


def test_stack_global_operands_routed_through_the_memo_are_followed():
    data = (Asm(4).text("subprocess").binput(7).pop().text("check_output").memoize().pop()
            .binget(7).long_binget(1).raw(b"\x93").stop())
    assert [op.name for op, _, _ in pickletools.genops(data)].count("STACK_GLOBAL") == 1

    assert found(walk(data)) == {("subprocess.check_output", "critical")}


def test_a_global_reused_through_the_memo_keeps_its_call_context():
    data = pickle.dumps([Call(eval, "1"), Call(eval, "2")], protocol=4)

    (finding,) = walk(data).findings

    assert finding.global_ == "builtins.eval"
    assert "with ('1',)" in finding.reason and "with ('2',)" in finding.reason


def test_computed_stack_global_operands_are_suspicious_in_themselves():
    data = Asm(4).global_("builtins", "str").text("o").tuple(1).reduce().text("system").raw(b"\x93").stop()

    assert found(walk(data)) == {("builtins.str('o',).system", "high")}


def test_an_operand_too_long_to_be_a_name_is_suspicious():
    data = Asm(4).text("os").text("x" * 5000).raw(b"\x93").stop()

    (finding,) = walk(data).findings

    assert finding.severity == "high" and "<unicode string of 5000 bytes>" in finding.global_


@pytest.mark.parametrize(("data", "expected"), [
    (Asm(0).mark().text("id").inst("os", "system").stop(), {("os.system", "critical")}),
    (Asm(2).mark().global_("os", "system").text("id").raw(b"o").stop(), {("os.system", "critical")}),
    (Asm(2).global_("__builtin__", "eval").stop(), {("builtins.eval", "critical")}),  # Python 2 names
    (Asm(4).stack_global("torch.serialization", "os.system").stop(), {("torch.serialization.os.system", "critical")}),
    (Asm(4).stack_global("collections", "OrderedDict.__init__.__globals__").stop(),
     {("collections.OrderedDict.__init__.__globals__", "critical")}),
    (Asm(2).global_("mypackage.models", "Net").stop(), {("mypackage.models.Net", "medium")}),
    (Asm(2).global_("builtins", "setattr").stop(), {("builtins.setattr", "critical")}),
    (Asm(2).global_("builtins", "memoryview").stop(), {("builtins.memoryview", "high")}),
    (Asm(2).global_("functools", "partial").stop(), {("functools.partial", "high")}),
], ids=["INST", "OBJ", "py2-name", "attribute-chain", "dunder-chain", "unknown-class", "setattr",
        "other-builtin", "partial"])
def test_globals_are_judged_however_they_are_named(data, expected):
    assert found(walk(data)) == expected


def test_extension_codes_and_calls_of_computed_values_are_findings():
    data = Asm(2).ext2(513).text("x").tuple(1).reduce().stop()

    assert found(walk(data)) == {("<extension code 513>", "medium"), (None, "high")}


def test_build_or_setitem_on_a_global_itself_is_tampering():
    data = Asm(2).global_("collections", "OrderedDict").empty_dict().build().stop()

    (finding,) = walk(data).findings

    assert (finding.global_, finding.severity) == ("collections.OrderedDict", "high")
    assert finding.reason.startswith("BUILD changes the global collections.OrderedDict itself")


def test_several_pickles_in_one_stream_are_each_walked():
    data = pickle.dumps([1.0]) + pickle.dumps({"a": 2}, protocol=0) + pickle.dumps(Call(exec, "0"), protocol=2)

    report = walk(data)

    assert report.pickles == 3 and report.complete
    assert found(report) == {("builtins.exec", "critical")}


def test_a_truncated_pickle_is_a_medium_finding_at_the_cut():
    data = pickle.dumps(Call(os.system, "id"), protocol=2)
    cut = data.index(b"id") + 1

    report = walk(data[:cut])

    assert found(report) == {("posix.system", "critical"), (None, "medium")}
    structural = next(f for f in report.findings if f.global_ is None)
    assert structural.offset == cut and structural.reason.startswith("truncated pickle: the data ends at byte")


@pytest.mark.parametrize(("data", "message"), [
    (b"\x80\x04\xff.", "malformed pickle: unknown opcode 0xff"),
    (b"\x80\x04R.", "malformed pickle: stack underflow"),
    (b"\x80\x04h\x05.", "malformed pickle: memo index 5 is read before it is written"),
    (b"\x80\x04t.", "malformed pickle: an opcode needs a MARK but none is on the stack"),
    (b"\x80\x07N.", "malformed pickle: unsupported pickle protocol 7"),
    (b"\x80\x02}(K\x01u.", "malformed pickle: a dict opcode with a key but no value"),
    (b"Iabc\n.", "malformed pickle: b'abc' is not an integer"),
])
def test_broken_streams_name_what_is_wrong(data, message):
    (finding,) = walk(data).findings

    assert finding.severity == "medium" and finding.reason.startswith(message)


def test_bytes_after_a_complete_pickle_are_a_low_finding():
    data = pickle.dumps([1, 2]) + b"\x00trailing garbage"

    report = walk(data)

    assert report.pickles == 1
    assert [(f.severity, f.offset) for f in report.findings] == [("low", len(pickle.dumps([1, 2])))]


def test_joblib_object_arrays_are_walked_as_nested_pickles(tmp_path):
    import joblib

    path = tmp_path / "m.joblib"
    joblib.dump({"w": np.ones(100), "objs": np.array([Call(os.system, "id"), "x"], dtype=object)}, path)

    report = walk(path.read_bytes(), mode="joblib")

    assert found(report) == {("posix.system", "critical")} and report.complete and report.wrappers == 2


def test_the_stack_limit_stops_a_runaway_stream():
    data = b"\x80\x04" + b"N" * 1000 + b"."

    (finding,) = walk(data, limits=ScanLimits(max_stack=100)).findings

    assert finding.reason.startswith("scan limit reached (more than 100 stack entries)")


def test_module_names_fetched_from_the_memo_resolve_past_the_memo_text_limit(monkeypatch):
    monkeypatch.setattr(pickle_ops, "kept_texts", lambda: 1_000)
    names = [f"key_{i}" for i in range(5_000)]  # names are kept (possible operands), up to the limit
    # numpy.dtype comes after the limit; "numpy" is written once and fetched from the memo later
    data = pickle.dumps({"keys": names, "model": collections.OrderedDict(a=np.ones(2))}, protocol=4)
    assert {"BINGET", "LONG_BINGET"} & {op.name for op, _, _ in pickletools.genops(data)}

    report = walk(data)

    assert report.findings == [] and report.complete


def test_an_operand_dropped_past_the_memo_limit_fails_closed(monkeypatch):
    monkeypatch.setattr(pickle_ops, "kept_texts", lambda: 2)
    asm = Asm(4).text("a_").memoize().pop().text("b_").memoize().pop()
    asm.text("os").memoize().pop().text("system").memoize().pop()
    for i in range(20):  # push the dropped operands out of the recent-strings window
        asm.text(f"filler_{i}").memoize().pop()
    data = asm.binget(2).binget(3).raw(b"\x93").stop()

    (finding,) = walk(data).findings

    assert finding.severity == "high" and finding.reason.startswith("STACK_GLOBAL operands are not plain strings")


def test_an_operand_fetched_right_after_the_memo_limit_still_resolves(monkeypatch):
    monkeypatch.setattr(pickle_ops, "kept_texts", lambda: 0)
    data = Asm(4).text("os").memoize().pop().text("system").memoize().pop().binget(0).binget(1).raw(b"\x93").stop()

    assert found(walk(data)) == {("os.system", "critical")}


# Property tests -------------------------------------------------------------------------------

_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
                  st.binary(max_size=20))
_values = st.recursive(_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.tuples(inner, inner), st.dictionaries(st.text(max_size=5), inner, max_size=5),
    st.frozensets(st.integers(), max_size=4)), max_leaves=30)


@settings(max_examples=150, deadline=None)
@given(value=_values, protocol=st.integers(0, 5))
def test_any_builtin_value_walks_clean_in_any_protocol(value, protocol):
    report = walk(pickle.dumps(value, protocol=protocol))

    assert (report.pickles, report.findings, report.complete) == (1, [], True)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_walker(data):
    report = walk(data)

    assert all(f.severity in ("low", "medium", "high", "critical") for f in report.findings)


@settings(max_examples=150, deadline=None)
@given(value=_values, cut=st.integers(0, 400), protocol=st.integers(0, 5))
def test_a_cut_off_pickle_is_never_passed_as_clean(value, cut, protocol):
    data = pickle.dumps(value, protocol=protocol)
    cut = min(cut, len(data) - 1)

    report = walk(data[:cut])

    assert report.pickles == 0 and report.findings


# Reading as the loaders read ---------------------------------------------------------------------

def unclaimed(data: bytes) -> StreamReport:
    """A stream that does not say it is a pickle, as pickle.load of a file reads it."""
    return walk(data, claimed=False, persistent_ids=False)


SYSTEM = Asm(0).call("os", "system", "id").stop()


@pytest.mark.parametrize("line", [b"I010\n", b"I0x10\n", b"I 12\n", b"I12\x00junk\n", b"I1_000\n", b"L0x1fL\n",
                                  b"F1e999\n", b"F1.5\x00x\n"])
def test_a_number_line_either_unpickler_accepts_never_ends_the_walk(line):
    # the C unpickler reads I lines with strtol in base 0 and stops C strings at a NUL
    report = unclaimed(line + b"0" + SYSTEM)

    assert found(report) == {("os.system", "critical")}


@pytest.mark.parametrize("line", [b"Iabc\n", b"I08\n", b"I10 apples\n", b"Fnope\n", b"L12x\n"])
def test_a_number_line_both_unpicklers_refuse_ends_the_walk_silently(line):
    report = unclaimed(line + b"0" + SYSTEM)

    assert (report.pickles, report.findings) == (0, [])


def test_a_memo_index_cut_at_a_nul_is_the_c_unpicklers_reading():
    data = Asm(0).text("os").raw(b"p7\n0").text("system").raw(b"p8\x00junk\n0g7\ng8\x00more\n\x93").stop()

    assert found(walk(data)) == {("os.system", "critical")}


def test_binstring_lengths_are_unsigned_as_the_c_unpickler_reads_them():
    (finding,) = walk(b"\x80\x02T\x00\x00\x00\x80xx.").findings

    assert finding.reason.startswith("truncated pickle: the data ends")  # not "negative length"


def test_persistent_ids_end_a_walk_unless_the_loader_has_a_persistent_load():
    data = b"\x80\x02K\x01Q" + SYSTEM

    assert found(walk(data, persistent_ids=True)) == {("os.system", "critical")}
    assert found(walk(data, persistent_ids=False)) == {(None, "medium")}
    assert unclaimed(b"PK\x03\x04 a zip\n" + SYSTEM).findings == []


def test_the_pure_python_unpickler_imports_a_module_named_by_the_last_line():
    # pickle._Unpickler (joblib's) takes "antigravityX" minus its last byte and imports it before failing
    report = unclaimed(b"cantigravityX")

    assert found(report) == {("antigravity.", "medium")}


def test_inst_imports_before_it_looks_for_its_mark():
    assert found(walk(b"\x80\x02ios\nsystem\n.")) == {("os.system", "critical"), (None, "medium")}


def test_a_module_name_nothing_can_import_ends_an_unclaimed_walk():
    assert unclaimed(b"col_a,col_b\n1,2\n").findings == []
    assert found(walk(b"ccol_a,col_b\n1,2\n.")) == {("col_a,col_b.1,2", "medium")}


def test_a_global_name_too_long_to_judge_is_a_finding_and_the_walk_goes_on():
    data = b"cos\n" + b"x" * 5000 + b"\n0" + SYSTEM

    assert found(walk(data)) == {(None, "high"), ("os.system", "critical")}


def test_a_stop_inside_a_frame_cannot_be_followed():
    # the pure-Python unpickler has read the whole frame: whatever reads the file next starts after it
    body = b"N." + SYSTEM
    (finding,) = walk(b"\x80\x04\x95" + struct.pack("<Q", len(body)) + body).findings

    assert finding.reason.startswith("the scan cannot follow this pickle: STOP inside a frame")


# The fast path over runs of opcodes that cannot matter ---------------------------------------------

def test_runs_of_no_op_opcodes_are_skipped_without_spending_the_opcode_budget():
    flood = b"\x80\x04" + (b"N0(1K\x050\x88" + b"0G" + bytes(8) + b"0\x95" + bytes(8)) * 200_000 + b"N."

    report = walk(flood, limits=ScanLimits(max_opcodes=5_000))

    assert (report.pickles, report.findings) == (1, [])


def test_the_opcode_budget_stops_a_flood_the_fast_path_does_not_cover():
    flood = b"\x80\x04" + b"K\x01\x850" * 100_000 + b"N."  # BININT1, TUPLE1, POP: a no-op, one by one

    (finding,) = walk(flood, limits=ScanLimits(max_opcodes=10_000)).findings

    assert finding.severity == "medium"
    assert finding.reason.startswith("scan limit reached (more than 10000 opcodes walked one by one")


def test_a_frame_skipped_in_bulk_still_bounds_where_the_pickle_may_stop():
    body = b"N0" * 100 + b"N." + SYSTEM  # a frame over all of it, skipped in bulk with the N0 runs
    data = b"\x80\x04" + b"N0" * 100 + b"\x95" + struct.pack("<Q", len(body)) + body

    assert [f.reason[:52] for f in walk(data).findings] == ["the scan cannot follow this pickle: STOP inside a fr"]


_INERT = [b"N0", b"\x880", b"\x890", b")0", b"]0", b"}0", b"\x8f0", b"K\x070", b"M\x01\x020", b"J\x01\x02\x03\x040",
          b"G" + bytes(8) + b"0", b"(1", b"\x80\x04", b"\x95" + bytes(8), b"N0" * 41, b"(1" * 70, b"]0" * 200]
_MEANINGFUL = [b"\x8c\x02os\x94", b"\x8c\x06system\x94", b"h\x00", b"h\x01", b"\x93", b"N", b"0", b"(", b"t",
               b"\x94", b"]", b"a", b"}", b"s", b"cos\nsystem\n", b"\x85R", b"2", b"1", b"\x95\x05" + bytes(7)]


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.one_of(st.sampled_from(_INERT), st.sampled_from(_MEANINGFUL)), max_size=40))
def test_the_fast_path_never_changes_what_the_walk_finds(parts):
    """Walked with and without bulk skipping, any mix of no-op runs and opcodes that matter (globals,
    the memo, marks, frames) gives the same findings, globals and pickles."""
    data = b"\x80\x04" + b"".join(parts) + b"N."

    fast = walk(data)
    with mock.patch.object(pickle_ops, "_RUN_AFTER", frozenset()):
        slow = walk(data)

    assert (fast.findings, fast.globals, fast.pickles) == (slow.findings, slow.globals, slow.pickles)


# torch.nn module classes: only as objects rebuilt from their state ---------------------------------

LINEAR = ("torch.nn.modules.linear", "Linear")


def test_a_torch_nn_class_rebuilt_from_its_state_is_clean_however_often_it_is_reused():
    data = (Asm(2).global_(*LINEAR).binput(0).tuple(0).raw(b"\x81").empty_dict().build().pop()
            .binget(0).tuple(0).raw(b"\x81").empty_dict().build().pop()
            .binget(0).raw(b"2").tuple(0).raw(b"\x81").pop().tuple(0).raw(b"\x81").stop())

    assert walk(data).findings == []


@pytest.mark.parametrize("use", [
    Asm(2).global_(*LINEAR).mark().integer(100_000).integer(100_000).raw(b"t").reduce().stop(),  # __init__ runs
    Asm(2).empty_dict().text("factory").global_(*LINEAR).setitem().stop(),  # handed to code that may call it
    Asm(2).global_(*LINEAR).binput(0).tuple(0).raw(b"\x81").pop().binget(0).stop(),  # returned as a value
    Asm(2).global_("collections", "defaultdict").global_(*LINEAR).tuple(1).reduce().stop(),
], ids=["called", "in-a-dict", "returned", "as-an-argument"])
def test_a_torch_nn_class_used_any_other_way_is_a_finding(use):
    (finding,) = [f for f in walk(use).findings if f.global_ == "torch.nn.modules.linear.Linear"]

    assert finding.severity == "medium" and "admitted only when an object of it is rebuilt" in finding.reason


def test_a_module_class_from_outside_torch_stays_a_finding(tmp_path):
    import torch

    torch.save(_SiteModel(), tmp_path / "m.pt")

    scan = scan_file(tmp_path / "m.pt")
    assert {(f.global_, f.severity) for f in scan.findings} == {(f"{__name__}._SiteModel", "medium")}


class _SiteModel(__import__("torch").nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = __import__("torch").nn.Linear(2, 2)
