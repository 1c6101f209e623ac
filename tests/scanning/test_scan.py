"""The public API: scan_file, scan_path, assert_safe_to_load, and bad input of every kind."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import struct
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest

from devtools.scanning.asm import Asm
from riskframe.errors import DetectorError, UnsafeArtifactError
from riskframe.scanning import assert_safe_to_load, pickle_ops, scan_file, scan_path

EVIL = Asm(2).call("os", "system", "touch /tmp/never").stop()


def test_a_safe_file_passes_and_the_scan_is_returned(tmp_path):
    path = tmp_path / "w.pkl"
    path.write_bytes(pickle.dumps({"w": np.ones(3)}))

    assert assert_safe_to_load(path).verdict == "safe"


def test_an_unsafe_file_is_refused_naming_file_verdict_and_findings(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(EVIL)

    with pytest.raises(UnsafeArtifactError) as excinfo:
        assert_safe_to_load(path)

    error = excinfo.value
    assert isinstance(error, DetectorError)
    assert (error.path, error.verdict, [f.global_ for f in error.findings]) == (str(path), "unsafe", ["os.system"])
    assert str(error) == (
        f"{path}: refusing to load a file whose scan verdict is 'unsafe': os.system at byte 2 (critical): "
        "runs operating-system commands or replaces the process (named by GLOBAL; called by REDUCE at byte 33 "
        "with ('touch /tmp/never',))")


def test_an_unrecognised_file_is_refused_as_unsupported(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(os.urandom(2000).replace(b"\x80", b"\x00"))

    with pytest.raises(UnsafeArtifactError, match=r"verdict is 'unsupported': format not recognised"):
        assert_safe_to_load(path)


@pytest.mark.parametrize(("content", "fmt"), [
    (b"", "empty"), (b"col_a,col_b\n1,2\n", "unknown"), (b"Introduction\nchapter one\n", "unknown"),
    (b"# README\n\nA model.\n", "unknown"), (b"\x89HDF\r\n\x1a\n" + b"\x00" * 100, "hdf5"),
    (b"GGUF\x03\x00\x00\x00" + b"\x00" * 50, "gguf"),
])
def test_text_and_unscanned_formats_are_unsupported_never_safe(tmp_path, content, fmt):
    (tmp_path / "f").write_bytes(content)

    scan = scan_file(tmp_path / "f")

    assert (scan.verdict, scan.format, scan.findings) == ("unsupported", fmt, [])


def test_an_lz4_stream_without_the_lz4_package_is_unsupported_never_safe(tmp_path, monkeypatch):
    for name in ("lz4", "lz4.frame"):  # as on a machine without the optional package: its import fails
        monkeypatch.setitem(sys.modules, name, None)
    (tmp_path / "model.joblib").write_bytes(b"\x04\x22\x4d\x18" + bytes(40))

    scan = scan_file(tmp_path / "model.joblib")

    assert (scan.verdict, scan.format, scan.findings) == ("unsupported", "lz4 (not installed)", [])
    assert scan.notes == ["format not recognised: the file was not scanned"]


def test_text_that_pickle_load_would_import_from_is_unsafe(tmp_path):
    # 'c' is GLOBAL: pickle.load imports module 'at' and looks up 'dog' before it fails
    (tmp_path / "words.txt").write_bytes(b"cat\ndog\nbird\n")

    scan = scan_file(tmp_path / "words.txt")

    assert (scan.verdict, [(f.global_, f.severity, f.offset) for f in scan.findings]) == (
        "unsafe", [("at.dog", "medium", 0)])


def test_garbage_after_a_pickle_opcode_is_malformed_not_a_crash(tmp_path):
    (tmp_path / "g.pkl").write_bytes(b"\x80\x04" + bytes(range(256)) * 4)

    scan = scan_file(tmp_path / "g.pkl")

    assert scan.verdict == "unsafe" and scan.severity == "medium"


def test_a_pickle_followed_by_a_zip_is_scanned_as_both(tmp_path):
    archive = tmp_path / "inner.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("evil.pkl", EVIL)
    (tmp_path / "poly.pkl").write_bytes(pickle.dumps([1, 2]) + archive.read_bytes())

    scan = scan_file(tmp_path / "poly.pkl")

    assert ("os.system", "evil.pkl") in {(f.global_, f.member) for f in scan.findings}
    assert "the file is also a zip archive (its directory is at the end): scanned as one too" in scan.notes


def test_the_json_shape_of_a_scan(tmp_path):
    (tmp_path / "evil.pkl").write_bytes(EVIL)

    data = json.loads(json.dumps(scan_file(tmp_path / "evil.pkl").to_dict()))

    assert list(data) == ["path", "format", "verdict", "severity", "findings"]
    assert list(data["findings"][0]) == ["global", "offset", "severity", "reason"]
    assert (data["verdict"], data["severity"], data["findings"][0]["offset"]) == ("unsafe", "critical", 2)


def test_scan_path_walks_folders_in_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "evil.pkl").write_bytes(EVIL)
    (tmp_path / "a.pkl").write_bytes(pickle.dumps(1))

    scans = scan_path(tmp_path)

    assert [(os.path.relpath(s.path, tmp_path), s.verdict) for s in scans] == [
        ("a.pkl", "safe"), ("b/evil.pkl", "unsafe")]


def test_a_missing_file_raises_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        scan_file(tmp_path / "nope.pkl")


def test_findings_are_capped_but_counted(tmp_path):
    asm = Asm(2)
    for i in range(250):
        asm.global_("evil", f"f{i}").pop()
    (tmp_path / "many.pkl").write_bytes(asm.none().stop())

    data = scan_file(tmp_path / "many.pkl").to_dict()

    assert (len(data["findings"]), data["findings_not_shown"]) == (200, 50)


# Large files: streamed, bounded memory -------------------------------------------------------

def _sparse_bytes8_pickle(path, size: int) -> None:
    """A valid pickle holding one BINBYTES8 of ``size`` zero bytes, written sparsely (no RAM, no disk)."""
    with path.open("wb") as fp:
        fp.write(b"\x80\x04\x8e" + struct.pack("<Q", size))
        fp.seek(size, os.SEEK_CUR)
        fp.write(b"\x94.")


def test_a_one_gigabyte_pickle_is_scanned_without_reading_it_into_memory(tmp_path):
    path = tmp_path / "big.pkl"
    _sparse_bytes8_pickle(path, 1 << 30)

    tracemalloc.start()
    scan = scan_file(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert path.stat().st_size > 1 << 30 and scan.verdict == "safe"
    assert peak < 8 << 20


def test_a_long_compressed_stream_is_read_in_bounded_memory(tmp_path):
    # 64 MB of array bytes inside a gzip'd pickle: read and discarded chunk by chunk, not sought
    array = np.zeros(8 << 20, dtype=np.float64)
    with gzip.open(tmp_path / "big.pkl.gz", "wb", compresslevel=1) as fp:
        pickle.dump({"w": array, "tail": [1.0, 2.0]}, fp, protocol=4)
    del array

    tracemalloc.start()
    scan = scan_file(tmp_path / "big.pkl.gz")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert (scan.format, scan.verdict) == ("pickle+gzip", "safe")
    assert peak < 16 << 20


@pytest.mark.parametrize("keys", [10_000, 40_000])
def test_an_opcode_dense_stream_keeps_a_bounded_memo(tmp_path, monkeypatch, keys):
    monkeypatch.setattr(pickle_ops, "kept_texts", lambda: 500)  # the default keeps 300,000 names
    (tmp_path / "dense.pkl").write_bytes(pickle.dumps({f"k{i}": [i, float(i)] for i in range(keys)}, protocol=4))

    tracemalloc.start()
    scan = scan_file(tmp_path / "dense.pkl")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert scan.verdict == "safe" and peak < 3 << 20  # the same bound at four times the size


def test_a_compressed_file_of_unknown_content_is_noted_once(tmp_path):
    (tmp_path / "notes.gz").write_bytes(gzip.compress(b"# just notes\n"))

    scan = scan_file(tmp_path / "notes.gz")

    assert (scan.format, scan.verdict, scan.notes) == ("unknown+gzip", "unsupported",
                                                       ["format not recognised: the file was not scanned"])


def test_a_text_file_with_a_long_first_line_is_not_a_pickle(tmp_path):
    (tmp_path / "wide.csv").write_bytes(b"c" + b"ol,".join([b"x"] * 3000) + b"\n1,2\n")

    assert scan_file(tmp_path / "wide.csv").verdict == "unsupported"
