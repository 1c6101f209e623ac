"""The pickle readings of a stream: what each loader that could unpickle it would run.

One stream can be unpickled by several loaders that read it differently, so the scan walks every
reading (each with :func:`riskframe.scanning.pickle_ops.walk_pickles`):

- **joblib** (``joblib.load``): arrays' bytes are read from the file after each array wrapper;
- **plain** (``pickle.load``, ``torch.load``, ``numpy.load``, ``pandas.read_pickle``): every
  byte is an opcode. A stream with joblib array wrappers is walked this way too, from its start:
  the bytes joblib reads as an array are opcodes to ``pickle.load``;
- **legacy torch** (``torch.load`` of a file saved with ``_use_new_zipfile_serialization=False``):
  five pickles (magic number, protocol, system info, the object, its storage keys), then raw
  storage bytes torch never unpickles.

A stream is *claimed* when it says it is a pickle (it starts with ``PROTO`` 2-5) or its loader
unpickles it whatever it holds (``data.pkl`` in a torch archive, an ``.npy`` object array). Any
other stream whose first byte is an opcode is walked too, *unclaimed*: ``pickle.load`` accepts
any first opcode, so a file is not vouched for until its pickle reading runs nothing either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from riskframe.scanning._opcodes import HANDLERS
from riskframe.scanning._stream import ByteStream
from riskframe.scanning.pickle_ops import MAX_PICKLES, Mode, StreamReport, walk_pickles

if TYPE_CHECKING:
    from riskframe.scanning.scan import Scope
    from riskframe.scanning.sources import Source

LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C  # first pickle of torch.save(..., _use_new_zipfile_serialization=False)
_LEGACY_TORCH_PICKLES = 5  # magic, protocol version, sys info, the object, its storage keys
OPCODE_BYTES = frozenset(code for code, handler in enumerate(HANDLERS) if handler is not None)


@dataclass
class PickleReading:
    """What the pickle readings of a stream found: whether it is a pickle at all, and its kind."""

    pickles: int = 0  # complete pickles in the main reading
    kind: str = "pickle"  # pickle, joblib, pytorch-legacy

    @property
    def is_pickle(self) -> bool:
        return self.pickles > 0


def could_be_pickle(head: bytes) -> bool:
    """``pickle.load`` would start reading these bytes: the first is an opcode."""
    return bool(head) and head[0] in OPCODE_BYTES


def read_pickles(scope: Scope, source: Source | None, stream: ByteStream, *, claimed: bool,
                 mode: Mode = "joblib", persistent_ids: bool = False) -> PickleReading:
    """Walk ``stream`` (opened from ``source``, not yet read) in every reading; findings go to ``scope``.

    ``mode="joblib"`` is a stream any loader may read (a file, an archive member): walked as joblib
    reads it and, if it holds array wrappers, as ``pickle.load`` reads it. ``mode="plain"`` is a
    stream only an unpickler without array layout reads (torch's ``data.pkl``, ``.npy`` objects).
    ``persistent_ids``: its loader has a ``persistent_load`` (torch's archives).
    """
    report = _walk(scope, stream, claimed=claimed, mode=mode, persistent_ids=persistent_ids, max_pickles=1)
    reading = PickleReading(report.pickles)
    if report.pickles and report.values[0] == LEGACY_TORCH_MAGIC:
        reading.kind = "pytorch-legacy"
        _merge(report, _walk(scope, stream, claimed=claimed, mode="plain", persistent_ids=True, continuation=True,
                             max_pickles=_LEGACY_TORCH_PICKLES - 1))
        if not stream.at_end():
            scope.note(f"tensor storages from byte {stream.offset} on: raw data that torch.load "
                       "reads as bytes, never unpickles")
    elif report.pickles and not report.complete:
        _merge(report, _walk(scope, stream, claimed=claimed, mode=mode, persistent_ids=True, continuation=True,
                             max_pickles=MAX_PICKLES))
    for finding in report.findings:
        scope.add(finding)
    if report.pickles > 1:
        scope.note(f"{report.pickles} pickles back to back, each scanned")
    if report.wrappers and mode == "joblib":
        reading.kind = "joblib"
        if source is None:
            raise ValueError("a stream read as joblib reads it is also read as pickle.load reads it: pass its source")
        _plain_reading(scope, source)
    return reading


def _plain_reading(scope: Scope, source: Source) -> None:
    """The stream as ``pickle.load`` reads it: the bytes joblib reads as arrays are opcodes."""
    with source.stream() as stream:
        report = _walk(scope, stream, claimed=False, mode="plain", persistent_ids=False, max_pickles=MAX_PICKLES)
    seen = set(scope.scan.findings)  # the joblib reading's findings up to the first array come again
    new = [f for f in report.findings if (f.within(scope.member) if scope.member else f) not in seen]
    for finding in new:
        scope.add(finding)
    if new:
        scope.note("read by pickle.load rather than joblib.load, the bytes joblib reads as arrays are opcodes: "
                   "findings of that reading are listed too")


def _walk(scope: Scope, stream: ByteStream, *, claimed: bool, mode: Mode, persistent_ids: bool,
          max_pickles: int, continuation: bool = False) -> StreamReport:
    return walk_pickles(stream, scope.allowlist, scope.limits, budget=scope.budget, torchscript=scope.torchscript,
                        claimed=claimed, mode=mode, persistent_ids=persistent_ids, max_pickles=max_pickles,
                        continuation=continuation)


def _merge(report: StreamReport, more: StreamReport) -> None:
    report.findings.extend(more.findings)
    report.pickles += more.pickles
    report.globals.update(more.globals)
    report.wrappers += more.wrappers
    report.complete = more.complete
