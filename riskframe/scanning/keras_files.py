"""Keras v3 archives and TensorFlow SavedModels: recognised, never vouched for.

A ``.keras`` file is a zip of ``config.json`` (the model as nested ``{"module", "class_name",
"config"}`` objects), ``metadata.json`` and ``model.weights.h5``. Loading it imports each
``module`` and rebuilds each ``class_name`` from its config: a ``Lambda`` layer carries its
function as marshalled Python bytecode (``{"class_name": "__lambda__", "config": {"code": ...}}``),
run on load when ``safe_mode=False``, and an object naming a module outside Keras makes Keras
import that module (CVE-2024-3660, CVE-2025-1550). Built-in Keras objects have been abused too
(CVE-2025-8747), so no reading of the config proves a Keras file harmless: the scan flags what is
plainly code (``high``) and otherwise leaves the file ``unsupported``, with a note naming the risk.
The HDF5 weights are not scanned either.

A TensorFlow SavedModel (``saved_model.pb`` beside ``variables/``) is a graph of TensorFlow ops,
which include file and network I/O (``ReadFile``, ``WriteFile``...) that run when the model is
called; riskframe does not scan such graphs, so a SavedModel is ``unsupported`` as well. It is
recognised by content: a ``SavedModel`` protobuf starts with ``saved_model_schema_version = 1``
followed by a ``MetaGraphDef`` whose first field is its ``meta_info_def`` (an ONNX model, the
other protobuf the scanner meets, starts with its ``ir_version``, 3 or more, and a producer name).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from riskframe.scanning.findings import Finding

if TYPE_CHECKING:
    from riskframe.scanning.scan import Scope

MAX_CONFIG_BYTES = 64 << 20
KERAS_RISK = ("Keras rebuilds every layer and function config.json names when it loads the file, "
              "and Lambda layers and custom objects run Python code then: riskframe does not vouch for "
              "Keras archives (load them with safe_mode=True, from a source you trust)")
SAVEDMODEL_RISK = ("TensorFlow SavedModel: its graph can hold ops that read and write files or reach the "
                   "network when the model is called, and riskframe does not scan TensorFlow graphs")
_CODE_LAYERS = {
    "Lambda": "a Lambda layer: its Python function is rebuilt from the file on load",
    "__lambda__": "a lambda function stored as marshalled Python bytecode, run on load",
    "TFOpLambda": "a TFOpLambda layer: it calls the TensorFlow function the file names",
}
# Value markers Keras writes under module 'builtins' (tuples, bytes, arrays...): data, not code.
_DATA_MARKERS = frozenset({"__tuple__", "__bytes__", "__numpy__", "__tensor__", "__typespec__",
                           "__ellipsis__", "__slice__"})


def keras_objects(config: Any) -> Iterator[tuple[str | None, str]]:
    """Every ``(module, name)`` the config names, depth first, without recursion.

    ``name`` is the ``class_name``, or for a function (``"class_name": "function"``) the
    function's name, which Keras looks up in ``module``.

    >>> list(keras_objects({"module": "keras.layers", "class_name": "Dense", "config": {}}))
    [('keras.layers', 'Dense')]
    >>> list(keras_objects({"module": "os", "class_name": "function", "config": "system"}))
    [('os', 'system')]
    """
    pending = [config]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            module, name, inner = node.get("module"), node.get("class_name"), node.get("config")
            if name == "function" and isinstance(inner, str):
                name = inner
            if isinstance(name, str):
                yield (module if isinstance(module, str) else None), name
            pending.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            pending.extend(reversed(node))


def scan_keras_config(archive: zipfile.ZipFile, scope: Scope) -> None:
    """Flag code in ``config.json`` and record that the archive is not vouched for."""
    scope.cannot_vouch(KERAS_RISK, "config.json")
    info = archive.getinfo("config.json")
    if info.file_size > MAX_CONFIG_BYTES:
        scope.add(Finding(None, None, "medium", f"config.json declares {info.file_size} bytes, more than "
                                                f"the {MAX_CONFIG_BYTES} the scan reads", "config.json",
                          title=f"config.json is larger than the {MAX_CONFIG_BYTES} bytes the scan reads"))
        return
    try:
        with archive.open(info) as raw:
            config = json.loads(raw.read(MAX_CONFIG_BYTES + 1))
    except (ValueError, RecursionError, RuntimeError, zipfile.BadZipFile, OSError) as exc:
        scope.add(Finding(None, None, "low", f"config.json is not valid JSON: {exc}", "config.json",
                          title="config.json is not valid JSON"))
        return
    seen: set[tuple[str | None, str]] = set()
    for module, name in keras_objects(config):
        if (module, name) not in seen:
            seen.add((module, name))
            _judge(module, name, scope)


def _judge(module: str | None, name: str, scope: Scope) -> None:
    dotted = f"{module}.{name}" if module else name
    if name in _CODE_LAYERS:
        scope.add(Finding(dotted, None, "high", f"config.json holds {_CODE_LAYERS[name]}", "config.json"))
    elif module is not None and module.split(".")[0] != "keras" and not (
            module == "builtins" and name in _DATA_MARKERS):
        scope.add(Finding(dotted, None, "high", f"config.json names {name!r} from module {module!r}, outside "
                                                "Keras: Keras imports that module on load", "config.json"))


def is_saved_model(head: bytes) -> bool:
    """Whether ``head`` begins a TensorFlow ``SavedModel`` protobuf (``saved_model.pb``).

    >>> is_saved_model(bytes([0x08, 0x01, 0x12, 0x05, 0x0A, 0x03, 0x22, 0x01, 0x73]))
    True
    >>> is_saved_model(bytes([0x08, 0x08, 0x12, 0x07]) + b"pytorch")
    False
    """
    if head[:3] != b"\x08\x01\x12":
        return False
    length, at = _varint(head, 3)
    return length is not None and length > 0 and head[at:at + 1] == b"\x0a"


def _varint(data: bytes, at: int) -> tuple[int | None, int]:
    value = 0
    for shift in range(0, 70, 7):
        if at >= len(data):
            return None, at
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
    return None, at
