"""safetensors and ONNX: recognised, checked for well-formedness, never called safe when broken."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from devtools.scanning.corpus_files import _pb, onnx_bytes, safetensors_bytes
from riskframe.scanning import scan_file

TENSORS = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.zeros(2, np.float32)}


def _safetensors(header: dict, data: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def test_a_well_formed_safetensors_file_is_safe(tmp_path):
    (tmp_path / "w.safetensors").write_bytes(safetensors_bytes(TENSORS))

    scan = scan_file(tmp_path / "w.safetensors")

    assert (scan.format, scan.verdict) == ("safetensors", "safe")


def test_the_safetensors_writer_agrees_with_the_library(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    (tmp_path / "ours.safetensors").write_bytes(safetensors_bytes(TENSORS))
    safetensors_numpy.save_file(TENSORS, tmp_path / "theirs.safetensors")

    loaded = safetensors_numpy.load_file(tmp_path / "ours.safetensors")
    assert np.array_equal(loaded["w"], TENSORS["w"])
    assert scan_file(tmp_path / "theirs.safetensors").verdict == "safe"


@pytest.mark.parametrize(("header", "data", "reason"), [
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\x00" * 12,
     "bytes after the end of the tensor data"),
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\x00" * 4, "the data ends at byte"),
    ({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\x00" * 8, "8 bytes do not hold shape [3]"),
    ({"w": {"dtype": "X9", "shape": [2], "data_offsets": [0, 8]}}, b"\x00" * 8, "unknown dtype 'X9'"),
    ({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
      "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}, b"\x00" * 6, "starts at 2, expected 4"),
    ({"__metadata__": {"n": 1}}, b"", "__metadata__ must map strings to strings"),
    ({"w": [1, 2]}, b"", "is not described by an object"),
])
def test_malformed_safetensors_are_low_findings(tmp_path, header, data, reason):
    (tmp_path / "bad.safetensors").write_bytes(_safetensors(header, data))

    (finding,) = scan_file(tmp_path / "bad.safetensors").findings

    assert finding.severity == "low" and reason in finding.reason
    assert finding.reason.startswith("not well-formed safetensors")


def test_a_safetensors_header_that_is_not_json_is_a_finding(tmp_path):
    (tmp_path / "bad.safetensors").write_bytes(struct.pack("<Q", 10) + b"{not json}")

    (finding,) = scan_file(tmp_path / "bad.safetensors").findings

    assert finding.reason.startswith("not well-formed safetensors: Expecting property name")


def test_a_well_formed_onnx_model_is_safe(tmp_path):
    (tmp_path / "m.onnx").write_bytes(onnx_bytes())

    assert (scan_file(tmp_path / "m.onnx").format, scan_file(tmp_path / "m.onnx").verdict) == ("onnx", "safe")


def test_the_onnx_writer_passes_the_onnx_checker(tmp_path):
    onnx = pytest.importorskip("onnx")

    onnx.checker.check_model(onnx.load_from_string(onnx_bytes()), full_check=True)


def _model_with_initializer(location: str) -> bytes:
    external = _pb(1, "location") + _pb(2, location)
    initializer = _pb(1, 2) + _pb(2, 1) + _pb(8, "W") + _pb(13, external) + _pb(14, 1)
    return _pb(1, 8) + _pb(7, _pb(2, "g") + _pb(5, initializer)) + _pb(8, _pb(2, 13))


@pytest.mark.parametrize("location", ["../../etc/passwd", "/etc/passwd", "..\\..\\secrets", "C:/x"])
def test_onnx_external_data_outside_the_model_folder_is_path_traversal(tmp_path, location):
    (tmp_path / "m.onnx").write_bytes(_model_with_initializer(location))

    (finding,) = scan_file(tmp_path / "m.onnx").findings

    assert finding.severity == "high"
    assert finding.reason == (f"initializer 'W' reads its data from {location!r}, outside the model's folder "
                              "(path traversal)")


def test_onnx_external_data_beside_the_model_is_a_note(tmp_path):
    (tmp_path / "m.onnx").write_bytes(_model_with_initializer("weights.bin"))

    scan = scan_file(tmp_path / "m.onnx")

    assert scan.verdict == "safe"
    assert scan.notes == ["initializer 'W' keeps its data in the external file 'weights.bin' (not scanned)"]


def test_onnx_custom_operator_domains_are_noted(tmp_path):
    node = _pb(4, "Gelu") + _pb(7, "com.example.ops")
    (tmp_path / "m.onnx").write_bytes(_pb(1, 8) + _pb(7, _pb(1, node)) + _pb(8, _pb(2, 13)))

    scan = scan_file(tmp_path / "m.onnx")

    assert scan.notes == ["operators from the custom domain 'com.example.ops': loading needs its custom-op library"]


def test_a_truncated_onnx_model_is_a_low_finding(tmp_path):
    (tmp_path / "m.onnx").write_bytes(onnx_bytes()[:-20])

    (finding,) = scan_file(tmp_path / "m.onnx").findings

    assert finding.severity == "low" and finding.reason.startswith("not well-formed ONNX")


def test_bytes_that_merely_start_like_onnx_are_unsupported(tmp_path):
    (tmp_path / "m.bin").write_bytes(b"\x08\x01" + b"\xff" * 50)

    scan = scan_file(tmp_path / "m.bin")

    assert (scan.verdict, scan.format) == ("unsupported", "unknown")
