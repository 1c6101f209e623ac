"""A zip is safe only when every member was scanned or is known-inert for its layout's loader."""

from __future__ import annotations

import io
import pickle
import warnings
import zipfile

import numpy as np
import pytest
import torch

from devtools.scanning.asm import Asm
from riskframe.errors import UnsafeArtifactError
from riskframe.scanning import assert_safe_to_load, scan_file
from riskframe.scanning.layouts import member_role, torch_root, zip_kind

EVIL = Asm(2).call("os", "system", "id").stop()


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize(("kind", "name", "role"), [
    ("pytorch", "m/data.pkl", "pickle"),
    ("pytorch", "m/data/0", "inert"),
    ("pytorch", "m/data/key", "content"),  # storages are named by number
    ("pytorch", "m/.data/serialization_id", "inert"),
    ("pytorch", "m/code/__torch__/x.py", "content"),  # sources are inert only in TorchScript
    ("pytorch", "elsewhere/data/0", "content"),  # outside the archive's root folder
    ("torchscript", "m/code/__torch__/x.py", "inert"),
    ("torchscript", "m/code/__torch__/x.py.debug_pkl", "pickle"),
    ("torchscript", "m/constants.pkl", "pickle"),
    ("torchscript", "m/extra/meta.txt", "bytes"),
    ("torchscript", "m/traced_inputs/0", "inert"),
    ("skops", "schema.json", "inert"),
    ("skops", "123.npy", "content"),
    ("keras", "config.json", "inert"),
    ("keras", "model.weights.h5", "content"),
    ("zip", "README.txt", "content"),
])
def test_member_roles_are_drawn_narrowly_per_layout(kind, name, role):
    assert member_role(kind, name, torch_root(["m/data.pkl"])) == role


@pytest.mark.parametrize(("names", "kind"), [
    (["config.json", "metadata.json", "model.weights.h5"], "keras"),
    (["config.json", "model.weights.h5"], "keras"),
    (["config.json", "data.csv"], "zip"),
    (["m/saved_model.pb", "m/variables/variables.index"], "tf-savedmodel"),
    (["a/data.pkl", "a/b/data.pkl", "a/version"], "pytorch"),
])
def test_layouts_come_from_member_names(names, kind):
    assert zip_kind(names) == kind


def test_a_generic_zip_of_unscanned_members_is_unsupported_not_safe(tmp_path):
    archive = _zip(tmp_path / "bundle.zip", {"config.json": b'{"layers": []}', "weights.npy": _npy(np.ones(3))})

    scan = scan_file(archive)

    assert (scan.verdict, scan.unverified) == ("unsupported", ["config.json"])
    assert scan.unsupported_reason == "nothing vouches for part of it (config.json)"
    with pytest.raises(UnsafeArtifactError, match="verdict is 'unsupported'"):
        assert_safe_to_load(archive)


def test_a_zip_whose_members_are_all_scanned_is_safe(tmp_path):
    archive = _zip(tmp_path / "bundle.zip", {"w.npy": _npy(np.ones(3)), "labels.pkl": pickle.dumps([1, 2]),
                                              "empty": b""})

    assert scan_file(archive).verdict == "safe"


def test_an_unknown_member_in_a_torch_archive_makes_it_unsupported(tmp_path):
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(3)}, buffer)
    source = zipfile.ZipFile(buffer)
    root = torch_root(source.namelist())
    members = {name: source.read(name) for name in source.namelist()}

    clean = scan_file(_zip(tmp_path / "clean.pt", members))
    extra = scan_file(_zip(tmp_path / "extra.pt", {**members, f"{root}notes.txt": b"trained on digits\n"}))

    assert (clean.format, clean.verdict) == ("pytorch", "safe")
    assert (extra.format, extra.verdict, extra.unverified) == ("pytorch", "unsupported", [f"{root}notes.txt"])


def test_torchscript_extra_files_are_bytes_yet_a_pickle_there_is_still_judged(tmp_path):
    module = torch.jit.trace(torch.nn.Linear(4, 3), torch.zeros(1, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(module, str(tmp_path / "text.pt"), _extra_files={"meta.txt": "trained on digits"})
        torch.jit.save(module, str(tmp_path / "evil.pt"), _extra_files={"hook.pkl": EVIL})

    text, evil = scan_file(tmp_path / "text.pt"), scan_file(tmp_path / "evil.pt")

    assert (text.format, text.verdict) == ("torchscript", "safe")
    assert any(note.endswith("meta.txt: format not recognised; not scanned (bytes its loader never interprets)")
               for note in text.notes)
    assert [(f.global_, f.member.rsplit("/", 2)[-2:]) for f in evil.findings] == [("os.system", ["extra", "hook.pkl"])]


def test_an_unscanned_member_of_a_nested_zip_reaches_the_outer_verdict(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("model.h5", b"\x89HDF\r\n\x1a\n" + bytes(64))

    scan = scan_file(_zip(tmp_path / "outer.zip", {"inner.zip": inner.getvalue()}))

    assert (scan.verdict, scan.unverified) == ("unsupported", ["inner.zip/model.h5"])
    assert scan.to_dict()["unverified"] == ["inner.zip/model.h5"]


def test_the_torch_root_is_the_folder_of_the_first_member_as_torch_reads_it(tmp_path):
    """torch reads data.pkl, storages and stamps from the first member's folder: a data/0 storage
    elsewhere is not inert, it is scanned like any member."""
    evil = Asm(2).call("os", "system", "id").stop()
    with zipfile.ZipFile(tmp_path / "m.pt", "w") as archive:
        archive.writestr("real/data.pkl", pickle.dumps({"w": 1}))
        archive.writestr("decoy/data.pkl", pickle.dumps({"w": 2}))
        archive.writestr("decoy/data/0", evil)

    scan = scan_file(tmp_path / "m.pt")

    assert torch_root(["real/data.pkl", "decoy/data.pkl"]) == "real/"
    assert [(f.member, f.global_) for f in scan.findings] == [("decoy/data/0", "os.system")]
