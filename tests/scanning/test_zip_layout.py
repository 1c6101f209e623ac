"""A zip is accepted only when every reader sees the same one archive in it."""

from __future__ import annotations

import io
import pickle
import struct
import zipfile

import numpy as np
import pytest

from riskframe.scanning import scan_file
from riskframe.scanning.zip_layout import layout_problems


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED, comment: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.comment = comment
    return buffer.getvalue()


def problems(data: bytes) -> list[str]:
    return layout_problems(io.BytesIO(data))


def test_archives_as_their_writers_write_them_are_one_archive(tmp_path):
    import torch

    torch.save({"w": torch.ones(3)}, tmp_path / "state.pt")
    np.savez(tmp_path / "a.npz", x=np.ones(3))
    np.savez_compressed(tmp_path / "b.npz", x=np.ones(3))
    with zipfile.ZipFile(tmp_path / "z64.zip", "w") as archive, archive.open("x", "w", force_zip64=True) as member:
        member.write(b"abc")
    streamed = io.BytesIO()
    with zipfile.ZipFile(_Unseekable(streamed), "w", zipfile.ZIP_DEFLATED) as archive:  # data descriptors
        archive.writestr("a.pkl", pickle.dumps([1.0]))

    for path in ("state.pt", "a.npz", "b.npz", "z64.zip"):
        assert problems((tmp_path / path).read_bytes()) == [], path
    assert problems(streamed.getvalue()) == []
    assert problems(_zip({"a": b"x"}, comment=b"a comment")) == []


def test_sixty_five_thousand_members_use_zip64_records_and_are_one_archive():
    data = _zip({f"{i}": b"" for i in range(70_000)}, zipfile.ZIP_STORED)
    assert b"PK\x06\x06" in data[-200:]

    assert problems(data) == []


class _Unseekable(io.RawIOBase):
    def __init__(self, target: io.BytesIO) -> None:
        self.target = target

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        return self.target.write(data)

    def tell(self) -> int:
        return self.target.tell()


ONE = _zip({"a.pkl": pickle.dumps([1]), "b.txt": b"hello"})


@pytest.mark.parametrize(("data", "problem"), [
    (b"junk" + ONE, "the central directory ends at byte"),
    (ONE + ONE, "the central directory ends at byte"),
    (ONE + b"trailing", "8 bytes after the end record and its comment"),
    (ONE[:-2] + b"\x05\x00" + b"abcde" + b"PK\x05\x06", "no end-of-central-directory record"),
    (_zip({"data.pkl": b"1", "DATA.PKL": b"2"}), "two members named 'DATA.PKL' (ignoring case)"),
    (_zip({"a.pkl\x01evil": b"1"}).replace(b"\x01evil", b"\x00evil"), "a member name with a NUL byte"),
], ids=["prefix", "two-archives", "trailing", "comment-with-record", "case", "nul"])
def test_what_makes_readers_disagree_is_named(data, problem):
    (found,) = problems(data)

    assert problem in found


def test_a_gap_between_members_or_before_the_directory_is_bytes_no_reader_accounts_for():
    data = bytearray(_zip({"a": b"1" * 100, "b": b"2"}, zipfile.ZIP_STORED))
    directory = struct.unpack("<L", data[-6:-2])[0]
    gap = bytes(data[:directory]) + b"HIDDEN" + bytes(data[directory:])
    gap = gap[:-6] + struct.pack("<L", directory + 6) + gap[-2:]  # the directory moved; the end record says so

    (found,) = problems(gap)

    assert found.startswith(f"bytes {directory} to {directory + 6} lie between the last member and the directory")


def test_a_local_header_disagreeing_with_the_directory_is_a_problem():
    data = bytearray(_zip({"model.pkl": pickle.dumps([1])}, zipfile.ZIP_STORED))
    data[30:39] = b"other.pkl"  # the name in the local header

    (found,) = problems(bytes(data))

    assert found == "the local header of 'model.pkl' disagrees with the directory"


def test_a_two_archive_file_is_unsafe_while_its_zip_reading_alone_looks_clean(tmp_path):
    (tmp_path / "m.zip").write_bytes(ONE + ONE)

    scan = scan_file(tmp_path / "m.zip")

    assert scan.verdict == "unsafe"
    assert [f.reason.split(":")[0] for f in scan.findings] == ["not exactly one zip archive"]


def test_a_zip_after_other_bytes_is_read_as_pythons_zipfile_reads_it_and_never_safe(tmp_path):
    # only Python's zipfile finds a zip that does not start the file (torch.load needs PK at byte 0)
    (tmp_path / "m.bin").write_bytes(b"junk" + ONE)

    scan = scan_file(tmp_path / "m.bin")

    assert (scan.verdict, scan.findings) == ("unsupported", [])
    assert any(note.startswith("as a zip, it is not exactly one archive (the central directory ends at")
               for note in scan.notes)
