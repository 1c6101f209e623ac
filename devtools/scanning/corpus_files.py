"""Benign model files for the scanner's corpus, and helpers to wrap payloads in real containers.

Benign files are written by the libraries that write them in practice (pickle, joblib,
torch.save, torch.jit, numpy), except safetensors and ONNX, whose packages riskframe does not
depend on: those are written byte by byte from their specifications (a safetensors header and
data; an ONNX ``ModelProto`` with one Identity node, typed inputs and an initializer).
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import warnings
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devtools.scanning.corpus import Sample


def torchscript_bytes() -> bytes:
    import torch

    buffer = io.BytesIO()
    with warnings.catch_warnings():  # torch.jit is deprecated in favour of torch.export, not gone
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())), buffer)
    return buffer.getvalue()


def replace_zip_member(data: bytes, suffix: str, content: bytes) -> bytes:
    """``data`` (a zip) with the member whose name ends with ``suffix`` replaced by ``content``."""
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with source, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for info in source.infolist():
            archive.writestr(info, content if info.filename.endswith(suffix) else source.read(info))
    return target.getvalue()


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def keras_bytes(layers: list[dict[str, Any]]) -> bytes:
    """A Keras v3 ``.keras`` archive of a ``Sequential`` model with ``layers``, as Keras 3 writes it.

    ``config.json`` and ``metadata.json`` follow Keras 3.x's own output; ``model.weights.h5`` is
    an HDF5 signature only (riskframe does not depend on h5py, and no scanner reads the weights).
    """
    dtype = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}
    config = {"module": "keras", "class_name": "Sequential", "registered_name": None,
              "config": {"name": "sequential", "trainable": True, "dtype": dtype,
                         "layers": [{"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
                                     "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "input"}},
                                    *layers]}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1", "date_saved": "2025-01-01@00:00:00"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", HDF5_SIGNATURE + bytes(64))
    return buffer.getvalue()


def safetensors_bytes(tensors: dict[str, Any]) -> bytes:
    """A safetensors file, as the format specifies (header padded with spaces to 8 bytes)."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    data, offset = b"", 0
    for name, array in tensors.items():
        raw = array.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        data, offset = data + raw, offset + len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def _pb_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _pb(field: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return _pb_varint(field << 3) + _pb_varint(value)
    payload = value.encode() if isinstance(value, str) else value
    return _pb_varint(field << 3 | 2) + _pb_varint(len(payload)) + payload


def onnx_bytes() -> bytes:
    """An ONNX model: Y = Identity(X) over a float[2] input, with a float[2] initializer ``W``."""
    shape = _pb(2, _pb(1, _pb(1, 2)))  # TensorShapeProto { dim { dim_value: 2 } }
    tensor_type = _pb(1, _pb(1, 1) + shape)  # TypeProto { tensor_type { elem_type: FLOAT, shape } }
    value_info = {name: _pb(1, name) + _pb(2, tensor_type) for name in ("X", "Y")}
    node = _pb(1, "X") + _pb(2, "Y") + _pb(3, "identity") + _pb(4, "Identity")
    initializer = _pb(1, 2) + _pb(2, 1) + _pb(8, "W") + _pb(9, struct.pack("<2f", 0.5, 1.5))
    graph = (_pb(1, node) + _pb(2, "corpus") + _pb(5, initializer)
             + _pb(11, value_info["X"]) + _pb(12, value_info["Y"]))
    return _pb(1, 8) + _pb(2, "riskframe-corpus") + _pb(7, graph) + _pb(8, _pb(1, "") + _pb(2, 13))


def _fitted_models() -> dict[str, Any]:
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.RandomState(0)
    features = rng.normal(size=(120, 6))
    labels = (features[:, 0] + features[:, 1] > 0).astype(int)
    return {
        "pipeline": make_pipeline(StandardScaler(), LogisticRegression()).fit(features, labels),
        "forest": RandomForestClassifier(n_estimators=5, random_state=0).fit(features, labels),
        "knn": KNeighborsClassifier(algorithm="kd_tree").fit(features, labels),
        "hgb": HistGradientBoostingClassifier(max_iter=5).fit(features, labels),
    }


def _cnn() -> Any:
    import torch

    torch.manual_seed(0)
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.1),
                         nn.Flatten(), nn.Linear(4, 3), nn.LogSoftmax(dim=1))


def _rnn() -> Any:
    import torch

    torch.manual_seed(0)
    return torch.nn.ModuleDict({"embed": torch.nn.Embedding(10, 4), "lstm": torch.nn.LSTM(4, 8, batch_first=True),
                                "gru": torch.nn.GRU(8, 8), "head": torch.nn.Linear(8, 2)})


def _transformer() -> Any:
    import torch

    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, activation="gelu")
    return torch.nn.ModuleList([layer, torch.nn.LayerNorm(8), torch.nn.TransformerDecoderLayer(8, 2, 16)])


def benign_samples(folder: Path) -> list[Sample]:
    """Write the benign files into ``folder``."""
    import joblib
    import numpy as np
    import torch

    from devtools.scanning.corpus import Sample

    rng = np.random.RandomState(1)
    arrays = {"weight": rng.normal(size=(4, 3)).astype(np.float32), "bias": np.zeros(3, np.float32)}
    models = _fitted_models()
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    files: list[tuple[str, str, str, bytes | Callable[[Path], None]]] = [
        ("numpy-p2.pkl", "numpy arrays", "pickle-p2", pickle.dumps(arrays, protocol=2)),
        ("numpy-p4.pkl", "numpy arrays", "pickle-p4", pickle.dumps(arrays, protocol=4)),
        ("numpy-p5.pkl", "numpy arrays", "pickle-p5", pickle.dumps(arrays, protocol=5)),
        ("ordered-dict.pkl", "OrderedDict of arrays", "pickle-p4", pickle.dumps(OrderedDict(arrays), protocol=4)),
        ("builtins-p0.pkl", "builtin values", "pickle-p0",
         pickle.dumps({"name": "net", "sizes": (4, 3), "tags": {"a", "b"}, "ratio": 0.5, "raw": b"\x00"}, 0)),
        ("pipeline.pkl", "scikit-learn pipeline", "pickle-p4", pickle.dumps(models["pipeline"], protocol=4)),
        ("pipeline.joblib", "scikit-learn pipeline", "joblib", lambda p: joblib.dump(models["pipeline"], p)),
        ("forest.joblib", "random forest", "joblib", lambda p: joblib.dump(models["forest"], p)),
        ("forest-zlib.joblib", "random forest", "joblib-zlib",
         lambda p: joblib.dump(models["forest"], p, compress=3)),
        ("knn.joblib", "k-nearest neighbours (kd-tree)", "joblib", lambda p: joblib.dump(models["knn"], p)),
        ("hgb.joblib", "histogram gradient boosting", "joblib", lambda p: joblib.dump(models["hgb"], p)),
        ("state-dict.pt", "torch state dict", "torch-zip", lambda p: torch.save(net.state_dict(), p)),
        ("state-dict-legacy.pt", "torch state dict", "torch-legacy",
         lambda p: torch.save(net.state_dict(), p, _use_new_zipfile_serialization=False)),
        ("torchscript.pt", "TorchScript model", "torchscript", torchscript_bytes()),
        ("module-cnn.pt", "whole torch.nn module", "torch-zip", lambda p: torch.save(_cnn(), p)),
        ("module-rnn.pt", "whole torch.nn module", "torch-zip", lambda p: torch.save(_rnn(), p)),
        ("module-transformer.pt", "whole torch.nn module", "torch-zip", lambda p: torch.save(_transformer(), p)),
        ("module-legacy.pt", "whole torch.nn module", "torch-legacy",
         lambda p: torch.save(_cnn(), p, _use_new_zipfile_serialization=False)),
        ("weights.safetensors", "tensors", "safetensors", safetensors_bytes(arrays)),
        ("model.onnx", "ONNX model", "onnx", onnx_bytes()),
        ("weights.npy", "numpy array", "npy", lambda p: np.save(p, arrays["weight"])),
        ("weights.npz", "numpy arrays", "npz", lambda p: np.savez(p, weight=arrays["weight"], bias=arrays["bias"])),
        ("labels.npy", "object array of strings", "npy-object-array",
         lambda p: np.save(p, np.array(["cat", "dog", None], dtype=object), allow_pickle=True)),
    ]
    samples = []
    for name, family, container, data in files:
        path = folder / name
        data(path) if callable(data) else path.write_bytes(data)
        samples.append(Sample(name, False, family, container))
    samples.extend(_skops_sample(folder, models["pipeline"]))
    return samples


def _skops_sample(folder: Path, model: Any) -> list[Sample]:
    try:
        import skops.io
    except ImportError:  # skops arrives with the backdoor detectors' extra; the rest stands alone
        return []
    from devtools.scanning.corpus import Sample

    skops.io.dump(model, folder / "pipeline.skops")
    return [Sample("pipeline.skops", False, "scikit-learn pipeline", "skops")]
