"""Recognise a model file's format from its first bytes, never from its name.

Extensions lie (``model.bin`` is a PyTorch zip, a legacy torch pickle or raw weights; a ``.pt``
may be a TorchScript archive), so the scan decides by content. :func:`sniff` only proposes, and
only the *first* reading: the scanners confirm (ONNX once its protobuf structure checks out), and
a file whose first byte is a pickle opcode is walked as a pickle too, whatever sniff says
(:mod:`riskframe.scanning.pickle_views`). The prefixes are the ones the loaders test: joblib's
for its compressors, Python's ``tarfile`` for a tar (a header block with a valid checksum, with
or without ``ustar``).
"""

from __future__ import annotations

import tarfile
import zlib

HEAD = 512  # bytes sniff needs (a tar header block)

COMPRESSED = {  # magic -> codec, as joblib.load tests them (its old "ZF" files, gzip, bz2, xz, lzma-alone, lz4)
    b"ZF": "joblib-zfile",
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\xfd7zXZ": "xz",
    b"\x04\x22\x4d\x18": "lz4",
    b"\x5d\x00": "lzma",
}
NOT_SCANNED = {  # recognised, but this scanner cannot vouch for them
    b"\x89HDF\r\n\x1a\n": "hdf5",
    b"GGUF": "gguf",
}


def sniff(head: bytes, size: int | None = None) -> str:
    """The format ``head`` (the first :data:`HEAD` bytes) suggests.

    One of ``zip``, ``npy``, ``pickle`` (``PROTO`` 2-5, or a ``PROTO`` the walker will refuse),
    ``tar``, ``safetensors``, ``onnx?`` (to be confirmed), a codec from :data:`COMPRESSED`,
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
    if head[0] == 0x80:  # PROTO: the walker says what is wrong with a protocol it refuses
        return "pickle"
    for magic, codec in {**COMPRESSED, **NOT_SCANNED}.items():
        if head.startswith(magic):
            return codec
    if _is_tar(head):
        return "tar"
    if _is_safetensors(head, size):
        return "safetensors"
    if _is_zlib(head):
        return "zlib"
    if head[0] == 0x08:  # protobuf field 1 (ir_version), varint: how ONNX files begin
        return "onnx?"
    return "unknown"


def _is_tar(head: bytes) -> bool:
    """A header block Python's tarfile (which torch.load's legacy reader uses) accepts."""
    if len(head) < tarfile.BLOCKSIZE:
        return False
    try:
        tarfile.TarInfo.frombuf(head[:tarfile.BLOCKSIZE], "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return False
    return True


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
