"""The control document's run limits: ``timeout`` and ``memory``, located when wrong."""

from __future__ import annotations

import textwrap

import pytest

from riskframe.errors import DocumentError
from riskframe.spec import load_document

CONTROL = """\
    apiVersion: riskframe/v1
    kind: Control
    id: c1
    title: Ensure something
    detector: label-issues
    """


def load(tmp_path, extra: str):
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(CONTROL) + extra)
    return path, load_document(path)


@pytest.mark.parametrize(("text", "n_bytes"), [
    ("4GiB", 4 * 2**30), ("512MiB", 512 * 2**20), ("2GB", 2 * 10**9), ("1.5 GiB", 3 * 2**29), ("300000000", 300_000_000),
])
def test_memory_takes_sizes_as_people_write_them(tmp_path, text, n_bytes):
    _, control = load(tmp_path, f"memory: {text}\n")
    assert control.memory == n_bytes


def test_memory_defaults_to_none_the_machines_share_at_run_time(tmp_path):
    _, control = load(tmp_path, "")
    assert control.memory is None and control.timeout == 600


@pytest.mark.parametrize(("text", "message"), [
    ("4 gigs", "memory: must be a size such as 4GiB, 512MiB or 2GB, or a number of bytes. Got '4 gigs' instead."),
    ("lots", "memory: must be a size such as 4GiB, 512MiB or 2GB, or a number of bytes. Got 'lots' instead."),
    ("1KiB", "memory: must be at least 16MiB, room for a run to do anything at all. Got 1.0KiB instead."),
    ("-5", "memory: must be a size such as 4GiB, 512MiB or 2GB, or a number of bytes. Got -5 instead."),
])
def test_a_bad_memory_is_a_located_error(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    with pytest.raises(DocumentError) as info:
        load(tmp_path, f"timeout: 30\nmemory: {text}\n")
    assert str(info.value) == f"{path}:7:1: {message}"
