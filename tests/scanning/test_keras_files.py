"""Keras v3 archives and TensorFlow SavedModels: code in a Keras config is a finding, and neither
format is ever called safe."""

from __future__ import annotations

import io
import zipfile

import pytest

from devtools.scanning.corpus_files import keras_bytes
from riskframe.errors import UnsafeArtifactError
from riskframe.scanning import assert_safe_to_load, scan_file
from riskframe.scanning.keras_files import KERAS_RISK, SAVEDMODEL_RISK, is_saved_model

DENSE = {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
         "config": {"name": "dense", "units": 2, "activation": "relu",
                    "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                           "config": {"seed": None}, "registered_name": None}}}
LAMBDA = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
          "config": {"name": "lambda", "arguments": {},
                     "function": {"class_name": "__lambda__",
                                  "config": {"code": "4wEAAAAAAAAA", "defaults": None, "closure": None}}}}


def test_a_keras_archive_with_a_lambda_layer_is_unsafe_and_refused(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(keras_bytes([LAMBDA, DENSE]))

    scan = scan_file(path)

    assert (scan.format, scan.verdict, scan.severity) == ("keras", "unsafe", "high")
    assert [(f.global_, f.member, f.reason) for f in scan.findings] == [
        ("keras.layers.Lambda", "config.json",
         "config.json holds a Lambda layer: its Python function is rebuilt from the file on load"),
        ("__lambda__", "config.json",
         "config.json holds a lambda function stored as marshalled Python bytecode, run on load"),
    ]
    with pytest.raises(UnsafeArtifactError, match="verdict is 'unsafe'"):
        assert_safe_to_load(path)


def test_a_function_from_a_module_outside_keras_is_a_finding(tmp_path):
    layer = {**DENSE, "config": {**DENSE["config"],
                                 "activation": {"module": "os", "class_name": "function", "config": "system"}}}
    (tmp_path / "m.keras").write_bytes(keras_bytes([layer]))

    (finding,) = scan_file(tmp_path / "m.keras").findings

    assert (finding.global_, finding.severity) == ("os.system", "high")
    assert finding.reason == "config.json names 'system' from module 'os', outside Keras: Keras imports that module on load"


def test_a_plain_keras_archive_is_unsupported_with_the_risk_named(tmp_path):
    (tmp_path / "m.keras").write_bytes(keras_bytes([DENSE]))

    scan = scan_file(tmp_path / "m.keras")

    assert (scan.format, scan.verdict, scan.findings) == ("keras", "unsupported", [])
    assert scan.unverified == ["config.json", "model.weights.h5"]
    assert KERAS_RISK in scan.notes
    with pytest.raises(UnsafeArtifactError, match="verdict is 'unsupported'"):
        assert_safe_to_load(tmp_path / "m.keras")


def test_a_keras_config_that_is_not_json_is_a_low_finding(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", b"{not json")
        archive.writestr("metadata.json", b"{}")
    (tmp_path / "m.keras").write_bytes(buffer.getvalue())

    (finding,) = scan_file(tmp_path / "m.keras").findings

    assert finding.severity == "low" and finding.reason.startswith("config.json is not valid JSON")


def _saved_model_pb() -> bytes:
    """SavedModel{schema_version: 1, meta_graphs {meta_info_def {tags: "serve", tensorflow_version: "2.16.1"}}},
    serialised by hand from tensorflow/core/protobuf/saved_model.proto and meta_graph.proto."""
    meta_info = b"\x22\x05serve" + b"\x2a\x062.16.1"  # MetaInfoDef: tags (4), tensorflow_version (5)
    meta_graph = b"\x0a" + bytes([len(meta_info)]) + meta_info  # MetaGraphDef: meta_info_def (1)
    return b"\x08\x01" + b"\x12" + bytes([len(meta_graph)]) + meta_graph


def test_a_savedmodel_is_recognised_by_content_and_never_safe(tmp_path):
    folder = tmp_path / "exported"
    (folder / "variables").mkdir(parents=True)
    (folder / "renamed.bin").write_bytes(_saved_model_pb())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("exported/saved_model.pb", _saved_model_pb())
    (tmp_path / "exported.zip").write_bytes(buffer.getvalue())

    single, zipped = scan_file(folder / "renamed.bin"), scan_file(tmp_path / "exported.zip")

    assert (single.format, single.verdict, single.notes) == ("tf-savedmodel", "unsupported", [SAVEDMODEL_RISK])
    assert single.unverified == ["renamed.bin"]
    assert (zipped.format, zipped.verdict, zipped.unverified) == ("tf-savedmodel", "unsupported",
                                                                  ["exported/saved_model.pb"])
    assert zipped.notes == [f"exported/saved_model.pb: {SAVEDMODEL_RISK}"]


def test_onnx_is_not_taken_for_a_savedmodel(tmp_path):
    from devtools.scanning.corpus_files import onnx_bytes

    (tmp_path / "model.onnx").write_bytes(onnx_bytes())

    assert not is_saved_model(onnx_bytes()) and is_saved_model(_saved_model_pb())
    assert scan_file(tmp_path / "model.onnx").verdict == "safe"
