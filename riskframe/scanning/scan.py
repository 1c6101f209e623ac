"""File -> :class:`FileScan`: recognise the format by content, scan every pickle it holds.

Nothing is ever unpickled or imported: pickles are walked statically
(:mod:`riskframe.scanning.pickle_ops`), containers are unpacked as streams
(:mod:`riskframe.scanning.containers`), and formats that cannot hold code are checked for
well-formedness (:mod:`riskframe.scanning.safe_formats`, :mod:`riskframe.scanning.skops_files`).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from riskframe.scanning import containers
from riskframe.scanning._joblib import WRAPPERS
from riskframe.scanning._stream import ByteStream, Truncated
from riskframe.scanning.allowlist import Allowlist
from riskframe.scanning.findings import FileScan, Finding, ScanLimits
from riskframe.scanning.keras_files import SAVEDMODEL_RISK, is_saved_model
from riskframe.scanning.pickle_ops import MAX_PICKLES, StreamReport, walk_pickles
from riskframe.scanning.sniff import COMPRESSED, HEAD, NOT_SCANNED, sniff

LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C  # first pickle of torch.save(..., _use_new_zipfile_serialization=False)
_LEGACY_TORCH_PICKLES = 5  # magic, protocol version, sys info, the object, its storage keys
_RISKS = {  # what an unscanned format can do, for the notes
    "hdf5": " (a Keras .h5 model's config can hold Lambda layers whose code runs on load)",
}


@dataclass(frozen=True)
class Scope:
    """Where in a file the scan is (archive member, nesting depth) and what it reports into."""

    scan: FileScan
    allowlist: Allowlist
    limits: ScanLimits
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

    # -- dispatch ----------------------------------------------------------------------------
    def scan_stream(self, stream: ByteStream, expect: str = "any") -> str:
        """Sniff the stream and scan it as what it is; returns the format's name."""
        try:
            return self._dispatch(stream, expect)
        except Truncated as exc:  # a decompressor or zip member failing where no scanner catches it
            self.add(Finding(None, exc.offset, "medium", f"unreadable data: {exc}"))
            return "unknown"

    def _dispatch(self, stream: ByteStream, expect: str) -> str:
        head = stream.peek(HEAD)
        kind = sniff(head)
        if expect == "pickle" and kind not in ("pickle", "pickle-v0"):
            self.add(Finding(None, 0, "medium", f"expected a pickle here, found {kind} data"))
            return kind
        if kind in ("pickle", "pickle-v0"):
            return self.scan_pickles(stream, confirm=kind == "pickle-v0") or self.unrecognised("unknown")
        if kind == "zip":
            return containers.spool_and_scan_zip(stream, self)
        if kind == "npy":
            return containers.scan_npy(stream, self)
        if kind in COMPRESSED.values() or kind == "zlib":
            return self.scan_compressed(stream, kind)
        if kind in ("safetensors", "onnx?"):
            from riskframe.scanning.safe_formats import check_onnx, check_safetensors

            if kind == "safetensors":
                return check_safetensors(stream, self)
            if is_saved_model(head):
                self.cannot_vouch(SAVEDMODEL_RISK)
                return "tf-savedmodel"
            return check_onnx(stream, self) or self.unrecognised("unknown")
        return self.unrecognised(kind)

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

    def scan_compressed(self, stream: ByteStream, codec: str) -> str:
        if self.depth >= self.limits.max_depth:
            self.add(Finding(None, 0, "medium", f"containers nested more than {self.limits.max_depth} deep; "
                                                "the innermost was not scanned"))
            return codec
        raw = _StreamFile(stream)
        try:
            inner = containers.open_compressed(codec, raw)  # type: ignore[arg-type]
        except ImportError:
            return self.unrecognised(f"{codec} (not installed)")
        decompressed = ByteStream(inner, max_bytes=self.limits.max_decompressed_bytes)
        try:
            return f"{self.deeper().scan_stream(decompressed)}+{codec}"
        except (OSError, EOFError, ValueError) as exc:  # corrupt compressed data, caught by the codec
            self.add(Finding(None, None, "medium", f"corrupt {codec} stream: {exc}"))
            return f"unknown+{codec}"

    def scan_pickles(self, stream: ByteStream, *, confirm: bool = False) -> str | None:
        """Walk the pickles in ``stream``; None when ``confirm`` and it is not a pickle after all."""
        report = walk_pickles(stream, self.allowlist, self.limits, torchscript=self.torchscript,
                              max_pickles=1)
        if confirm and not report.pickles and not report.calls:
            return None  # text that happens to start like a protocol-0 pickle
        kind = "pickle"
        if report.pickles and report.values[0] == LEGACY_TORCH_MAGIC:
            kind = "pytorch-legacy"
            more = walk_pickles(stream, self.allowlist, self.limits, max_pickles=_LEGACY_TORCH_PICKLES - 1,
                                continuation=True)
            _merge(report, more)
            if not stream.at_end():
                self.note(f"tensor storages from byte {stream.offset} on: raw data that torch.load "
                          "reads as bytes, never unpickles")
        elif report.pickles and not report.complete:
            _merge(report, walk_pickles(stream, self.allowlist, self.limits, torchscript=self.torchscript,
                                        max_pickles=MAX_PICKLES, continuation=True))
        for finding in report.findings:
            self.add(finding)
        if report.pickles > 1:
            self.note(f"{report.pickles} pickles back to back, each scanned")
        if any(name in WRAPPERS for name in report.globals):
            kind = "joblib"
        return kind


def _merge(report: StreamReport, more: StreamReport) -> None:
    report.findings.extend(more.findings)
    report.pickles += more.pickles
    report.globals.update(more.globals)
    report.complete = more.complete


class _StreamFile:
    """A read-only file view of a ByteStream, for the decompressors."""

    def __init__(self, stream: ByteStream) -> None:
        self._stream = stream

    def read(self, n: int = -1) -> bytes:
        size = n if 0 < n <= 1 << 20 else 1 << 20
        data = self._stream.peek(size)
        self._stream.skip(len(data))
        return data

    def readable(self) -> bool:
        return True


# -- files and folders -----------------------------------------------------------------------

def scan_file(path: str | os.PathLike[str], *, allowlist: Allowlist | None = None,
              limits: ScanLimits | None = None) -> FileScan:
    """Scan one file and return its verdict; never raises on bad content.

    Raises :class:`OSError` only when the file cannot be opened.

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
    result = FileScan(str(path), "unknown")
    scope = Scope(result, allowlist or Allowlist(), limits or ScanLimits())
    with path.open("rb") as fp:
        stream = ByteStream(fp)
        head = stream.peek(HEAD)
        if sniff(head, path.stat().st_size) == "zip":
            result.format = containers.scan_zip(fp, scope)
            return result
        result.format = scope.scan_stream(stream)
        if _is_polyglot(fp):
            scope.note("the file is also a zip archive (its directory is at the end): scanned as one too")
            containers.scan_zip(fp, scope, polyglot=True)
    return result


def _is_polyglot(fp: object) -> bool:
    try:
        fp.seek(0)  # type: ignore[attr-defined]
        return zipfile.is_zipfile(fp)  # type: ignore[arg-type]
    except OSError:
        return False


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
