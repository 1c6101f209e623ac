"""model-file-scan on real files in a real stage, and the detector contract suite."""

from __future__ import annotations

import gzip
import json
import pickle

import numpy as np
import pytest
from pydantic import ValidationError

from devtools.scanning.asm import Asm
from devtools.scanning.corpus_files import _pb, keras_bytes
from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.provenance.model_scan import ModelFileScan, ModelFileScanParams
from riskframe.detectors.registry import Registry
from riskframe.errors import NotApplicableError
from riskframe.spec.pipeline import Artifact, Stage
from riskframe.testing import check_detector, parametrize_detector_checks

_registry = Registry()
_registry.register(ModelFileScan)
EVIL = Asm(2).call("os", "system", "touch CANARY").stop()
DENSE = {"module": "keras.layers", "class_name": "Dense", "registered_name": None, "config": {"units": 2}}


@pytest.mark.slow  # the fast lane runs these very cases in tests/detectors/test_contract.py (model-file-scan-*)
@parametrize_detector_checks(_registry)
def test_the_detector_honours_the_contract(detector, check, tmp_path):
    check(detector, tmp_path)


def _run(tmp_path, files: dict[str, bytes], types: dict[str, str] | None = None, **params):
    artifacts = []
    for name, data in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        kind = (types or {}).get(name, "model")
        artifacts.append(Artifact(name=name.split("/")[0].replace(".", "-").lower(), type=kind,
                                  path=name.split("/")[0] if kind == "files" else name))
    artifacts = list({a.name: a for a in artifacts}.values())
    stage = Stage(name="adopt", kind="model-engineering", trust="untrusted", artifacts=artifacts)
    ctx = RunContext(stage=stage, bindings={"files": tuple(artifacts)}, store=ArtifactStore(tmp_path))
    return ModelFileScan().run(ctx, ModelFileScanParams(**params))


def test_an_unsafe_model_fails_naming_the_file_and_the_global(tmp_path):
    result = _run(tmp_path, {"good.pkl": pickle.dumps({"w": np.ones(2)}), "evil.pkl": EVIL})

    assert (result.status, result.score) == ("fail", 1.0)
    assert result.summary == "1 of 2 scanned files would not load safely: evil.pkl names os.system (critical)."
    files = {f["path"]: f for f in result.evidence["files"]}
    assert files["good.pkl"]["verdict"] == "safe"
    assert files["evil.pkl"]["findings"][0] == {
        "global": "os.system", "offset": 2, "severity": "critical",
        "reason": "runs operating-system commands or replaces the process (named by GLOBAL; called by REDUCE "
                  "at byte 29 with ('touch CANARY',))"}
    assert result.metrics["critical_findings"] == 1.0 and result.metrics["unsafe_files"] == 1.0
    json.dumps(result.model_dump(mode="json"), allow_nan=False)


def test_safe_models_pass(tmp_path):
    result = _run(tmp_path, {"a.pkl": pickle.dumps([1.0]), "b.npy": b""} | {"b.npy": _npy()})

    assert (result.status, result.score) == ("pass", 0.0)
    assert result.summary == "Both recognised files are safe to load: none names a global outside the allowlist."


def _npy() -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.arange(4.0))
    return buffer.getvalue()


def test_fail_on_sets_the_severity_that_fails(tmp_path):
    unknown = Asm(2).call("mypackage.models", "Net").stop()

    assert _run(tmp_path, {"m.pkl": unknown}).status == "fail"
    relaxed = _run(tmp_path, {"m.pkl": unknown}, fail_on="critical")
    assert (relaxed.status, relaxed.score) == ("warn", 0.5)


def test_a_site_allows_its_own_class(tmp_path):
    own = Asm(2).call("mypackage.models", "Net").stop()

    assert _run(tmp_path, {"m.pkl": own}, allow=["mypackage.models.Net"]).status == "pass"


def test_allow_entries_must_be_dotted_names():
    with pytest.raises(ValidationError, match=r"allow entries must be dotted names like 'mypackage.models.Net'; "
                                              r"got \['Net', 'os system'\]"):
        ModelFileScanParams(allow=["Net", "os system", "a.b"])


def test_an_unrecognised_model_fails_unless_relaxed(tmp_path):
    strange = {"m.bin": b"\x00\x01 not a model format"}

    failed = _run(tmp_path, strange)
    assert (failed.status, failed.score) == ("fail", 0.5)
    assert failed.summary == "1 of 1 scanned files would not load safely: m.bin: its format is not recognised."
    assert _run(tmp_path, strange, unsupported_models="warn").status == "warn"


def test_files_artifacts_are_walked_and_files_nothing_vouches_for_fail_closed(tmp_path):
    """A file next to a model's weights may be loaded by code the scan never sees (a .py file
    imported by trust_remote_code): in a files artifact, an unknown file fails like an unknown model."""
    files = {"vendor/README.txt": b"weights from vendor\n", "vendor/modeling.py": b"import os\n",
             "vendor/sub/w.pkl": pickle.dumps([1.0])}

    result = _run(tmp_path, files, types=dict.fromkeys(files, "files"))

    assert (result.status, result.score) == ("fail", 0.5)
    assert [(f["path"], f["verdict"], f["outcome"]) for f in result.evidence["files"]] == [
        ("vendor/README.txt", "unsupported", "fail"), ("vendor/modeling.py", "unsupported", "fail"),
        ("vendor/sub/w.pkl", "safe", "pass")]
    assert result.summary == ("2 of 3 scanned files would not load safely: vendor/README.txt: its format is not "
                              "recognised; vendor/modeling.py: its format is not recognised.")
    assert _run(tmp_path, files, types=dict.fromkeys(files, "files"), unsupported_models="warn").status == "warn"


@pytest.mark.parametrize("name, data", [
    ("classifier.keras", keras_bytes([DENSE])),  # only built-in layers: no finding, still unvouched
    ("legacy.h5", b"\x89HDF\r\n\x1a\n" + bytes(64)),
    ("weights.tar", b"\0" * 257 + b"ustar\x0000" + bytes(250)),
])
def test_a_model_bundle_folder_with_a_file_nothing_vouches_for_fails(tmp_path, name, data):
    """In a ``files`` artifact too: model bundles ship as folders, and such a file can run code on load."""
    files = {f"bundle/{name}": data, "bundle/weights.pkl": pickle.dumps([1.0]), "bundle/README.md": b"# model\n",
             "bundle/data.csv.gz": gzip.compress(b"a,b\n1,2\n")}
    result = _run(tmp_path, files, types=dict.fromkeys(files, "files"))

    assert (result.status, result.score) == ("fail", 0.5)
    assert {f["path"]: f["outcome"] for f in result.evidence["files"]} == {
        f"bundle/{name}": "fail", "bundle/weights.pkl": "pass", "bundle/README.md": "fail",
        "bundle/data.csv.gz": "fail"}
    assert result.summary.startswith("3 of 4 scanned files would not load safely: ")
    assert _run(tmp_path, files, types=dict.fromkeys(files, "files"), unsupported_models="warn").status == "warn"


def test_an_empty_artifact_folder_warns(tmp_path):
    (tmp_path / "bundle").mkdir()
    artifact = Artifact(name="bundle", type="files", path="bundle")
    stage = Stage(name="adopt", kind="model-engineering", artifacts=[artifact])
    ctx = RunContext(stage=stage, bindings={"files": (artifact,)}, store=ArtifactStore(tmp_path))

    result = ModelFileScan().run(ctx, ModelFileScanParams())

    assert (result.status, result.summary) == ("warn", "The artifacts hold no file to scan, so no model file is "
                                                       "vouched for.")


def test_a_stage_with_only_datasets_is_not_applicable(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.ones((2, 2)), y=np.arange(2))
    dataset = Artifact(name="d", type="dataset", path="d.npz", format="npz", features="X", labels="y")
    ctx = RunContext(stage=Stage(name="s", kind="data-preparation", artifacts=[dataset]),
                     bindings={"files": (dataset,)}, store=ArtifactStore(tmp_path))

    with pytest.raises(NotApplicableError, match="stage 's' declares no model or files artifacts"):
        ModelFileScan().run(ctx, ModelFileScanParams())


def test_check_detector_runs_the_whole_suite_without_skips(tmp_path, recwarn):
    check_detector(ModelFileScan, tmp_path)

    assert not [w for w in recwarn if "skipped" in str(w.message) and "model-file-scan" in str(w.message)
                and "catalog" not in str(w.message)]


def test_the_control_validates_against_catalog_and_registry():
    from riskframe.catalog import load_catalog
    from riskframe.io.resources import bundled_dir
    from riskframe.spec import load_document
    from riskframe.spec.check import check_control

    control = load_document(bundled_dir("controls") / "unsafe-model-file-scan.yaml")

    assert check_control(control, load_catalog(), _registry) == []
    assert control.detector == "model-file-scan" and control.atlas.detects == ["AML.T0011.000", "AML.T0018.002",
                                                                              "AML.T0010.003"]
    ModelFileScanParams(**control.with_)


def test_a_file_that_cannot_be_read_fails_as_itself_and_the_others_are_still_reported(tmp_path):
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "w.pkl").write_bytes(pickle.dumps([1.0]))
    (tmp_path / "bundle" / "mem.bin").symlink_to("/proc/self/mem")
    artifact = Artifact(name="bundle", type="files", path="bundle")
    stage = Stage(name="adopt", kind="model-engineering", artifacts=[artifact])
    ctx = RunContext(stage=stage, bindings={"files": (artifact,)}, store=ArtifactStore(tmp_path))

    result = ModelFileScan().run(ctx, ModelFileScanParams())

    assert result.status == "fail"
    assert {f["path"]: (f["format"], f["verdict"]) for f in result.evidence["files"]} == {
        "bundle/mem.bin": ("unreadable", "unsupported"), "bundle/w.pkl": ("pickle", "safe")}


def test_a_structural_finding_is_summarised_by_what_it_is(tmp_path):
    result = _run(tmp_path, {"m.zip": _zip_bytes() + _zip_bytes()})

    assert result.summary == ("1 of 1 scanned files would not load safely: m.zip: not exactly one zip archive "
                              "(medium).")


def test_a_structural_finding_is_named_by_its_title_whatever_punctuation_its_reason_holds(tmp_path):
    # The reason quotes the external data's location, "C:/x": cutting the reason at its first ':'
    # would name the finding "initializer 'W' reads its data from 'C".
    external = _pb(1, "location") + _pb(2, "C:/x")
    initializer = _pb(1, 2) + _pb(2, 1) + _pb(8, "W") + _pb(13, external) + _pb(14, 1)
    onnx = _pb(1, 8) + _pb(7, _pb(2, "g") + _pb(5, initializer)) + _pb(8, _pb(2, 13))

    result = _run(tmp_path, {"m.onnx": onnx})

    assert result.summary == ("1 of 1 scanned files would not load safely: m.onnx: initializer 'W' reads its data "
                              "from 'C:/x', outside the model's folder (high).")
    [finding] = result.evidence["files"][0]["findings"]
    assert finding["title"] == "initializer 'W' reads its data from 'C:/x', outside the model's folder"


def _zip_bytes() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("w.pkl", pickle.dumps([1.0]))
    return buffer.getvalue()
