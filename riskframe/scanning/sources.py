"""Where a scanned part of a file comes from: bytes the scan can read from their start again.

A file is read in several *views* (a zip and a pickle, joblib's reading and ``pickle.load``'s),
each from the first byte, so every part of a file the scan looks at is a :class:`Source`: the
file itself, an archive member, or a decompressed stream, opened anew for each view. Each
opening counts against the byte budgets that bound the scan: the decompressed bytes of one stream
(``ScanLimits.max_decompressed_bytes``) and the bytes read from one archive's members
(``ScanLimits.max_archive_bytes``, shared by all of them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from riskframe.scanning._stream import ByteStream

Opener = Callable[[], AbstractContextManager[IO[bytes]]]


@dataclass
class ByteBudget:
    """Bytes an archive's members may still yield; ``spent`` once they are gone."""

    remaining: int

    @property
    def spent(self) -> bool:
        return self.remaining <= 0


@dataclass(frozen=True)
class Source:
    """Bytes the scan can read from the start as often as it needs.

    ``opener`` returns a context manager yielding a binary file object positioned at the first
    byte; ``max_bytes`` caps one reading (a decompressed stream's), ``budgets`` are shared caps
    every reading counts against (the archives it sits in); ``size`` is the length when known;
    ``path`` is set when the bytes are a whole file on disk (containers then seek in it rather
    than copy it).
    """

    opener: Opener
    max_bytes: int | None = None
    budgets: tuple[ByteBudget, ...] = field(default=())
    size: int | None = None
    path: Path | None = None

    @contextmanager
    def stream(self) -> Iterator[ByteStream]:
        """A :class:`ByteStream` over the bytes, charged to the budgets when it is closed."""
        caps = [b.remaining for b in self.budgets] + ([self.max_bytes] if self.max_bytes is not None else [])
        with self.opener() as raw:
            stream = ByteStream(raw, max_bytes=max(0, min(caps)) if caps else None)
            try:
                yield stream
            finally:
                spent = stream.offset + len(stream._buf) - stream._pos  # read ahead counts too
                for budget in self.budgets:
                    budget.remaining -= max(spent, 1)
                    if stream.limit_hit:
                        budget.remaining = min(budget.remaining, 0)

    def within(self, opener: Opener, *, max_bytes: int | None = None, budget: ByteBudget | None = None,
               size: int | None = None) -> Source:
        """A source nested in this one (a member, a decompressed stream): it counts against this
        one's archive budgets, and ``budget`` if given."""
        return Source(opener, max_bytes, self.budgets + ((budget,) if budget else ()), size)
