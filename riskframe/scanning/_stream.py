"""A forward-only byte reader that keeps memory bounded whatever the file size.

The pickle walker reads one opcode at a time, but payloads can be gigabytes (a tensor's bytes in a
``BINBYTES8``, an array in a joblib file). :class:`ByteStream` reads the underlying file in chunks
of :data:`CHUNK` bytes, hands back small payloads as ``bytes`` and *skips* large ones (a seek on a
real file, a read-and-discard on a decompressing or archive-member stream), so the peak memory of a
scan is a chunk plus the walker's bounded state, never the file.
"""

from __future__ import annotations

import io
import lzma
import zipfile
import zlib
from typing import IO

CHUNK = 1 << 20  # 1 MiB: large enough that the per-chunk Python overhead vanishes
_STREAM_ERRORS = (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError, zipfile.BadZipFile)


class Truncated(Exception):
    """The stream ended in the middle of something (an opcode argument, a line, a skip);
    ``partial`` holds the start of a line the data ended in."""

    def __init__(self, offset: int, wanted: str, partial: bytes = b"") -> None:
        self.offset, self.partial = offset, partial
        super().__init__(f"the data ends at byte {offset} in the middle of {wanted}")


class Unreadable(Truncated):
    """The underlying stream failed (corrupt compressed data, a zip member's bad CRC)."""

    def __init__(self, offset: int, cause: Exception) -> None:
        self.offset, self.partial = offset, b""
        Exception.__init__(self, f"the data cannot be read past byte {offset} ({type(cause).__name__}: {cause})")


class LimitExceeded(Exception):
    """A scan limit (bytes read from a decompressing stream or an archive) was reached."""


class ByteStream:
    """Read ``raw`` forwards from its current position; offsets count from that position.

    Parameters
    ----------
    raw
        A binary file object. Real files (those with a ``fileno``) are skipped over by seeking.
    max_bytes
        Stop with :class:`LimitExceeded` once this many bytes have been consumed (decompression
        bombs: the decompressed size is only known by reading).
    """

    def __init__(self, raw: IO[bytes], max_bytes: int | None = None) -> None:
        self._raw = raw
        self._buf = b""
        self._pos = 0  # position in _buf
        self._base = 0  # stream offset of _buf[0]
        self._max = max_bytes
        self._seekable = _is_real_file(raw)
        self.limit_hit = False

    @property
    def offset(self) -> int:
        """Stream offset of the next unread byte."""
        return self._base + self._pos

    def _fill(self) -> bool:
        """Replace the consumed buffer with the next chunk; False at the end of the data."""
        rest = self._buf[self._pos:]
        self._base += self._pos
        chunk = self._read_raw(CHUNK)
        self._buf, self._pos = rest + chunk, 0
        if self._max is not None and self._base + len(self._buf) > self._max:
            self.limit_hit = True
            raise LimitExceeded(f"more than {self._max} bytes")
        return bool(chunk)

    def _read_raw(self, n: int) -> bytes:
        try:
            return self._raw.read(n)
        except _STREAM_ERRORS as exc:  # decompressors and zip members fail mid-stream on bad data
            raise Unreadable(self._base + len(self._buf) - self._pos, exc) from exc

    def at_end(self) -> bool:
        """True when no byte is left (reads ahead if needed)."""
        return self._pos >= len(self._buf) and not self._fill()

    def peek(self, n: int) -> bytes:
        """Up to ``n`` upcoming bytes without consuming them (``n`` <= :data:`CHUNK`)."""
        while len(self._buf) - self._pos < n and self._fill():
            pass
        return self._buf[self._pos:self._pos + n]

    def read_byte(self) -> int:
        """The next byte, or -1 at the end of the data."""
        if self._pos >= len(self._buf) and not self._fill():
            return -1
        byte = self._buf[self._pos]
        self._pos += 1
        return byte

    def read(self, n: int, what: str = "an argument") -> bytes:
        """Exactly ``n`` bytes (callers keep ``n`` small; large payloads go to :meth:`skip`)."""
        end = self._pos + n
        if end <= len(self._buf):
            data = self._buf[self._pos:end]
            self._pos = end
            return data
        while len(self._buf) - self._pos < n:
            if not self._fill():
                raise Truncated(self.offset + len(self._buf) - self._pos, what)
        return self.read(n, what)

    def skip(self, n: int, what: str = "a payload") -> None:
        """Consume ``n`` bytes without keeping them."""
        buffered = len(self._buf) - self._pos
        if n <= buffered:
            self._pos += n
            return
        remaining = n - buffered
        self._base += len(self._buf)
        self._buf, self._pos = b"", 0
        if self._seekable:
            here = self._raw.tell()
            size = self._raw.seek(0, io.SEEK_END)
            if here + remaining > size:
                self._base += size - here
                raise Truncated(self._base, what)
            self._raw.seek(here + remaining)
            self._base += remaining
            return
        while remaining:
            chunk = self._read_raw(min(remaining, CHUNK))
            if not chunk:
                raise Truncated(self._base, what)
            remaining -= len(chunk)
            self._base += len(chunk)
            if self._max is not None and self._base > self._max:
                self.limit_hit = True
                raise LimitExceeded(f"more than {self._max} bytes")

    def read_line(self, keep: int, what: str = "a text argument") -> tuple[bytes, int]:
        """Consume up to and including the next ``\\n``.

        Returns the line without its newline, cut to its first ``keep`` bytes, and its full length.
        """
        kept = bytearray()
        length = 0
        while True:
            if self._pos >= len(self._buf) and not self._fill():
                raise Truncated(self.offset, what, bytes(kept))
            newline = self._buf.find(b"\n", self._pos)
            end = len(self._buf) if newline < 0 else newline
            piece = self._buf[self._pos:end]
            if len(kept) < keep:
                kept += piece[:keep - len(kept)]
            length += len(piece)
            self._pos = end if newline < 0 else newline + 1
            if newline >= 0:
                return bytes(kept), length


def _is_real_file(raw: IO[bytes]) -> bool:
    try:
        raw.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return False
    return raw.seekable()


class StreamFile:
    """A read-only file view of a :class:`ByteStream` (for decompressors and numpy's header reader)."""

    def __init__(self, stream: ByteStream) -> None:
        self._stream = stream

    def read(self, n: int = -1) -> bytes:
        size = n if 0 < n <= CHUNK else CHUNK
        data = self._stream.peek(size)
        self._stream.skip(len(data))
        return data

    def readable(self) -> bool:
        return True
