"""Containers by content: zip families, .npy headers, compressed streams, and their bombs."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickle
import struct
import zipfile
import zlib

import numpy as np
import pytest

from devtools.scanning.asm import Asm
from riskframe.scanning import ScanLimits, scan_file
from riskframe.scanning.containers import zip_entry_count, zip_kind

EVIL = Asm(2).call("os", "system", "id").stop()


def _zip(path, members, method=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize(("names", "kind"), [
    (["m/data.pkl", "m/version", "m/data/0"], "pytorch"),
    (["m/data.pkl", "m/constants.pkl", "m/code/__torch__/x.py"], "torchscript"),
    (["a.npy", "b.npy"], "npz"),
    (["schema.json", "1.npy"], "skops"),
    (["README.md", "model.pkl"], "zip"),
])
def test_zip_kinds_come_from_member_names(names, kind):
    assert zip_kind(names) == kind


def test_every_pkl_member_of_a_torch_archive_is_scanned_and_storages_are_not(tmp_path):
    archive = _zip(tmp_path / "m.pt", {"m/data.pkl": pickle.dumps({"w": 1}), "m/extra.pkl": EVIL,
                                       "m/data/0": EVIL, "m/version": b"3\n"})

    scan = scan_file(archive)

    assert scan.format == "pytorch"
    assert [(f.member, f.global_) for f in scan.findings] == [("m/extra.pkl", "os.system")]


def test_a_torch_pkl_member_that_is_not_a_pickle_is_a_finding(tmp_path):
    # torch unpickles data.pkl whatever it holds: here PERSID reads a line the data ends in
    archive = _zip(tmp_path / "m.pt", {"m/data.pkl": b"PK\x03\x04 not a pickle", "m/version": b"3\n"})

    (finding,) = scan_file(archive).findings

    assert (finding.member, finding.severity) == ("m/data.pkl", "medium")
    assert finding.reason.startswith("truncated pickle: the data ends at byte 17 in the middle of a text argument")


def test_a_generic_zip_is_scanned_member_by_member_by_content(tmp_path):
    archive = _zip(tmp_path / "bundle.zip", {"docs/README.md": b"# model\n", "weights.bin": EVIL})

    scan = scan_file(archive)

    assert [(f.member, f.global_) for f in scan.findings] == [("weights.bin", "os.system")]
    assert scan.notes == ["docs/README.md: format not recognised; not scanned"]


def test_an_entry_count_bomb_is_refused_before_the_directory_is_parsed(tmp_path):
    archive = _zip(tmp_path / "many.zip", {f"f{i}": b"" for i in range(60)}, zipfile.ZIP_STORED)
    with archive.open("rb") as fp:
        assert zip_entry_count(fp) == 60

    (finding,) = scan_file(archive, limits=ScanLimits(max_members=50)).findings

    assert finding.reason == "archive declares 60 entries, more than the 50 the scan reads (zip bomb guard)"


def test_a_decompression_bomb_stops_at_the_byte_cap(tmp_path):
    bomb = b"\x80\x04" + b"N0" * 5_000_000 + b"N."  # 10 MB of opcodes, compressing to ~10 KB
    archive = _zip(tmp_path / "bomb.zip", {"a.pkl": bomb, "b.pkl": EVIL})
    assert archive.stat().st_size < 50_000

    scan = scan_file(archive, limits=ScanLimits(max_archive_bytes=1 << 20))

    reasons = [f.reason for f in scan.findings]
    assert scan.verdict == "unsafe"
    assert any(r.startswith("scan limit reached (more than 1048576 bytes)") for r in reasons)
    assert reasons[-1].startswith("archive decompresses to more than 1048576 bytes (zip bomb guard)")


def test_archives_nested_too_deep_are_not_followed(tmp_path):
    data = EVIL
    for level in range(5):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(f"level{level}.zip" if level else "evil.pkl", data)
        data = buffer.getvalue()
    (tmp_path / "deep.zip").write_bytes(data)

    scan = scan_file(tmp_path / "deep.zip", limits=ScanLimits(max_depth=2))

    assert [f.reason for f in scan.findings] == ["archives nested more than 2 deep; the innermost was not scanned"]


def test_a_corrupt_zip_is_a_finding(tmp_path):
    good = _zip(tmp_path / "good.zip", {"a.pkl": EVIL}).read_bytes()
    (tmp_path / "corrupt.zip").write_bytes(good[:-30])

    (finding,) = scan_file(tmp_path / "corrupt.zip").findings

    assert finding.reason.startswith("corrupt zip archive")


def test_a_corrupt_member_is_a_finding(tmp_path):
    path = _zip(tmp_path / "m.zip", {"a.pkl": pickle.dumps(list(range(1000)))})
    data = bytearray(path.read_bytes())
    data[40:60] = os.urandom(20)  # inside the deflated member
    path.write_bytes(bytes(data))

    scan = scan_file(path)

    assert scan.verdict == "unsafe" and scan.findings[0].member == "a.pkl"


def test_npy_object_arrays_are_scanned_and_plain_arrays_skipped(tmp_path):
    plain, objects = tmp_path / "plain.npy", tmp_path / "objects.npy"
    np.save(plain, np.arange(1000, dtype=np.int32))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    objects.write_bytes(header.getvalue() + EVIL)

    assert scan_file(plain).verdict == "safe"
    scan = scan_file(objects)
    assert [(f.global_, f.offset) for f in scan.findings] == [("os.system", len(header.getvalue()) + 2)]
    assert scan.notes == ["object array: its elements are stored as a pickle, scanned below"]


def test_npy_structured_arrays_with_object_fields_count_as_object_arrays(tmp_path):
    path = tmp_path / "rec.npy"
    np.save(path, np.array([(1, "a")], dtype=[("n", "i4"), ("o", "O")]), allow_pickle=True)

    assert scan_file(path).notes == ["object array: its elements are stored as a pickle, scanned below"]


@pytest.mark.parametrize(("header", "reason"), [
    (b"\x93NUMPY\x01\x00\x10\x00{'descr': __import__('os')}", "malformed .npy header"),
    (b"\x93NUMPY\x01\x00\xff\xff{'descr'", "malformed .npy header"),
])
def test_a_hostile_npy_header_is_never_evaluated(tmp_path, header, reason):
    (tmp_path / "h.npy").write_bytes(header)

    (finding,) = scan_file(tmp_path / "h.npy").findings

    assert finding.reason.startswith(reason)


def test_a_short_npy_is_a_low_finding(tmp_path):
    path = tmp_path / "short.npy"
    np.save(path, np.arange(100.0))
    path.write_bytes(path.read_bytes()[:-8])

    (finding,) = scan_file(path).findings

    assert finding.severity == "low" and finding.reason.startswith("the array data is shorter than its header says")


@pytest.mark.parametrize(("codec", "compress"), [
    ("gzip", gzip.compress), ("bz2", bz2.compress), ("xz", lzma.compress), ("zlib", zlib.compress),
    ("lzma", lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE)),
    ("joblib-zfile", lambda d: b"ZF" + f"0x{len(d):x}".ljust(19).encode() + zlib.compress(d)),  # joblib < 0.10
])
def test_compressed_streams_are_decompressed_as_they_are_read(tmp_path, codec, compress):
    (tmp_path / "m").write_bytes(compress(EVIL))

    scan = scan_file(tmp_path / "m")

    assert (scan.format, [f.global_ for f in scan.findings]) == (f"pickle+{codec}", ["os.system"])


def test_a_compression_bomb_stops_at_the_decompressed_cap(tmp_path):
    (tmp_path / "bomb.gz").write_bytes(gzip.compress(b"\x80\x04" + b"N0" * 5_000_000 + b"N."))

    (finding,) = scan_file(tmp_path / "bomb.gz", limits=ScanLimits(max_decompressed_bytes=1 << 20)).findings

    assert finding.reason.startswith("scan limit reached (more than 1048576 bytes)")


def test_a_corrupt_compressed_stream_is_a_finding(tmp_path):
    data = bytearray(gzip.compress(pickle.dumps(list(range(5000)))))
    data[30:40] = b"\xff" * 10
    (tmp_path / "bad.gz").write_bytes(bytes(data))

    (finding,) = scan_file(tmp_path / "bad.gz").findings

    assert finding.severity == "medium"
    assert finding.reason.startswith("unreadable data: the data cannot be read past byte 0 (error: Error -3")


@pytest.mark.parametrize("array", [
    np.arange(10, dtype=np.float32), np.zeros((3, 0)), np.array(5.0), np.array([("a", 1)], dtype=[("s", "U3"), ("n", "<i8")]),
    np.ones((2, 3), order="F"), np.arange(4, dtype=">i4"), np.array(["2024-01-01"], dtype="M8[D]"), np.zeros(3, "c16"),
], ids=["floats", "empty", "0-d", "structured", "fortran", "big-endian", "datetime", "complex"])
def test_every_array_numpy_writes_reads_safe_to_its_last_byte(tmp_path, array):
    np.save(tmp_path / "a.npy", array)

    scan = scan_file(tmp_path / "a.npy")

    assert (scan.format, scan.verdict) == ("npy", "safe")


def test_a_version_3_header_is_read_by_numpys_reader(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_2_0(header, {"descr": "<f8", "fortran_order": False, "shape": (2,)})
    data = bytearray(header.getvalue())
    data[6] = 3  # version 3.0: the same layout, a UTF-8 header
    (tmp_path / "v3.npy").write_bytes(bytes(data) + np.ones(2).tobytes())

    assert scan_file(tmp_path / "v3.npy").verdict == "safe"


def test_bytes_after_an_arrays_data_are_a_low_finding(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.arange(4.0))
    path.write_bytes(path.read_bytes() + EVIL)

    (finding,) = scan_file(path).findings

    assert finding.severity == "low" and finding.reason.startswith("bytes after the array data (from byte 160)")


def test_a_header_longer_than_the_scan_reads_is_not_vouched_for(tmp_path):
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'pad': '" + "x" * (2 << 20) + "'}\n"
    (tmp_path / "big.npy").write_bytes(b"\x93NUMPY\x02\x00" + struct.pack("<I", len(text)) + text.encode())

    (finding,) = scan_file(tmp_path / "big.npy").findings

    assert finding.severity == "medium" and "more than the 1048576 the scan reads" in finding.reason
