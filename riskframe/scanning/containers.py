"""Containers that hold pickles: zip archives (PyTorch, TorchScript, npz, skops, plain), ``.npy``
files with object arrays, and compressed streams (joblib's ``compress=``, gzip'd pickles).

Every member is read as a stream through :class:`~riskframe.scanning._stream.ByteStream`, so a
member is never held in memory whole. Zip bombs are bounded before and while reading: the entry
count is read from the end-of-central-directory record *before* :mod:`zipfile` parses the
directory (at most ``max_members``), the decompressed bytes actually read from all members of one
archive are capped (``max_archive_bytes``, counted as read, so lying size fields do not help), and
archives nest at most ``max_depth`` deep. Nested archives are spooled to a temporary file (within
the same byte budget), since :mod:`zipfile` needs to seek.
"""

from __future__ import annotations

import ast
import bz2
import gzip
import lzma
import struct
import tempfile
import zipfile
import zlib
from typing import TYPE_CHECKING, Any, BinaryIO

from riskframe.scanning._stream import ByteStream, LimitExceeded, Truncated
from riskframe.scanning.findings import Finding
from riskframe.scanning.layouts import Role, member_role, torch_root, zip_kind

if TYPE_CHECKING:
    from riskframe.scanning.scan import Scope

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD_SEARCH = 22 + 65_535  # the record plus the longest possible comment


# -- zip archives ----------------------------------------------------------------------------

def zip_entry_count(fp: BinaryIO) -> int | None:
    """Entries declared by the end-of-central-directory record (zip64 aware), or None."""
    size = fp.seek(0, 2)
    fp.seek(max(0, size - _EOCD_SEARCH))
    tail = fp.read()
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        return None
    count = struct.unpack("<H", tail[at + 10:at + 12])[0]
    locator = tail.rfind(_EOCD64_LOCATOR, 0, at)
    if count == 0xFFFF and locator >= 0:
        record_offset = struct.unpack("<Q", tail[locator + 8:locator + 16])[0]
        fp.seek(record_offset)
        record = fp.read(40)
        if record[:4] == b"PK\x06\x06":
            count = struct.unpack("<Q", record[32:40])[0]
    fp.seek(0)
    return int(count)


def scan_zip(fp: BinaryIO, scope: Scope, *, polyglot: bool = False) -> str:
    """Scan every member of the zip in ``fp`` that is not known-inert; returns the archive's format.

    Which members are pickles, scanned by content, or known-inert depends on the layout the
    member names show (:mod:`riskframe.scanning.layouts`).

    ``polyglot``: the file was recognised as something else and only *also* looks like a zip;
    a directory that does not open is then a note, not a finding.
    """
    limits = scope.limits
    count = zip_entry_count(fp)
    if count is not None and count > limits.max_members:
        scope.add(Finding(None, None, "medium", f"archive declares {count} entries, more than the "
                                                f"{limits.max_members} the scan reads (zip bomb guard)"))
        return "zip"
    try:
        archive = zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        if polyglot:
            scope.note(f"its zip directory does not open ({exc})")
        else:
            scope.add(Finding(None, None, "medium", f"corrupt zip archive: {exc}"))
        return "zip"
    with archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        kind = zip_kind(names)
        _scan_layout_metadata(kind, archive, scope)
        root = torch_root(names)
        budget = [limits.max_archive_bytes]
        for info in infos:
            role = member_role(kind, info.filename, root)
            if role != "inert" and not info.is_dir():
                _scan_member(archive, info, role, kind, scope, budget)
                if budget[0] <= 0:
                    scope.add(Finding(None, None, "medium", f"archive decompresses to more than "
                                                            f"{limits.max_archive_bytes} bytes "
                                                            "(zip bomb guard); the rest was not read"))
                    break
    return kind


def _scan_layout_metadata(kind: str, archive: zipfile.ZipFile, scope: Scope) -> None:
    """The JSON a layout's loader rebuilds objects from: skops' schema, Keras' config."""
    if kind == "skops":
        from riskframe.scanning.skops_files import scan_skops_schema

        scan_skops_schema(archive, scope)
    elif kind == "keras":
        from riskframe.scanning.keras_files import scan_keras_config

        scan_keras_config(archive, scope)


def _scan_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, role: Role, kind: str,
                 scope: Scope, budget: list[int]) -> None:
    member = scope.child(info.filename, torchscript=kind == "torchscript", optional=role == "bytes")
    try:
        with archive.open(info) as raw:
            stream = ByteStream(raw, max_bytes=budget[0])
            try:
                member.scan_stream(stream, expect="pickle" if role == "pickle" else "any")
            finally:
                budget[0] = 0 if stream.limit_hit else budget[0] - max(stream.offset, 1)
    except RuntimeError as exc:  # encrypted member
        member.add(Finding(None, None, "medium", f"member cannot be read ({exc}); it was not scanned"))
    except NotImplementedError as exc:  # a compression method zipfile lacks
        member.add(Finding(None, None, "medium", f"member cannot be decompressed ({exc}); not scanned"))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        member.add(Finding(None, None, "medium", f"corrupt archive member: {exc}"))
    except LimitExceeded:
        budget[0] = 0


def spool_and_scan_zip(stream: ByteStream, scope: Scope) -> str:
    """A zip inside an archive or a compressed stream: copy it out (bounded), then scan it."""
    if scope.depth >= scope.limits.max_depth:
        scope.add(Finding(None, None, "medium", f"archives nested more than {scope.limits.max_depth} "
                                                "deep; the innermost was not scanned"))
        return "zip"
    with tempfile.TemporaryFile() as spool:
        _copy(stream, spool)
        spool.seek(0)
        return scan_zip(spool, scope.deeper())


def _copy(stream: ByteStream, target: BinaryIO) -> None:
    while not stream.at_end():
        chunk = stream.peek(1 << 20)
        target.write(chunk)
        stream.skip(len(chunk))


# -- .npy ------------------------------------------------------------------------------------

def scan_npy(stream: ByteStream, scope: Scope) -> str:
    """An ``.npy`` file: its header is a Python literal; an object array is followed by a pickle."""
    try:
        header = _npy_header(stream)
    except (Truncated, ValueError, SyntaxError) as exc:
        scope.add(Finding(None, stream.offset, "medium", f"malformed .npy header: {exc}"))
        return "npy"
    descr = header.get("descr")
    if _holds_objects(descr):
        scope.note("object array: its elements are stored as a pickle, scanned below")
        scope.scan_pickles(stream)
        return "npy"
    try:
        import numpy as np

        shape: Any = header["shape"]
        nbytes = int(np.prod(shape)) * np.lib.format.descr_to_dtype(descr).itemsize  # type: ignore[arg-type]
        stream.skip(nbytes, "the array data")
    except Truncated as exc:
        scope.add(Finding(None, stream.offset, "low", f"the array data is shorter than its header says: {exc}"))
    except (KeyError, TypeError, ValueError) as exc:
        scope.add(Finding(None, 0, "low", f"the .npy header does not describe an array: {exc}"))
    return "npy"


def _npy_header(stream: ByteStream) -> dict[str, object]:
    magic = stream.read(8, "the .npy magic")
    major = magic[6]
    width = 2 if major == 1 else 4
    length = int.from_bytes(stream.read(width, "the .npy header length"), "little")
    if length > 1 << 20:
        raise ValueError(f"header of {length} bytes")
    text = stream.read(length, "the .npy header").decode("latin-1")
    header = ast.literal_eval(text)  # numpy does the same: a literal, never evaluated code
    if not isinstance(header, dict):
        raise ValueError("the header is not a dict")
    return header


def _holds_objects(descr: object) -> bool:
    if isinstance(descr, str):
        return "O" in descr
    if isinstance(descr, list):
        return any(_holds_objects(field[1]) for field in descr if isinstance(field, tuple) and len(field) > 1)
    return False


# -- compressed streams ----------------------------------------------------------------------

class _ZlibReader:
    """A file-like object decompressing a raw zlib stream (joblib's ``compress='zlib'``)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw, self._inflate = raw, zlib.decompressobj()

    def read(self, n: int = -1) -> bytes:
        limit = n if n > 0 else 0  # zlib's "no limit"
        while True:
            if self._inflate.unconsumed_tail:
                data = self._inflate.decompress(self._inflate.unconsumed_tail, limit)
            else:
                chunk = b"" if self._inflate.eof else self._raw.read(1 << 16)
                if not chunk:
                    return b""  # a cut-off stream just ends; the scanner reports what it misses
                data = self._inflate.decompress(chunk, limit)
            if data:
                return data


def open_compressed(codec: str, raw: BinaryIO) -> BinaryIO:
    """A decompressing reader over ``raw``; raises ImportError for lz4 without the package."""
    if codec == "gzip":
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if codec == "bz2":
        return bz2.BZ2File(raw)  # type: ignore[return-value]
    if codec in ("xz", "lzma"):
        return lzma.LZMAFile(raw)  # type: ignore[return-value]
    if codec == "zlib":
        return _ZlibReader(raw)  # type: ignore[return-value]
    import lz4.frame

    return lz4.frame.LZ4FrameFile(raw)  # type: ignore[no-any-return]
