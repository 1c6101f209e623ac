"""The corpus end to end: every malicious file caught with the right globals and severities,
every benign file safe, and nothing ever run (the payloads' canary file never appears)."""

from __future__ import annotations

import pickle

import pytest

from devtools.scanning.corpus import build_corpus, gadget_payloads
from riskframe.scanning import scan_file, scan_path

GADGET_FAMILIES = {  # the families issue 4 lists, each present in the corpus
    "os.system", "subprocess", "eval", "exec", "getattr-import", "open", "runpy", "importlib",
    "pickle.loads", "timeit", "cProfile", "pdb", "code", "ctypes", "numpy-runstring", "torch.load",
    "socket", "urllib", "webbrowser", "pip", "requests",
}
CONTAINERS = {  # every container the scanner unpacks carries a payload
    "pickle-p0", "pickle-p1", "pickle-p2", "pickle-p3", "pickle-p4", "pickle-p5", "torch-zip",
    "torch-legacy", "joblib", "joblib-zlib", "joblib-gzip", "npy-object-array", "npz-object-array",
    "zip", "zip-in-zip", "torchscript-constants", "gzip", "pickle+zip", "skops", "keras",
}


def test_the_corpus_covers_every_gadget_family_and_container(corpus):
    assert {s.family for s in corpus.malicious} >= GADGET_FAMILIES
    assert {s.container for s in corpus.malicious} >= CONTAINERS
    assert {"numpy arrays", "scikit-learn pipeline", "random forest", "torch state dict", "whole torch.nn module",
            "OrderedDict of arrays", "TorchScript model", "tensors", "ONNX model"} <= {s.family for s in corpus.benign}


def test_every_malicious_file_is_caught_with_its_globals_and_severities(corpus):
    missed = {}
    for sample in corpus.malicious:
        scan = scan_file(corpus.path(sample.name))
        found = {(f.global_, f.severity) for f in scan.findings}
        if scan.verdict != "unsafe" or not set(sample.expect) <= found:
            missed[sample.label] = (scan.verdict, sorted(map(str, found)), list(sample.expect))
    assert not missed


def test_every_benign_file_is_safe_and_recognised(corpus):
    flagged = {s.name: [str(f) for f in scan.findings] + scan.notes
               for s in corpus.benign if (scan := scan_file(corpus.path(s.name))).verdict != "safe"}
    assert not flagged


@pytest.mark.parametrize(("name", "fmt"), [
    ("torch-zip.pt", "pytorch"), ("torch-legacy.pt", "pytorch-legacy"), ("model.joblib", "joblib"),
    ("model-zlib.joblib", "joblib+zlib"), ("model-gzip.joblib", "joblib+gzip"), ("objects.npy", "npy"),
    ("arrays.npz", "npz"), ("bundle.zip", "zip"), ("torchscript-evil.pt", "torchscript"),
    ("model.pkl.gz", "pickle+gzip"), ("model.skops", "skops"), ("state-dict.pt", "pytorch"),
    ("weights.safetensors", "safetensors"), ("model.onnx", "onnx"), ("forest-zlib.joblib", "joblib+zlib"),
])
def test_formats_are_recognised_by_content(corpus, name, fmt, tmp_path):
    renamed = tmp_path / "model.bin"  # the extension says nothing
    renamed.write_bytes(corpus.path(name).read_bytes())

    assert scan_file(renamed).format == fmt


def test_findings_in_archives_name_the_member(corpus):
    nested = scan_file(corpus.path("nested.zip"))
    torchscript = scan_file(corpus.path("torchscript-evil.pt"))

    assert [f.member for f in nested.findings] == ["inner/bundle.zip/model/evil.pkl"]
    assert torchscript.findings[0].member.endswith("/constants.pkl")


def test_a_joblib_payload_after_the_array_bytes_is_found_at_its_offset(corpus):
    data = corpus.path("model.joblib").read_bytes()
    finding = scan_file(corpus.path("model.joblib")).findings[0]

    # joblib writes 2048 float64s (16 KiB) into the stream before the payload's global
    assert finding.offset > 2048 * 8
    assert data[finding.offset - 20:finding.offset + 2].count(b"system") == 1


def test_the_canary_is_never_created_and_the_payloads_are_real(corpus, tmp_path):
    scan_path(corpus.folder)

    assert not corpus.canary.exists()
    # the payload names the real gadget: os.system with a command touching the canary
    payload, _ = gadget_payloads(corpus.canary)["os.system"]
    assert pickle.dumps(payload, protocol=0).startswith(b"cposix\nsystem\n")
    assert str(corpus.canary).encode() in pickle.dumps(payload)


def test_the_corpus_is_rebuilt_identically_in_another_folder(corpus, tmp_path):
    again = build_corpus(tmp_path / "again", corpus.canary)

    assert [s.name for s in again] == [s.name for s in corpus.samples]
    assert (tmp_path / "again" / "gadget-eval.pkl").read_bytes() == corpus.path("gadget-eval.pkl").read_bytes()
