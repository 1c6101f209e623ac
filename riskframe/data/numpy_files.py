"""``.npy`` and ``.npz`` files read without trusting them.

Before numpy allocates anything, the header of every array riskframe is about to read is parsed on
its own (``numpy.lib.format``'s public header readers) and checked against the bytes that are
really there: an npy file's size, an npz member's declared uncompressed size (``zipfile`` never
inflates a member past it). A header that declares 47 GiB over a few bytes is damage, found
without allocating; a consistent one tells the loader what the array will take in memory, for the
budget (:mod:`riskframe.data.budget`). Object arrays (which only unpickling reads) and pickle
streams are refused before numpy sees them. Error messages name the file, the array and the shapes,
never the file's bytes.
"""

from __future__ import annotations

import lzma
import math
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.lib.format as npy_format

from riskframe.errors import ArtifactError

# An npz is a zip archive: a local file header, or the end record alone when it holds no arrays.
MAGIC = {"npz": (b"PK\x03\x04", b"PK\x05\x06"), "npy": (b"\x93NUMPY",)}
_HEADER_READERS = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0}
# What reading the magic string raises on a short or foreign file.
_HEADER_ERRORS = (ValueError, EOFError, OSError)
_NEVER_UNPICKLED = ("riskframe never unpickles dataset files. Save numeric arrays instead")


@dataclass(frozen=True)
class ArrayHeader:
    """What an npy header declares: the shape, the dtype, the order and where the data starts."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fortran_order: bool
    data_offset: int

    @property
    def count(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.count * self.dtype.itemsize

    def describe(self) -> str:
        """``6300000000 x 1 float64``."""
        return f"{' x '.join(map(str, self.shape)) or 'scalar'} {self.dtype}"


def check_magic(path: Path, fmt: str, field: str = "path") -> None:
    """Refuse a pickle stream, or a file that does not start as ``fmt`` files do."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if looks_like_pickle(head):
        raise ArtifactError(f"{path.name} is a pickle stream, not {fmt}; riskframe never unpickles "
                            "dataset files. Save the arrays with numpy.savez instead", field)
    magic = MAGIC.get(fmt)
    if magic and not head.startswith(magic):
        raise ArtifactError(f"{path.name} is not an {fmt} file (it does not start as one)", field)


def looks_like_pickle(head: bytes) -> bool:
    # Protocol 2+ streams open with PROTO (0x80) and the protocol number. Older protocols have no
    # signature, but they fail the npz/npy magic check and are refused all the same.
    return len(head) >= 2 and head[0] == 0x80 and head[1] <= 5


def read_header(handle: IO[bytes], what: str, field: str) -> ArrayHeader:
    """The header at the start of ``handle`` (an npy file or npz member); ``what`` names it in errors.

    Raises
    ------
    ArtifactError
        Not an npy array, a malformed header, a negative dimension, or an object array.
    """
    damaged = ArtifactError(f"{what} is damaged or not a numpy array (its header cannot be read)", field)
    try:
        version = npy_format.read_magic(handle)
    except _HEADER_ERRORS:
        raise damaged from None
    reader = _HEADER_READERS.get(version)
    if reader is None:
        raise ArtifactError(f"{what} is in npy format version {version[0]}.{version[1]}, which riskframe does "
                            "not read (numpy writes 1.0 or 2.0 for numeric arrays)", field)
    try:
        shape, fortran_order, dtype = reader(handle)
    except Exception:
        # numpy's header parser fails in many ways on hostile text (ValueError, SyntaxError,
        # tokenize.TokenError, TypeError, MemoryError...): each means the header is not one
        raise damaged from None
    if any(dim < 0 for dim in shape):
        raise ArtifactError(f"{what} is damaged: its header declares a negative dimension", field)
    if dtype.hasobject:
        raise ArtifactError(f"{what} holds Python objects that only unpickling can read; {_NEVER_UNPICKLED}",
                            field)
    return ArrayHeader(tuple(shape), dtype, bool(fortran_order), handle.tell())


def _check_size(header: ArrayHeader, available: int, what: str, field: str) -> None:
    held = max(0, available - header.data_offset)
    if held < header.nbytes:
        raise ArtifactError(f"{what} is damaged or truncated: its header declares {header.describe()} "
                            f"({header.nbytes} bytes of data) but the file holds {held}", field)


def npy_header(path: Path, field: str) -> ArrayHeader:
    """The header of an npy file, checked against the file's size."""
    try:
        with path.open("rb") as handle:
            header = read_header(handle, path.name, field)
            size = path.stat().st_size
    except OSError as exc:
        raise ArtifactError(f"{path.name} cannot be read ({exc.strerror or type(exc).__name__})", field) from None
    _check_size(header, size, path.name, field)
    return header


def read_npy(path: Path, field: str) -> np.ndarray:
    """The array of an npy file whose header :func:`npy_header` checked."""
    with numpy_errors(path, field):
        array: np.ndarray = np.load(path, allow_pickle=False)
    return array


class Npz:
    """An open npz archive: its array names, each array's checked header, then the array itself.

    Use as a context manager; the file is closed even when the archive is damaged.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("rb")
        try:
            with numpy_errors(path, "path"):
                self._npz = np.load(self._handle, allow_pickle=False)
        except BaseException:
            self._handle.close()
            raise
        self.files: list[str] = list(self._npz.files)

    def __enter__(self) -> Npz:
        return self

    def __exit__(self, *exc: object) -> None:
        self._npz.close()
        self._handle.close()

    def header(self, key: str, field: str) -> ArrayHeader:
        """The header of array ``key``, checked against the member's declared uncompressed size."""
        archive: zipfile.ZipFile = self._npz.zip
        member = key if key in archive.namelist() else f"{key}.npy"  # numpy's own look-up order
        what = f"{self.path.name}: array {key!r}"
        with numpy_errors(self.path, field, key):
            info = archive.getinfo(member)
            with archive.open(info) as handle:
                header = read_header(handle, what, field)
        _check_size(header, info.file_size, what, field)
        return header

    def array(self, key: str, field: str) -> np.ndarray:
        """Array ``key``, once :meth:`header` has checked it."""
        with numpy_errors(self.path, field, key):
            array = self._npz[key]
        if not isinstance(array, np.ndarray):  # numpy hands back a member that is no npy as bytes
            raise ArtifactError(f"{self.path.name}: array {key!r} is damaged or not a numpy array", field)
        return array


@contextmanager
def numpy_errors(path: Path, field: str, key: str | None = None) -> Iterator[None]:
    """Turn numpy's and zipfile's reading errors into ArtifactErrors, telling a refused pickle from
    damage; the message names the exception, never the bytes it read."""
    try:
        yield
    except ValueError as exc:
        if "allow_pickle" in str(exc):  # numpy's wording for object arrays and embedded pickles
            what = f"{path.name}: array {key!r}" if key else path.name
            raise ArtifactError(f"{what} holds Python objects that only unpickling can read; {_NEVER_UNPICKLED}",
                                field) from None
        raise ArtifactError(f"{path.name} is damaged or not a numpy file", field) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError, EOFError, KeyError,
            NotImplementedError, RuntimeError) as exc:  # RuntimeError: an encrypted member
        raise ArtifactError(f"{path.name} is damaged or cannot be read ({type(exc).__name__})", field) from None
    except OSError as exc:
        raise ArtifactError(f"{path.name} is damaged or cannot be read ({exc.strerror or type(exc).__name__})",
                            field) from None
