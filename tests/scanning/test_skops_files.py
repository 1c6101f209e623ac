"""skops files: every type the schema names is judged; skops' own list is recorded."""

from __future__ import annotations

import json
import zipfile

import pytest

from riskframe.scanning import scan_file
from riskframe.scanning.skops_files import schema_types


def _skops(path, schema, extra=None):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("schema.json", schema if isinstance(schema, str) else json.dumps(schema))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def _node(module, cls, loader, content=None):
    return {"__module__": module, "__class__": cls, "__loader__": loader, **({"content": content} if content else {})}


def test_schema_types_walks_every_node():
    schema = _node("sklearn.pipeline", "Pipeline", "ObjectNode", {"steps": [_node("numpy", "log1p", "FunctionNode")]})

    assert list(schema_types(schema)) == [("sklearn.pipeline.Pipeline", "ObjectNode"), ("numpy.log1p", "FunctionNode")]


def test_a_gadget_function_in_the_schema_is_critical(tmp_path):
    schema = _node("sklearn.preprocessing._function_transformer", "FunctionTransformer", "ObjectNode",
                   {"func": _node("builtins", "eval", "FunctionNode")})

    (finding,) = scan_file(_skops(tmp_path / "m.skops", schema)).findings

    assert (finding.global_, finding.severity, finding.member) == ("builtins.eval", "critical", "schema.json")
    assert finding.reason.startswith("schema.json names the function builtins.eval (FunctionNode): evaluates")


def test_a_type_outside_the_allowlist_is_a_finding(tmp_path):
    schema = _node("mypackage.models", "Net", "ObjectNode")

    (finding,) = scan_file(_skops(tmp_path / "m.skops", schema)).findings

    assert (finding.global_, finding.severity) == ("mypackage.models.Net", "medium")


def test_object_arrays_beside_the_schema_are_scanned(tmp_path):
    from devtools.scanning.asm import Asm

    schema = _node("sklearn.linear_model._logistic", "LogisticRegression", "ObjectNode")
    header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }".ljust(117) + b"\n"
    npy = b"\x93NUMPY\x01\x00\x76\x00" + header
    path = _skops(tmp_path / "m.skops", schema, {"1.npy": npy + Asm(2).call("os", "system", "id").stop()})

    (finding,) = scan_file(path).findings

    assert (finding.global_, finding.member) == ("os.system", "1.npy")


def test_invalid_json_is_a_finding(tmp_path):
    (finding,) = scan_file(_skops(tmp_path / "m.skops", "{nope")).findings

    assert finding.severity == "low" and finding.reason.startswith("schema.json is not valid JSON")


def test_a_real_skops_file_is_safe_and_skops_agrees(tmp_path):
    skops_io = pytest.importorskip("skops.io")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression()).fit([[0, 1], [1, 0], [1, 1], [0, 0]], [0, 1, 1, 0])
    skops_io.dump(model, tmp_path / "m.skops")

    scan = scan_file(tmp_path / "m.skops")

    assert (scan.format, scan.verdict) == ("skops", "safe")
    assert skops_io.get_untrusted_types(file=tmp_path / "m.skops") == []
