"""File -> :class:`FileScan`: every reading a loader could make of a file, each scanned.

A file's content is recognised by its first bytes (:mod:`riskframe.scanning.sniff`), but a
sniff is only the first door: whatever the file looks like, if its first byte is a pickle opcode
``pickle.load`` would read it, so it is also walked as a pickle (unclaimed, see
:mod:`riskframe.scanning.pickle_views`); a file that ends in a zip directory is also a zip to
Python's ``zipfile``; a joblib stream is also a plain pickle. Each reading's findings count.

Nothing is ever unpickled or imported: pickles are walked statically
(:mod:`riskframe.scanning.pickle_ops`), containers are unpacked as streams
(:mod:`riskframe.scanning.containers`), and formats that cannot hold code are checked for
well-formedness (:mod:`riskframe.scanning.safe_formats`, :mod:`riskframe.scanning.skops_files`).
A problem reading one file (an I/O error, ``/proc/self/mem``) is that file's result.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from riskframe.scanning import containers
from riskframe.scanning._stream import ByteStream, LimitExceeded, Truncated, Unreadable
from riskframe.scanning.allowlist import Allowlist
from riskframe.scanning.findings import Budget, FileScan, Finding, ScanLimits
from riskframe.scanning.keras_files import SAVEDMODEL_RISK, is_saved_model
from riskframe.scanning.pickle_views import could_be_pickle, read_pickles
from riskframe.scanning.sniff import COMPRESSED, HEAD, NOT_SCANNED, sniff
from riskframe.scanning.sources import Source

_RISKS = {  # what an unscanned format can do, for the notes
    "hdf5": " (a Keras .h5 model's config can hold Lambda layers whose code runs on load)",
}


def _not_installed(codec: str) -> str:
    """The format of content compressed with ``codec`` when its package is not installed (lz4)."""
    return f"{codec} (not installed)"


# Formats the scan has no reader for (never "unknown+gzip": a decompressed reading is marked inside).
_UNRECOGNISED = frozenset({"unknown", "empty", *NOT_SCANNED.values(),
                           *(_not_installed(codec) for codec in (*COMPRESSED.values(), "zlib"))})


@dataclass(frozen=True)
class Scope:
    """Where in a file the scan is (archive member, nesting depth) and what it reports into."""

    scan: FileScan
    allowlist: Allowlist
    limits: ScanLimits
    budget: Budget
    member: str | None = None
    depth: int = 0
    torchscript: bool = False
    optional: bool = False  # content the scan does not recognise is fine here (bytes no loader interprets)

    def add(self, finding: Finding) -> None:
        self.scan.add(finding.within(self.member) if self.member else finding)

    def note(self, text: str) -> None:
        self.scan.notes.append(f"{self.member}: {text}" if self.member else text)

    def child(self, name: str, *, torchscript: bool = False, optional: bool = False) -> Scope:
        member = f"{self.member}/{name}" if self.member else name
        return replace(self, member=member, torchscript=self.torchscript or torchscript,
                       optional=self.optional or optional)

    def cannot_vouch(self, reason: str, part: str | None = None) -> None:
        """Record a part of the file (``part`` of this member, or the member itself) that the scan
        read but cannot vouch for: the file is then not ``safe``."""
        self.note(reason)
        where = [name for name in (self.member, part) if name] or [Path(self.scan.path).name]
        self.scan.unverified.append("/".join(where))

    def deeper(self) -> Scope:
        return replace(self, depth=self.depth + 1)

    # -- readings ----------------------------------------------------------------------------
    def scan_source(self, source: Source, expect: str = "any") -> str:
        """Scan ``source`` in every reading a loader could make of it; returns its format.

        ``expect="pickle"``: its loader unpickles it whatever it holds (``data.pkl``).
        """
        try:
            with source.stream() as stream:
                head = stream.peek(HEAD)
                if expect == "pickle":
                    read_pickles(self, source, stream, claimed=True, mode="plain", persistent_ids=True)
                    return "pickle"
                kind, walked = self._dispatch(stream, source, head)
            pickled = self._unclaimed_pickle(source) if not walked and could_be_pickle(head) else None
        except Truncated as exc:  # a decompressor or archive member failing where no reader catches it
            if type(exc) is Unreadable and self.member is None and self.depth == 0:
                raise  # the file itself cannot be read: scan_file reports it
            self.add(Finding(None, exc.offset, "medium", f"unreadable data: {exc}", title="unreadable data"))
            return "unknown"
        except LimitExceeded as exc:
            self.add(Finding(None, None, "medium", f"scan limit reached ({exc}); the rest was not checked, "
                                                   "so the file cannot be vouched for", title="scan limit reached"))
            return "unknown"
        if kind in _UNRECOGNISED:
            if pickled and kind in ("unknown", "empty"):
                return pickled  # no other reading: it is a pickle
            self.unrecognised(kind)
        return f"{kind}+{pickled}" if pickled else kind

    def _dispatch(self, stream: ByteStream, source: Source, head: bytes) -> tuple[str, bool]:
        """The reading the first bytes suggest; the format, and whether it walked a pickle from byte 0."""
        kind = sniff(head, source.size)
        if kind == "pickle":
            return read_pickles(self, source, stream, claimed=True).kind, True
        if kind == "zip":
            return containers.scan_zip_source(source, stream, self), False
        if kind == "tar":
            from riskframe.scanning.tar_files import scan_tar_source

            return scan_tar_source(source, stream, self), False
        if kind == "npy":
            return containers.scan_npy(stream, self), False
        if kind in COMPRESSED.values() or kind == "zlib":
            return self.scan_compressed(source, kind), False
        if kind in ("safetensors", "onnx?"):
            from riskframe.scanning.safe_formats import check_onnx, check_safetensors

            if kind == "safetensors":
                return check_safetensors(stream, self), False
            if is_saved_model(head):
                self.cannot_vouch(SAVEDMODEL_RISK)
                return "tf-savedmodel", False
            return check_onnx(stream, self) or "unknown", False
        return kind, False

    def _unclaimed_pickle(self, source: Source) -> str | None:
        """``pickle.load`` accepts any first opcode: walk the bytes as it would. The kind of pickle
        they hold, or None when no unpickler would read a whole pickle from them."""
        with source.stream() as stream:
            reading = read_pickles(self, source, stream, claimed=False)
        return reading.kind if reading.is_pickle else None

    def unrecognised(self, kind: str) -> str:
        """Report content the scan has no reader for: the file (or member) is not vouched for.

        An empty member holds nothing to run, and an ``optional`` member's bytes are never
        interpreted by its loader: both are noted only.
        """
        why = "no scanner for this format" if kind in NOT_SCANNED.values() else "format not recognised"
        why += _RISKS.get(kind, "")
        if kind == "empty":
            why = "empty"
        if self.member is None:
            self.scan.recognised = False
            self.note(f"{why}: the file was not scanned")
        elif kind == "empty" or self.optional:
            self.note(f"{why}; not scanned" + (" (bytes its loader never interprets)" if self.optional else ""))
        else:
            self.note(f"{why}; not scanned")
            self.scan.unverified.append(self.member)
        return kind

    def scan_compressed(self, source: Source, codec: str) -> str:
        if self.depth >= self.limits.max_depth:
            self.add(Finding(None, 0, "medium", f"containers nested more than {self.limits.max_depth} deep; "
                                                "the innermost was not scanned",
                              title=f"containers nested more than {self.limits.max_depth} deep"))
            return codec
        if not containers.codec_available(codec):
            return _not_installed(codec)
        inner = source.within(containers.decompressing(source, codec), max_bytes=self.limits.max_decompressed_bytes)
        try:
            return f"{self.deeper().scan_source(inner)}+{codec}"
        except (OSError, EOFError, ValueError) as exc:  # corrupt compressed data, caught by the codec
            self.add(Finding(None, None, "medium", f"corrupt {codec} stream: {exc}", title=f"corrupt {codec} stream"))
            return f"unknown+{codec}"


# -- files and folders -----------------------------------------------------------------------

def scan_file(path: str | os.PathLike[str], *, allowlist: Allowlist | None = None,
              limits: ScanLimits | None = None) -> FileScan:
    """Scan one file and return its verdict; never raises on bad content.

    Raises :class:`OSError` only when the file cannot be opened; a file that opens but cannot be
    read (``/proc/self/mem``, an I/O error) is a result whose verdict is ``unsupported``.

    Examples
    --------
    >>> import pickle, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "weights.pkl"
    >>> _ = path.write_bytes(pickle.dumps({"w": [0.5, 1.5]}))
    >>> scan = scan_file(path)
    >>> scan.format, scan.verdict, scan.findings
    ('pickle', 'safe', [])
    """
    path = Path(path)
    limits = limits or ScanLimits()
    result = FileScan(str(path), "unknown")
    scope = Scope(result, allowlist or Allowlist(), limits, Budget(limits.max_opcodes))
    with path.open("rb") as fp:
        try:
            size = os.fstat(fp.fileno()).st_size
            result.format = scope.scan_source(Source(lambda: path.open("rb"), size=size, path=path))
            if fp.read(4) not in (b"PK\x03\x04", b"PK\x05\x06") and _ends_in_zip(fp):
                scope.note("the file is also a zip archive (its directory is at the end): scanned as one too")
                containers.scan_zip(fp, scope, polyglot=True)
        except (OSError, Truncated) as exc:
            return FileScan.unreadable(str(path), str(exc))
        except LimitExceeded as exc:
            result.add(Finding(None, None, "medium", f"scan limit reached ({exc}); the rest was not checked, "
                                                     "so the file cannot be vouched for", title="scan limit reached"))
    return result


def _ends_in_zip(fp: IO[bytes]) -> bool:
    fp.seek(0)
    return zipfile.is_zipfile(fp)


def iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """The files named, with folders walked (sorted, symlinked folders not followed). Only regular
    files: reading a FIFO or a device in a model folder would block the scan for ever, and neither
    nor a broken symlink holds a model."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                yield from (Path(root) / name for name in sorted(files) if (Path(root) / name).is_file())
        elif path.is_file() or not path.exists():  # a missing file is its reader's error to report
            yield path


def scan_path(path: str | os.PathLike[str], *, allowlist: Allowlist | None = None,
              limits: ScanLimits | None = None) -> list[FileScan]:
    """Scan a file, or every file under a folder.

    Examples
    --------
    >>> import tempfile
    >>> scan_path(tempfile.mkdtemp())
    []
    """
    return [scan_file(file, allowlist=allowlist, limits=limits) for file in iter_files([path])]
