"""Tar archives: torch's legacy tar format exactly as ``torch.load`` reads it, any other by content.

``torch.load`` (without ``weights_only=True``, which refuses the format) first tries to open a
file that is not a zip with Python's :mod:`tarfile`; if that works, the file is torch's pre-1.0
tar format and it reads three members, by name (the last member of that name):

- ``storages``: a pickle (the storage count), then per storage a pickle ``(key, location,
  storage type)``, an 8-byte element count and that many elements of the type's size, then a
  pickle of storage views;
- ``tensors``: a pickle (the tensor count), then per tensor a pickle and its sizes, strides and
  offset as raw integers (a 4-byte dimension count, 4 bytes, 8 per dimension twice, 8);
- ``pickle``: the object, unpickled with torch's persistent ids.

Every pickle there is unpickled, so each is walked; the raw parts are stepped over exactly as torch
reads them, and a part the scan cannot step over exactly is a finding. A member torch reads that is
a link (extracting it would read another file) is a finding too. In any other tar, every regular
member is scanned by content like an archive member, and a link is not vouched for.
"""

from __future__ import annotations

import tarfile
from typing import TYPE_CHECKING, Any, BinaryIO

from riskframe.scanning._stream import ByteStream, LimitExceeded, Truncated
from riskframe.scanning._values import Ref, Seq
from riskframe.scanning.containers import scan_archive_source
from riskframe.scanning.findings import Finding
from riskframe.scanning.pickle_ops import Unfollowable, walk_pickles
from riskframe.scanning.sources import ByteBudget, Source

if TYPE_CHECKING:
    from riskframe.scanning.scan import Scope

TORCH_MEMBERS = ("storages", "tensors", "pickle")
# Element sizes of the storage classes legacy files name (torch._utils._element_size of their dtype).
STORAGE_SIZES = {"Double": 8, "Float": 4, "Half": 2, "BFloat16": 2, "Long": 8, "Int": 4, "Short": 2,
                 "Char": 1, "Byte": 1, "Bool": 1, "ComplexDouble": 16, "ComplexFloat": 8, "QUInt8": 1,
                 "QInt8": 1, "QInt32": 4, "QUInt4x2": 1, "QUInt2x4": 1}


def scan_tar_source(source: Source, stream: ByteStream, scope: Scope) -> str:
    """A tar: the file itself when it is one on disk, else a bounded copy of it."""
    return scan_archive_source(source, stream, scope, scan_tar, "tar")


def scan_tar(fp: BinaryIO, scope: Scope) -> str:
    """Scan the tar in ``fp`` as torch.load reads it (when it is torch's layout) or by content."""
    try:
        archive = tarfile.open(fileobj=fp, mode="r:", format=tarfile.PAX_FORMAT)  # noqa: SIM115  closed below
    except tarfile.TarError as exc:
        scope.note(f"its first block looks like a tar header, but tarfile does not open it ({exc})")
        return "unknown"
    with archive:
        return _scan_archive(archive, fp, scope)


def _scan_archive(archive: tarfile.TarFile, fp: BinaryIO, scope: Scope) -> str:
    try:
        members = _members(archive, scope.limits.max_members)
    except tarfile.TarError as exc:
        scope.add(Finding(None, None, "medium", f"a member header tarfile cannot read ({exc}): the archive "
                                                "cannot be vouched for",
                          title="a member header tarfile cannot read"))
        return "tar"
    if members is None:
        scope.add(Finding(None, None, "medium", f"archive holds more than {scope.limits.max_members} members "
                                                "(the scan reads that many); the rest was not read",
                          title=f"archive holds more than {scope.limits.max_members} members"))
        return "tar"
    torch_members = _torch_members(archive, members)
    budget = ByteBudget(scope.limits.max_archive_bytes)
    for member in members:
        _scan_member(archive, member, torch_members, scope, budget)
        if budget.spent:
            scope.add(Finding(None, None, "medium", f"archive holds more than {scope.limits.max_archive_bytes} "
                                                    "bytes (the scan reads that many); the rest was not read",
                              title=f"archive holds more than {scope.limits.max_archive_bytes} bytes"))
            break
    _check_end(fp, archive.offset, scope)
    return "pytorch-legacy-tar" if torch_members else "tar"


def _members(archive: tarfile.TarFile, limit: int) -> list[tarfile.TarInfo] | None:
    members = []
    for member in archive:
        members.append(member)
        if len(members) > limit:
            return None
    return members


def _torch_members(archive: tarfile.TarFile, members: list[tarfile.TarInfo]) -> dict[str, tarfile.TarInfo]:
    """The members ``torch.load`` reads (``getmember``: the last of each name), if it reads this tar."""
    try:
        return {name: archive.getmember(name) for name in TORCH_MEMBERS}
    except KeyError:
        return {}


def _scan_member(archive: tarfile.TarFile, member: tarfile.TarInfo, torch_members: dict[str, tarfile.TarInfo],
                 scope: Scope, budget: ByteBudget) -> None:
    role = next((name for name, chosen in torch_members.items() if chosen is member), None)
    child = scope.child(member.name)
    if member.isdir():
        return
    if not member.isfile():
        if role is not None:
            child.add(Finding(None, None, "medium", f"torch.load extracts {role!r} and reads it, but it is a link "
                                                    f"to {member.linkname!r}: a file the scan never sees",
                              title=f"torch.load extracts {role!r} and reads it, but it is a link to "
                                    f"{member.linkname!r}"))
        else:
            child.cannot_vouch(f"a link to {member.linkname!r}; not scanned")
        return
    source = Source(lambda: archive.extractfile(member), budgets=(budget,), size=member.size)  # type: ignore[arg-type,return-value]
    if role is None:
        child.scan_source(source)
        return
    try:
        with source.stream() as stream:
            if role == "pickle":
                from riskframe.scanning.pickle_views import read_pickles

                read_pickles(child, None, stream, claimed=True, mode="plain", persistent_ids=True)
            else:
                _walk_records(child, stream, role)
    except Truncated as exc:
        child.add(Finding(None, exc.offset, "medium", f"the member ends inside a record torch.load reads ({exc}); "
                                                      "it runs every pickle before this point",
                          title="the member ends inside a record torch.load reads"))
    except LimitExceeded as exc:
        child.add(Finding(None, None, "medium", f"scan limit reached ({exc}); the rest was not checked",
                          title="scan limit reached"))


def _walk_records(scope: Scope, stream: ByteStream, role: str) -> None:
    """``storages`` or ``tensors``: counted records of a pickle and raw bytes, as torch reads them."""
    try:
        count = _int(_pickle(scope, stream), "the record count")
        for _ in range(count):
            record = _pickle(scope, stream)
            if role == "storages":
                size = _element_size(record)
                numel = int.from_bytes(stream.read(8, "a storage's element count"), "little", signed=True)
                if numel < 0:
                    raise Unfollowable(stream.offset, "a negative storage size")
                stream.skip(numel * size, "a storage's elements")
            else:
                dims = int.from_bytes(stream.read(4, "a tensor's dimension count"), "little", signed=True)
                if dims < 0:
                    return  # struct.unpack refuses a negative count: torch.load stops here
                stream.skip(4 + 16 * dims + 8, "a tensor's sizes, strides and offset")
        if role == "storages":
            _pickle(scope, stream)  # the storage views
    except Unfollowable as exc:
        scope.add(Finding(None, exc.offset, "medium", f"the scan cannot follow this member as torch.load "
                                                      f"reads it: {exc}",
                          title="the scan cannot follow this member as torch.load reads it"))
        return
    except _Stopped:
        return
    if not stream.at_end():
        scope.add(Finding(None, stream.offset, "low", f"bytes after the records torch.load reads (from byte "
                                                      f"{stream.offset}): no loader reads them",
                          title="bytes after the records torch.load reads"))


class _Stopped(Exception):
    """A pickle ended the member (its findings are already reported): torch.load stops there too."""


def _pickle(scope: Scope, stream: ByteStream) -> Any:
    report = walk_pickles(stream, scope.allowlist, scope.limits, budget=scope.budget, mode="plain",
                          persistent_ids=False, max_pickles=1)
    for finding in report.findings:
        scope.add(finding)
    if not report.pickles:
        raise _Stopped
    return report.values[0]


def _int(value: Any, what: str) -> int:
    if type(value) not in (int, bool):
        raise Unfollowable(0, f"{what} is not a number the scan reads")
    return int(value)


def _element_size(record: Any) -> int:
    """The element size of the storage type in a ``(key, location, storage type)`` record."""
    storage = record.items[2] if isinstance(record, Seq) and record.exact and record.length == 3 else None
    if isinstance(storage, Ref) and storage.module in ("torch", "torch.cuda") and storage.name.endswith("Storage"):
        size = STORAGE_SIZES.get(storage.name[:-len("Storage")])
        if size is not None:
            return size
    raise Unfollowable(0, f"a storage record whose type the scan does not know ({record!r:.80})")


def _check_end(fp: BinaryIO, end: int, scope: Scope) -> None:
    """After the last member only zero blocks may follow: anything else is another reader's content."""
    fp.seek(end)
    while chunk := fp.read(1 << 20):
        if chunk.strip(b"\0"):
            scope.add(Finding(None, end, "low", f"bytes after the end of the tar archive (from byte {end}): "
                                                "tarfile never reads them, another reader may",
                              title="bytes after the end of the tar archive"))
            return
