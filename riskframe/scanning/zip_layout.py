"""Is a zip archive one archive? Its bytes checked against the one directory every reader finds.

Zip readers disagree on files that are not exactly one archive. Python's :mod:`zipfile` finds
the end-of-central-directory record by its own search and shifts every offset by the bytes in
front of the directory ("concatenated" archives); the miniz reader behind ``torch.load`` searches
differently, takes offsets as they are written, and looks members up without regard to case;
a zip64 locator may point one way while Python assumes the other. One file can thus hold two
archives, one for each reader: the scan would read one and ``torch.load`` run the other.

:func:`layout_problems` accepts an archive only when every reader must see the same one: one
end record, found by both searches, ending the file (its comment holds no record signature); the
zip64 records, when present, where both readers look and agreeing with the 32-bit fields; the
central directory exactly where the end record says (nothing in front of the archive), holding
exactly the entries it declares; names without NUL bytes, unique even ignoring case; and the
local headers, member data and data descriptors tiling every byte from 0 to the directory, each
local header agreeing with its directory entry. Anything else is a problem to report.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

_EOCD, _LOCATOR, _ZIP64_EOCD = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06"
_CENTRAL, _LOCAL, _DESCRIPTOR = b"PK\x01\x02", b"PK\x03\x04", b"PK\x07\x08"
_SEARCH = 22 + 0xFFFF  # the end record plus the longest comment
_MAX16, _MAX32 = 0xFFFF, 0xFFFFFFFF
_DESCRIPTOR_FLAG = 0x08


class _Bad(Exception):
    pass


@dataclass
class _Entry:
    name: bytes
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    offset: int
    zip64: bool


def layout_problems(fp: BinaryIO) -> list[str]:
    """What keeps the zip in ``fp`` from being exactly one archive; empty when nothing does."""
    try:
        _check(fp)
    except _Bad as exc:
        return [str(exc)]
    except (struct.error, OSError, ValueError) as exc:
        return [f"its structure cannot be read ({exc})"]
    return []


def _check(fp: BinaryIO) -> None:
    size = fp.seek(0, 2)
    start = max(0, size - _SEARCH - 76)
    fp.seek(start)
    tail = fp.read()
    at = _end_record(tail)
    disk, cd_disk, entries_here, entries, cd_size, cd_offset = struct.unpack("<4x4H2L", tail[at:at + 20])
    if disk or cd_disk or entries_here != entries:
        raise _Bad("an archive spanning several disks")
    cd_end = start + at
    zip64 = _zip64(tail, at, start)
    if zip64 is not None:
        markers = (_MAX16, _MAX32, _MAX32)
        for narrow, wide, marker in zip((entries, cd_size, cd_offset), zip64[:3], markers, strict=True):
            if narrow not in (marker, wide):
                raise _Bad("the zip64 end record and the end record disagree")
        entries, cd_size, cd_offset = zip64[:3]
        cd_end = zip64[3]
    elif _MAX32 in (cd_size, cd_offset) or entries == _MAX16:
        raise _Bad("zip64 sizes without zip64 records")
    if cd_offset + cd_size != cd_end:
        raise _Bad(f"the central directory ends at byte {cd_offset + cd_size}, not at byte {cd_end} where the end "
                   "record is: the archive does not start at byte 0, or another one is inside it")
    fp.seek(cd_offset)
    listed = _entries(fp.read(cd_size), entries)
    _tile(fp, listed, cd_offset)


def _end_record(tail: bytes) -> int:
    """Where the end record is, if Python's zipfile and miniz both find it there and it ends the file.

    Python takes the last 22 bytes when they are a record without a comment, else the last
    signature in the final 64 KiB; miniz takes the last signature with 22 bytes after it.
    """
    n = len(tail)
    python = n - 22 if tail[n - 22:n - 18] == _EOCD and tail[-2:] == b"\0\0" else tail.rfind(_EOCD)
    miniz = tail.rfind(_EOCD, 0, n - 18)
    if python < 0 or python != miniz:
        raise _Bad("no end-of-central-directory record that every zip reader finds at the same place")
    comment = struct.unpack("<H", tail[python + 20:python + 22])[0]
    if python + 22 + comment != n:
        raise _Bad(f"{n - python - 22 - comment} bytes after the end record and its comment")
    if _LOCATOR in tail[python + 22:] or _ZIP64_EOCD in tail[python + 22:]:
        raise _Bad("zip64 signatures inside the end record's comment")
    return python


def _zip64(tail: bytes, at: int, start: int) -> tuple[int, int, int, int] | None:
    """(entries, directory size, directory offset, record offset) from the zip64 records, if any."""
    locator = tail[at - 20:at] if at >= 20 else b""
    if locator[:4] != _LOCATOR:
        return None
    disk, offset, disks = struct.unpack("<LQL", locator[4:])
    record_at = at - 20 - 56
    if disk or disks > 1 or record_at < 0 or offset != start + record_at:
        raise _Bad("the zip64 locator points somewhere other than where Python's zipfile reads the zip64 record")
    record = tail[record_at:record_at + 56]
    sig, length, _, _, disk, cd_disk, here, entries, cd_size, cd_offset = struct.unpack("<4sQ2H2L4Q", record)
    if sig != _ZIP64_EOCD or length != 44 or disk or cd_disk or here != entries:
        raise _Bad("a zip64 end record that readers interpret differently")
    return entries, cd_size, cd_offset, start + record_at


def _entries(directory: bytes, count: int) -> list[_Entry]:
    entries, position, seen = [], 0, set()
    while position < len(directory):
        if directory[position:position + 4] != _CENTRAL:
            raise _Bad(f"the central directory holds something other than entries at its byte {position}")
        (flags, method, crc, csize, usize, name_len, extra_len, comment_len,
         offset) = struct.unpack("<4x4xHH4xLLLHHH8xL", directory[position:position + 46])
        name = directory[position + 46:position + 46 + name_len]
        extra = directory[position + 46 + name_len:position + 46 + name_len + extra_len]
        position += 46 + name_len + extra_len + comment_len
        if position > len(directory):
            raise _Bad("a central directory entry runs past the directory")
        usize, csize, offset, zip64 = _widen(extra, usize, csize, offset)
        if b"\0" in name:
            raise _Bad(f"a member name with a NUL byte ({name[:40]!r}): readers cut it differently")
        if name.lower() in seen:
            raise _Bad(f"two members named {name.decode('utf-8', 'replace')!r} (ignoring case): readers pick "
                       "different ones")
        seen.add(name.lower())
        entries.append(_Entry(name, flags, method, crc, csize, usize, offset, zip64))
    if len(entries) != count:
        raise _Bad(f"the directory holds {len(entries)} entries where the end record declares {count}")
    return entries


def _widen(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int, bool]:
    """The zip64 extra field's values for the fields marked 0xFFFFFFFF (exactly one such field)."""
    fields, position = [], 0
    while position < len(extra):
        kind, length = struct.unpack("<HH", extra[position:position + 4])
        if position + 4 + length > len(extra):
            raise _Bad("an extra field runs past its entry")
        fields.append((kind, extra[position + 4:position + 4 + length]))
        position += 4 + length
    wide = [data for kind, data in fields if kind == 1]
    if len(wide) > 1:
        raise _Bad("two zip64 extra fields in one entry")
    values = list(struct.unpack(f"<{len(wide[0]) // 8}Q", wide[0][:len(wide[0]) // 8 * 8])) if wide else []
    out = []
    for value in (usize, csize, offset):
        if value == _MAX32:
            if not values:
                raise _Bad("a zip64 size without its zip64 extra field")
            value = values.pop(0)
        out.append(value)
    return out[0], out[1], out[2], bool(wide)


def _tile(fp: BinaryIO, entries: list[_Entry], cd_offset: int) -> None:
    """Local headers, data and descriptors must cover every byte before the directory, once."""
    position = 0
    for entry in sorted(entries, key=lambda e: e.offset):
        if entry.offset != position:
            what = "overlaps the member before it" if entry.offset < position else "leaves bytes unaccounted for"
            raise _Bad(f"member {entry.name.decode('utf-8', 'replace')!r} at byte {entry.offset} {what} "
                       f"(byte {position})")
        fp.seek(entry.offset)
        header = fp.read(30)
        (sig, flags, method, crc, csize, usize, name_len,
         extra_len) = struct.unpack("<4s2xHH4xLLLHH", header)
        name = fp.read(name_len)
        extra = fp.read(extra_len)
        if sig != _LOCAL or name != entry.name or flags != entry.flags or method != entry.method:
            raise _Bad(f"the local header of {entry.name.decode('utf-8', 'replace')!r} disagrees with the directory")
        if not flags & _DESCRIPTOR_FLAG:
            usize, csize, _, _ = _widen(extra, usize, csize, 0)
            if (crc, csize, usize) != (entry.crc, entry.csize, entry.usize):
                raise _Bad(f"the local header of {entry.name.decode('utf-8', 'replace')!r} gives other sizes than "
                           "the directory")
        end = entry.offset + 30 + name_len + extra_len + entry.csize
        position = end + (_descriptor(fp, end, entry) if flags & _DESCRIPTOR_FLAG else 0)
    if position != cd_offset:
        raise _Bad(f"bytes {position} to {cd_offset} lie between the last member and the directory")


def _descriptor(fp: BinaryIO, at: int, entry: _Entry) -> int:
    """The length of the data descriptor at ``at`` (with or without its signature, 32- or 64-bit)."""
    fp.seek(at)
    data = fp.read(24)
    for signed in (True, False):
        body = data[4:] if signed else data
        if signed and data[:4] != _DESCRIPTOR:
            continue
        for wide in ((True, False) if entry.zip64 else (False,)):
            fmt = "<LQQ" if wide else "<LLL"
            length = struct.calcsize(fmt)
            if len(body) >= length and struct.unpack(fmt, body[:length]) == (entry.crc, entry.csize, entry.usize):
                return length + 4 * signed
    raise _Bad(f"the data descriptor of {entry.name.decode('utf-8', 'replace')!r} does not match the directory")
