"""Containers that hold pickles: zip archives (PyTorch, TorchScript, npz, skops, plain), ``.npy``
files with object arrays, and compressed streams (joblib's ``compress=``, gzip'd pickles).

Every member is read as a stream through :class:`~riskframe.scanning._stream.ByteStream`, so a
member is never held in memory whole. Zip bombs are bounded before and while reading: the entry
count is read from the end-of-central-directory record *before* :mod:`zipfile` parses the
directory (at most ``max_members``), the decompressed bytes actually read from all members of one
archive are capped (``max_archive_bytes``, counted as read, so lying size fields do not help), and
archives nest at most ``max_depth`` deep. Nested archives are spooled to a temporary file (within
the same byte budget), since :mod:`zipfile` needs to seek. A zip must be exactly one archive
(:mod:`riskframe.scanning.zip_layout`).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import math
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, BinaryIO

from riskframe.scanning._stream import ByteStream, StreamFile, Truncated
from riskframe.scanning.findings import Finding
from riskframe.scanning.layouts import Role, member_role, torch_root, zip_kind
from riskframe.scanning.sources import ByteBudget, Opener, Source
from riskframe.scanning.zip_layout import layout_problems

if TYPE_CHECKING:
    from riskframe.scanning.scan import Scope

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD_SEARCH = 22 + 65_535  # the record plus the longest possible comment
MAX_NPY_HEADER = 1 << 20  # bytes of .npy header read (numpy.load with allow_pickle reads any length)


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


def scan_zip_source(source: Source, stream: ByteStream, scope: Scope) -> str:
    """A zip: the file itself when it is one on disk (zipfile seeks), else a bounded copy of it."""
    return scan_archive_source(source, stream, scope, scan_zip, "zip")


def scan_archive_source(source: Source, stream: ByteStream, scope: Scope,
                        scan: Callable[[BinaryIO, Scope], str], kind: str) -> str:
    """An archive its reader must seek in: the file itself when it is one on disk, else a bounded
    copy of it one level deeper (``kind`` is what a too-deep archive is reported as)."""
    if source.path is not None:
        with source.path.open("rb") as fp:
            return scan(fp, scope)
    if scope.depth >= scope.limits.max_depth:
        scope.add(Finding(None, None, "medium", f"archives nested more than {scope.limits.max_depth} "
                                                "deep; the innermost was not scanned",
                          title=f"archives nested more than {scope.limits.max_depth} deep"))
        return kind
    with tempfile.TemporaryFile() as spool:
        copy_stream(stream, spool)
        spool.seek(0)
        return scan(spool, scope.deeper())


def scan_zip(fp: BinaryIO, scope: Scope, *, polyglot: bool = False) -> str:
    """Scan every member of the zip in ``fp`` that is not known-inert; returns the archive's format.

    Which members are pickles, scanned by content, or known-inert depends on the layout the
    member names show (:mod:`riskframe.scanning.layouts`). An archive whose bytes are not exactly
    one archive (:mod:`riskframe.scanning.zip_layout`) is a finding: readers may see another one.

    ``polyglot``: the file was recognised as something else and only *also* looks like a zip;
    a directory that does not open is then a note, not a finding.
    """
    limits = scope.limits
    count = zip_entry_count(fp)
    if count is not None and count > limits.max_members:
        scope.add(Finding(None, None, "medium", f"archive declares {count} entries, more than the "
                                                f"{limits.max_members} the scan reads (zip bomb guard)",
                          title=f"archive declares {count} entries, more than the {limits.max_members} the scan reads"))
        return "zip"
    try:
        archive = zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        if polyglot:
            scope.note(f"its zip directory does not open ({exc})")
        else:
            scope.add(Finding(None, None, "medium", f"corrupt zip archive: {exc}", title="corrupt zip archive"))
        return "zip"
    for problem in layout_problems(fp):
        if polyglot:  # only Python's zipfile reads a zip that does not start the file, and it was scanned as one
            scope.note(f"as a zip, it is not exactly one archive ({problem}): scanned as Python's zipfile reads it")
        else:
            scope.add(Finding(None, None, "medium", f"not exactly one zip archive: {problem}; zip readers "
                                                    "(Python's zipfile, torch.load) may each see different members",
                              title="not exactly one zip archive"))
    with archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        kind = zip_kind(names)
        _scan_layout_metadata(kind, archive, scope)
        root = torch_root(names)
        budget = ByteBudget(limits.max_archive_bytes)
        for info in infos:
            role = member_role(kind, info.filename, root)
            if role != "inert" and not info.is_dir():
                source = Source(_member(archive, info), budgets=(budget,), size=info.file_size)
                _scan_member(archive, info, role, kind, scope, source)
                if budget.spent:
                    scope.add(Finding(None, None, "medium", f"archive decompresses to more than "
                                                            f"{limits.max_archive_bytes} bytes "
                                                            "(zip bomb guard); the rest was not read",
                                      title=f"archive decompresses to more than {limits.max_archive_bytes} bytes"))
                    break
    return kind


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Opener:
    return lambda: archive.open(info)


def _scan_layout_metadata(kind: str, archive: zipfile.ZipFile, scope: Scope) -> None:
    """The JSON a layout's loader rebuilds objects from: skops' schema, Keras' config."""
    if kind == "skops":
        from riskframe.scanning.skops_files import scan_skops_schema

        scan_skops_schema(archive, scope)
    elif kind == "keras":
        from riskframe.scanning.keras_files import scan_keras_config

        scan_keras_config(archive, scope)


def _scan_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, role: Role, kind: str, scope: Scope,
                 source: Source) -> None:
    member = scope.child(info.filename, torchscript=kind == "torchscript", optional=role == "bytes")
    try:
        member.scan_source(source, expect="pickle" if role == "pickle" else "any")
    except RuntimeError as exc:  # encrypted member
        member.add(Finding(None, None, "medium", f"member cannot be read ({exc}); it was not scanned",
                           title="member cannot be read"))
    except NotImplementedError as exc:  # a compression method zipfile lacks
        member.add(Finding(None, None, "medium", f"member cannot be decompressed ({exc}); not scanned",
                           title="member cannot be decompressed"))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        member.add(Finding(None, None, "medium", f"corrupt archive member: {exc}", title="corrupt archive member"))


def copy_stream(stream: ByteStream, target: BinaryIO) -> None:
    """Copy what is left of ``stream`` to ``target`` (within the stream's byte cap)."""
    while not stream.at_end():
        chunk = stream.peek(1 << 20)
        target.write(chunk)
        stream.skip(len(chunk))


# -- .npy ------------------------------------------------------------------------------------

def scan_npy(stream: ByteStream, scope: Scope) -> str:
    """An ``.npy`` file, read as ``numpy.load`` reads it.

    The header is parsed by numpy's own reader (a literal, never evaluated code) and the dtype
    built by numpy (``descr_to_dtype``): an object dtype hides in many spellings (``'object'``, a
    subarray, a structured field) and only numpy's reading says which. An object array's elements
    follow as a pickle, which ``numpy.load(allow_pickle=True)`` unpickles; any other array's bytes
    must end where the header says.
    """
    try:
        shape, dtype = _npy_header(stream)
    except Truncated as exc:
        scope.add(Finding(None, stream.offset, "medium", f"malformed .npy header: {exc}",
                          title="malformed .npy header"))
        return "npy"
    except _Unvouched as exc:
        scope.add(Finding(None, 0, "medium", f"the .npy header cannot be read as numpy reads it: {exc}",
                          title="the .npy header cannot be read as numpy reads it"))
        return "npy"
    except Exception as exc:  # numpy's reader raises many kinds on hostile headers; numpy.load would too
        scope.add(Finding(None, stream.offset, "medium", f"malformed .npy header: {type(exc).__name__}: {exc}",
                          title="malformed .npy header"))
        return "npy"
    if dtype.hasobject:
        from riskframe.scanning.pickle_views import read_pickles

        scope.note("object array: its elements are stored as a pickle, scanned below")
        read_pickles(scope, None, stream, claimed=True, mode="plain")
        return "npy"
    if any(n < 0 for n in shape):
        scope.add(Finding(None, 0, "low", f"the .npy header's shape {shape} is not a list of sizes",
                          title="the .npy header's shape is not a list of sizes"))
        return "npy"
    nbytes = math.prod(shape) * dtype.itemsize
    try:
        stream.skip(nbytes, "the array data")
    except Truncated as exc:
        scope.add(Finding(None, stream.offset, "low", f"the array data is shorter than its header says: {exc}",
                          title="the array data is shorter than its header says"))
        return "npy"
    if not stream.at_end():
        scope.add(Finding(None, stream.offset, "low", f"bytes after the array data (from byte {stream.offset}): "
                                                      "numpy.load never reads them, another reader may",
                          title="bytes after the array data"))
    return "npy"


class _Unvouched(Exception):
    pass


def _npy_header(stream: ByteStream) -> tuple[tuple[int, ...], Any]:
    import numpy as np

    magic = stream.read(8, "the .npy magic")
    version = (magic[6], magic[7])
    width = 2 if version == (1, 0) else 4
    length = int.from_bytes(stream.peek(width)[:width], "little")
    if length > MAX_NPY_HEADER:
        raise _Unvouched(f"a header of {length} bytes, more than the {MAX_NPY_HEADER} the scan reads")
    read_header, check_version = _numpy_header_reader()
    check_version(version)
    shape, _, dtype = read_header(StreamFile(stream), version, max_header_size=MAX_NPY_HEADER)
    if not isinstance(dtype, np.dtype):
        raise _Unvouched("numpy did not read a dtype")
    return shape, dtype


def _numpy_header_reader() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """numpy's own ``.npy`` header reader, the one ``numpy.load`` calls for every version (private:
    the public ``read_array_header_1_0/2_0`` do not read version 3 headers)."""
    import numpy as np

    impl = getattr(np.lib, "_format_impl", np.lib.format)
    return impl._read_array_header, impl._check_version


# -- compressed streams ----------------------------------------------------------------------

class _ZlibReader:
    """A file-like object decompressing a raw zlib stream (joblib's ``compress='zlib'``); ``head``
    is the stream's first bytes when they were read already."""

    def __init__(self, raw: BinaryIO, head: bytes = b"") -> None:
        self._raw, self._inflate, self._head = raw, zlib.decompressobj(), head

    def read(self, n: int = -1) -> bytes:
        limit = n if n > 0 else 0  # zlib's "no limit"
        while True:
            if self._inflate.unconsumed_tail:
                data = self._inflate.decompress(self._inflate.unconsumed_tail, limit)
            else:
                chunk, self._head = self._head or (b"" if self._inflate.eof else self._raw.read(1 << 16)), b""
                if not chunk:
                    return b""  # a cut-off stream just ends; the scanner reports what it misses
                data = self._inflate.decompress(chunk, limit)
            if data:
                return data


def codec_available(codec: str) -> bool:
    """lz4 is an optional package; every other codec is in the standard library."""
    if codec != "lz4":
        return True
    try:
        import lz4.frame  # noqa: F401
    except ImportError:
        return False
    return True


def decompressing(source: Source, codec: str) -> Opener:
    """An opener of ``source``'s bytes decompressed (each opening reads ``source`` again)."""
    @contextmanager
    def opener() -> Iterator[BinaryIO]:
        with source.stream() as stream:
            yield open_compressed(codec, StreamFile(stream))  # type: ignore[arg-type]
    return opener


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
    if codec == "joblib-zfile":
        # joblib < 0.10 (joblib.numpy_pickle_compat.read_zfile): "ZF", the length in 19 hex digits,
        # an optional space, then zlib data
        raw.read(21)
        after = raw.read(1)
        return _ZlibReader(raw, b"" if after == b" " else after)  # type: ignore[return-value]
    import lz4.frame

    return lz4.frame.LZ4FrameFile(raw)  # type: ignore[no-any-return]
