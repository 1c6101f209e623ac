"""Recognise a model file's format from its first bytes, never from its name.

Extensions lie (``model.bin`` is a PyTorch zip, a legacy torch pickle or raw weights; a ``.pt``
may be a TorchScript archive), so the scan decides by content. :func:`sniff` only proposes: the
scanners confirm (a protocol-0 pickle is only believed once it parses; ONNX once its protobuf
structure checks out).
"""

from __future__ import annotations

import zlib

HEAD = 512  # bytes sniff needs (a tar header names itself at byte 257)

_PICKLE_START_V0 = frozenset(b"(]})cNILFSVKJMXUTGBCPi")
COMPRESSED = {  # magic -> codec, as written by gzip, bz2, xz, lzma-alone and lz4 (joblib compress=)
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\xfd7zXZ\x00": "xz",
    b"\x04\x22\x4d\x18": "lz4",
    b"\x5d\x00\x00": "lzma",
}
NOT_SCANNED = {  # recognised, but this scanner cannot vouch for them
    b"\x89HDF\r\n\x1a\n": "hdf5",
    b"GGUF": "gguf",
    b"ustar": "tar",
}


def sniff(head: bytes, size: int | None = None) -> str:
    """The format ``head`` (the first :data:`HEAD` bytes) suggests.

    One of ``zip``, ``npy``, ``pickle``, ``pickle-v0`` (protocols 0-1: to be confirmed by
    parsing), ``safetensors``, ``onnx?`` (to be confirmed), a codec from :data:`COMPRESSED`,
    ``zlib``, a name from :data:`NOT_SCANNED`, ``empty`` or ``unknown``.

    Examples
    --------
    >>> import pickle
    >>> sniff(pickle.dumps([1, 2], protocol=4))
    'pickle'
    >>> sniff(b"PK\\x03\\x04...")
    'zip'
    """
    if not head:
        return "empty"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[:6] == b"\x93NUMPY":
        return "npy"
    if head[0] == 0x80 and len(head) > 1 and 2 <= head[1] <= 5:
        return "pickle"
    for magic, codec in {**COMPRESSED, **NOT_SCANNED}.items():
        if head.startswith(magic) or (magic == b"ustar" and head[257:262] == magic):
            return codec
    if _is_safetensors(head, size):
        return "safetensors"
    if _is_zlib(head):
        return "zlib"
    if head[0] == 0x80:  # PROTO 0/1 or > 5: let the pickle walker say what is wrong
        return "pickle"
    if head[0] in _PICKLE_START_V0:
        return "pickle-v0"
    if head[0] == 0x08:  # protobuf field 1 (ir_version), varint: how ONNX files begin
        return "onnx?"
    return "unknown"


def _is_safetensors(head: bytes, size: int | None) -> bool:
    if len(head) < 9:
        return False
    header = int.from_bytes(head[:8], "little")
    fits = size is None or 8 + header <= size
    return 2 <= header <= 100_000_000 and fits and head[8:9] == b"{"


def _is_zlib(head: bytes) -> bool:
    # RFC 1950: CM = 8 (deflate), window <= 32K, header checksum, no preset dictionary.
    if len(head) < 2 or head[0] & 0x0F != 8 or head[0] >> 4 > 7 or head[1] & 0x20:
        return False
    if (head[0] << 8 | head[1]) % 31:
        return False
    try:
        zlib.decompressobj().decompress(head, 1)
    except zlib.error:
        return False
    return True
