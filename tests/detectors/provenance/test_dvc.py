"""Reading DVC files and re-computing DVC's digests (``detectors._dvc``): digests equal to real
DVC's, schema errors located."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskframe.detectors.provenance._dvc import dvc_dir_digest, load_dvc_file, md5_file
from riskframe.errors import DocumentError

# A project DVC 3.67.1 made (read-only here; test_dvc_lock.py edits copies of it).
FIXTURE = Path(__file__).parent / "dvc_lock_fixture"


def test_directory_digests_match_the_values_dvc_recorded():
    # Copied from dvc.lock and data/raw.dvc as DVC 3.67.1 wrote them.
    assert dvc_dir_digest(FIXTURE / "data/raw/images") == ("5f45101ce93cb6729ff10982d3f7c8a5.dir", 71, 6)
    assert dvc_dir_digest(FIXTURE / "data/raw") == ("2a72fb2d719d06903cc8bf2926d45bee.dir", 98, 7)
    assert md5_file(FIXTURE / "data/raw/labels.csv") == "909c41d261bff69eb7ab9905d005a5b1"


# Schema errors, located --------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("stages: {}\n", ["dvc.lock:1:1: no `schema: '2.0'`: a DVC 1 lock file (or not a lock file); regenerate it "
                      "with DVC 2 or later (dvc commit)"]),
    ("schema: '3.0'\nstages: {}\n", ["dvc.lock:1:1: schema: unsupported lock file schema '3.0'; riskframe reads "
                                     "schema '2.0' (DVC 2 and 3)"]),
    ("- a\n- b\n", ["dvc.lock:1:1: a DVC file must be a mapping (dvc.lock: schema and stages; .dvc: outs)"]),
    ("schema: '2.0'\nstages:\n  s: {cmd: x, deps: [{path: a, md5: nothex, sise: 3}]}\n", [
        "dvc.lock:3:32: stages.s.deps[0].md5: must be 32 lower-case hex digits, with '.dir' for a directory. "
        "Got 'nothex' instead.",
        "dvc.lock:3:45: stages.s.deps[0].sise: unknown field (did you mean 'size'?). Allowed fields: path, hash, "
        "md5, size, nfiles, isexec, etag, checksum, version_id, files, cloud, remote, push, cache, persist, desc, "
        "type, labels, meta"]),
    ("schema: '2.0'\nstages:\n  s:\n    outs:\n    - md5: d41d8cd98f00b204e9800998ecf8427e\n      size: -1\n"
     "      hash: sha256\n", [
         "dvc.lock:3:3: stages.s.cmd: required field is missing",
         "dvc.lock:5:7: stages.s.outs[0].path: required field is missing",
         "dvc.lock:6:7: stages.s.outs[0].size: must be an integer >= 0. Got -1 instead.",
         "dvc.lock:7:7: stages.s.outs[0].hash: must be 'md5'. Got 'sha256' instead."]),
    ("schema: '2.0'\nstages:\n  s:\n    cmd: x\n    outs: {path: a}\n",
     ["dvc.lock:5:5: stages.s.outs: must be a list of {path, hash, md5, size[, nfiles]} entries"]),
    ("schema: '2.0'\nstages:\n  s: {cmd: x}\n  s: {cmd: y}\n",
     ["dvc.lock:4:3: stages.s: duplicate key (YAML keeps only the last one)"]),
    ("schema: '2.0'\nstages: [\n", None),
])
def test_schema_errors_are_located_messages(tmp_path, text, expected):
    (tmp_path / "dvc.lock").write_text(text)

    with pytest.raises(DocumentError) as excinfo:
        load_dvc_file(tmp_path / "dvc.lock", "dvc.lock")

    lines = str(excinfo.value).splitlines()
    if expected is None:
        assert lines == ["dvc.lock:3:1: invalid YAML: expected the node content, but found '<stream end>'"]
    else:
        assert lines == expected
