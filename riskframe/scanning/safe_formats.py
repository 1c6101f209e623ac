"""Formats that cannot run code on load, checked for being what they claim: safetensors and ONNX.

A malformed file in these formats runs nothing, but it is not the model it claims to be (or is
built to confuse a loader), so problems are ``low`` findings and the file is not ``safe``.

**safetensors**: 8-byte little-endian header length, a JSON header (``__metadata__`` of strings,
then per tensor ``dtype``, ``shape``, ``data_offsets``), then the data. Checked as the
safetensors library validates: header at most 100 MB, known dtypes, each tensor's byte range
matching its shape and dtype, ranges contiguous from 0 without overlap, and the data region
ending exactly at the end of the file.

**ONNX** is checked *without* the onnx package (it is not a riskframe dependency and has no
streaming parser): a protobuf wire-format walk of ``ModelProto`` that must find ``ir_version`` and
a ``graph``, with every length inside the file. Initializers that keep their bytes in external
files are looked at, because ONNX loaders open those paths: an absolute path or one climbing out
with ``..`` is a path-traversal finding (CVE-2022-25882, CVE-2024-27318).
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from riskframe.scanning._stream import ByteStream, Truncated
from riskframe.scanning.findings import Finding

if TYPE_CHECKING:
    from riskframe.scanning.scan import Scope

MAX_HEADER = 100_000_000
DTYPE_BITS = {"BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "I16": 16,
              "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "F64": 64,
              "I64": 64, "U64": 64, "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6}


class _Bad(Exception):
    pass


# -- safetensors -----------------------------------------------------------------------------

def check_safetensors(stream: ByteStream, scope: Scope) -> str:
    try:
        length = int.from_bytes(stream.read(8, "the header length"), "little")
        if length > MAX_HEADER:
            raise _Bad(f"header of {length} bytes, more than {MAX_HEADER}")
        header = json.loads(stream.read(length, "the JSON header"))
        data_end = _tensor_extent(header)
        stream.skip(data_end, "the tensor data")
        if not stream.at_end():
            raise _Bad(f"bytes after the end of the tensor data (byte {stream.offset})")
    except (Truncated, _Bad, ValueError, RecursionError) as exc:
        scope.add(Finding(None, stream.offset, "low", f"not well-formed safetensors: {exc}",
                          title="not well-formed safetensors"))
    return "safetensors"


def _tensor_extent(header: Any) -> int:
    """Validate the header; the end of the data region it describes."""
    if not isinstance(header, dict):
        raise _Bad("the header is not a JSON object")
    metadata = header.get("__metadata__", {})
    if not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise _Bad("__metadata__ must map strings to strings")
    ranges = sorted(_tensor_range(name, info) for name, info in header.items() if name != "__metadata__")
    position = 0
    for begin, end, name in ranges:
        if begin != position:
            raise _Bad(f"tensor {name!r} starts at {begin}, expected {position} (gap or overlap)")
        position = end
    return position


def _tensor_range(name: str, info: Any) -> tuple[int, int, str]:
    if not isinstance(info, dict):
        raise _Bad(f"tensor {name!r} is not described by an object")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in DTYPE_BITS:
        raise _Bad(f"tensor {name!r} has unknown dtype {dtype!r}")
    if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
        raise _Bad(f"tensor {name!r} has a bad shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(n, int) for n in offsets)
            and 0 <= offsets[0] <= offsets[1]):
        raise _Bad(f"tensor {name!r} has bad data_offsets {offsets!r}")
    bits = math.prod(shape) * DTYPE_BITS[dtype]
    if bits % 8 or offsets[1] - offsets[0] != bits // 8:
        raise _Bad(f"tensor {name!r}: {offsets[1] - offsets[0]} bytes do not hold shape {shape} of {dtype}")
    return offsets[0], offsets[1], name


# -- ONNX ------------------------------------------------------------------------------------

_MODEL_GRAPH, _MODEL_IR_VERSION = 7, 1
_GRAPH_NODE, _GRAPH_INITIALIZER = 1, 5
_TENSOR_NAME, _TENSOR_EXTERNAL, _ENTRY_KEY, _ENTRY_VALUE = 8, 13, 1, 2
_NODE_DOMAIN = 7
_STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training"})
_SMALL = 1 << 16  # messages read whole to look inside (nodes, external-data entries)


def check_onnx(stream: ByteStream, scope: Scope) -> str | None:
    """Check an ONNX candidate; None when it is not ONNX after all (nothing is reported then)."""
    seen: set[int] = set()
    try:
        for field, wire, value in _fields(stream, None):
            seen.add(field)
            if field == _MODEL_IR_VERSION and wire != 0:
                return None
            if field == _MODEL_GRAPH and wire == 2:
                _check_graph(stream, stream.offset + value, scope)
            elif wire == 2:
                stream.skip(value, f"field {field}")
    except (Truncated, _Bad) as exc:
        if _MODEL_GRAPH not in seen:
            return None
        scope.add(Finding(None, stream.offset, "low", f"not well-formed ONNX: {exc}", title="not well-formed ONNX"))
        return "onnx"
    if not {_MODEL_IR_VERSION, _MODEL_GRAPH} <= seen:
        return None
    return "onnx"


def _check_graph(stream: ByteStream, end: int, scope: Scope) -> None:
    domains: set[str] = set()
    for field, wire, value in _fields(stream, end):
        if wire != 2:
            continue
        if field == _GRAPH_INITIALIZER:
            _check_initializer(stream, stream.offset + value, scope)
        elif field == _GRAPH_NODE and value <= _SMALL:
            domain = _string_field(stream.read(value, "a node"), _NODE_DOMAIN)
            domains.add(domain or "")
        else:
            stream.skip(value, f"graph field {field}")
    for domain in sorted(domains - _STANDARD_DOMAINS):
        scope.note(f"operators from the custom domain {domain!r}: loading needs its custom-op library")


def _check_initializer(stream: ByteStream, end: int, scope: Scope) -> None:
    name, location = "", None
    for field, wire, value in _fields(stream, end):
        if wire != 2:
            continue
        if field == _TENSOR_NAME and value <= _SMALL:
            name = stream.read(value).decode("utf-8", "replace")
        elif field == _TENSOR_EXTERNAL and value <= _SMALL:
            entry = stream.read(value, "an external-data entry")
            if _string_field(entry, _ENTRY_KEY) == "location":
                location = _string_field(entry, _ENTRY_VALUE)
        else:
            stream.skip(value, f"tensor field {field}")
    if location is None:
        return
    if location.startswith(("/", "\\")) or ":" in location[:3] or ".." in location.replace("\\", "/").split("/"):
        scope.add(Finding(None, None, "high", f"initializer {name!r} reads its data from {location!r}, "
                                              "outside the model's folder (path traversal)",
                          title=f"initializer {name!r} reads its data from {location!r}, outside the model's folder"))
    else:
        scope.note(f"initializer {name!r} keeps its data in the external file {location!r} (not scanned)")


def _fields(stream: ByteStream, end: int | None) -> Any:
    """``(field number, wire type, value)``; for length-delimited fields the value is the length,
    and the caller reads or skips the payload before asking for the next field."""
    while (end is None and not stream.at_end()) or (end is not None and stream.offset < end):
        key = _varint(stream)
        field, wire = key >> 3, key & 7
        if field == 0 or wire in (3, 4, 6, 7):
            raise _Bad(f"invalid protobuf key {key} at byte {stream.offset}")
        if wire == 0:
            value = _varint(stream)
        elif wire in (1, 5):
            value = int.from_bytes(stream.read(8 if wire == 1 else 4), "little")
        else:
            value = _varint(stream)
            if end is not None and stream.offset + value > end:
                raise _Bad(f"field {field} runs past the end of its message")
        yield field, wire, value
    if end is not None and stream.offset != end:
        raise _Bad("a message runs past its declared length")


def _varint(stream: ByteStream) -> int:
    result = 0
    for shift in range(0, 70, 7):
        byte = stream.read_byte()
        if byte < 0:
            raise Truncated(stream.offset, "a varint")
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result
    raise _Bad("a varint longer than 10 bytes")


def _string_field(message: bytes, wanted: int) -> str | None:
    """The first length-delimited field ``wanted`` of a small message, decoded as UTF-8."""
    position = 0
    while position < len(message):
        key, position = _varint_at(message, position)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, position = _varint_at(message, position)
        elif wire in (1, 5):
            position += 8 if wire == 1 else 4
        elif wire == 2:
            length, position = _varint_at(message, position)
            if field == wanted:
                return message[position:position + length].decode("utf-8", "replace")
            position += length
        else:
            raise _Bad(f"invalid protobuf wire type {wire}")
    return None


def _varint_at(data: bytes, position: int) -> tuple[int, int]:
    result = 0
    for shift in range(0, 70, 7):
        if position >= len(data):
            raise _Bad("a varint runs past the end of its message")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
    raise _Bad("a varint longer than 10 bytes")
