"""Tar archives: torch's legacy tar format read as torch.load reads it, any other tar by content."""

from __future__ import annotations

import io
import pickle
import struct
import subprocess
import sys
import tarfile

import pytest

from devtools.scanning.asm import Asm
from riskframe.scanning import scan_file
from riskframe.scanning.tar_files import STORAGE_SIZES

EVIL = Asm(2).call("os", "system", "touch /tmp/never").stop()


def _tar(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


def legacy_tar() -> bytes:
    """torch's legacy tar layout, one storage of three floats and one tensor on it (as torch reads it)."""
    import torch

    storages = (pickle.dumps(1, protocol=2) + pickle.dumps((0, "cpu", torch.FloatStorage), protocol=2)
                + struct.pack("<q", 3) + struct.pack("<3f", 1.0, 2.0, 3.0) + pickle.dumps([], protocol=2))
    tensors = (pickle.dumps(1, protocol=2) + pickle.dumps((1, 0, torch.FloatTensor), protocol=2)
               + struct.pack("<ii", 1, 0) + struct.pack("<3q", 3, 1, 0))
    main = b"\x80\x02}X\x01\x00\x00\x00wP1\ns."  # {"w": persistent id "1"}: the tensor
    return _tar({"sys_info": pickle.dumps({"little_endian": True}, protocol=2), "storages": storages,
                 "tensors": tensors, "pickle": main})


def test_a_legacy_torch_tar_is_read_as_torch_reads_it_and_is_safe(tmp_path):
    (tmp_path / "old.pt").write_bytes(legacy_tar())

    scan = scan_file(tmp_path / "old.pt")

    assert (scan.format, scan.verdict, scan.findings) == ("pytorch-legacy-tar", "safe", [])


@pytest.mark.slow
def test_torch_itself_reads_the_legacy_tar_this_way(tmp_path):
    (tmp_path / "old.pt").write_bytes(legacy_tar())
    code = f"import torch; print(torch.load({str(tmp_path / 'old.pt')!r}, weights_only=False)['w'].tolist())"

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)

    assert out.stdout.strip() == "[1.0, 2.0, 3.0]"


def test_the_storage_sizes_are_torchs():
    import torch

    for name, size in STORAGE_SIZES.items():
        assert torch._utils._element_size(getattr(torch, f"{name}Storage")._dtype) == size, name


def _members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive}  # type: ignore[union-attr]


def test_a_payload_in_the_object_pickle_or_after_a_storage_is_found(tmp_path):
    parts = _members(legacy_tar())
    evil_object = _tar({**parts, "pickle": EVIL})
    evil_views = _tar({**parts, "storages": parts["storages"][:-len(pickle.dumps([], protocol=2))] + EVIL})

    for data in (evil_object, evil_views):
        (tmp_path / "m.pt").write_bytes(data)
        assert {(f.global_, f.severity) for f in scan_file(tmp_path / "m.pt").findings} == {("os.system", "critical")}


def test_a_member_torch_reads_that_is_a_link_is_a_finding(tmp_path):
    parts = {name: data for name, data in _members(legacy_tar()).items() if name != "pickle"}
    (tmp_path / "m.pt").write_bytes(_tar(parts, links={"pickle": "/home/user/.cache/model.pkl"}))

    (finding,) = scan_file(tmp_path / "m.pt").findings

    assert (finding.member, finding.severity) == ("pickle", "medium")
    assert finding.reason == ("torch.load extracts 'pickle' and reads it, but it is a link to "
                              "'/home/user/.cache/model.pkl': a file the scan never sees")


def test_any_other_tar_is_scanned_member_by_member(tmp_path):
    (tmp_path / "bundle.tar").write_bytes(_tar({"weights.pkl": pickle.dumps([1.0]), "hook.pkl": EVIL},
                                               links={"latest": "weights.pkl"}))

    scan = scan_file(tmp_path / "bundle.tar")

    assert scan.format == "tar" and [(f.member, f.global_) for f in scan.findings] == [("hook.pkl", "os.system")]
    assert scan.unverified == ["latest"]


def test_a_clean_tar_of_models_is_safe_and_a_compressed_one_too(tmp_path):
    import gzip

    data = _tar({"weights.pkl": pickle.dumps([1.0])})
    (tmp_path / "a.tar").write_bytes(data)
    (tmp_path / "a.tar.gz").write_bytes(gzip.compress(data))

    assert [(s.format, s.verdict) for s in map(scan_file, (tmp_path / "a.tar", tmp_path / "a.tar.gz"))] == [
        ("tar", "safe"), ("tar+gzip", "safe")]


def test_bytes_after_the_end_of_the_archive_are_a_low_finding(tmp_path):
    (tmp_path / "a.tar").write_bytes(_tar({"weights.pkl": pickle.dumps([1.0])}) + b"another archive")

    (finding,) = scan_file(tmp_path / "a.tar").findings

    assert finding.severity == "low" and finding.reason.startswith("bytes after the end of the tar archive")


def test_a_tar_ending_in_a_torch_checkpoint_is_safe_though_zipfile_also_reads_it(tmp_path):
    import torch

    buffer = io.BytesIO()
    torch.save({"w": torch.ones(3)}, buffer)
    (tmp_path / "bundle.tar").write_bytes(_tar({"model.pt": buffer.getvalue()}))

    scan = scan_file(tmp_path / "bundle.tar")

    assert (scan.format, scan.verdict, scan.findings) == ("tar", "safe", [])
    assert "the file is also a zip archive (its directory is at the end): scanned as one too" in scan.notes
