"""Regenerate the derived parts of the allowlist (a development tool, not used at scan time).

    python -m devtools.scanning.derive            # rewrites riskframe/scanning/data/*.txt

- ``torch_weights_only.txt``: the globals torch's ``weights_only=True`` unpickler admits.
- ``sklearn.txt``: every class ``sklearn.utils.all_estimators()`` lists, under the module that
  defines it (the path a pickle names), plus every ``sklearn.*`` global that pickles of stock
  fitted estimators reference (tree structures, loss objects, neighbour trees, distance metrics),
  found by fitting each estimator on a tiny dataset, pickling it and walking the pickle with the
  scanner itself. Nothing listed may be a known gadget.
- ``torch_nn.txt``: the ``torch.nn`` module classes (``class``: every ``nn.Module`` subclass
  defined under ``torch.nn.modules``, with object's ``__new__`` and a ``__setstate__``,
  ``__setattr__`` and ``__getattr__`` read and listed in ``REVIEWED`` below), and the functions
  ``torch.save`` of stock modules stores as attributes (``function``: the activations of
  transformer layers), found by saving every module class torch can build with small arguments
  and walking the pickle. A class whose loading hooks are not in ``REVIEWED`` stops the script:
  read the new code, then add it there.

Non-scikit-learn globals those pickles need that the allowlist lacks are printed for review.
Review the diff of the data files before committing: it is the allowlist's change log.
"""

from __future__ import annotations

import io
import pickle
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "riskframe" / "scanning" / "data"


def torch_globals() -> tuple[str, list[str]]:
    import torch
    from torch import _weights_only_unpickler as weights_only

    names = sorted(weights_only._get_allowed_globals())
    return torch.__version__, names


def _fitted_estimators() -> Iterator[Any]:
    import numpy as np
    from sklearn.base import ClassifierMixin, ClusterMixin, RegressorMixin, TransformerMixin
    from sklearn.utils import all_estimators

    rng = np.random.RandomState(0)
    features = np.abs(rng.normal(size=(60, 4))) + 0.1
    binary, three = (features[:, 0] > features[:, 1]).astype(int), rng.randint(0, 3, 60)
    for _, cls in all_estimators():
        try:
            estimator = cls()
        except TypeError:  # meta-estimators need components; see _composites
            continue
        for target in _targets(cls, binary, three, features, ClassifierMixin, RegressorMixin,
                               ClusterMixin, TransformerMixin):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    yield estimator.fit(features, target) if target is not None else estimator.fit(features)
            except Exception:
                continue
    yield from _composites(features, binary, three)


def _targets(cls: type, binary: Any, three: Any, features: Any, *mixins: type) -> list[Any]:
    classifier, regressor, cluster, transformer = mixins
    if issubclass(cls, classifier):
        return [binary, three]
    if issubclass(cls, regressor):
        return [features[:, 0]]
    if issubclass(cls, cluster | transformer):
        return [None, binary]
    return [binary]


def _composites(features: Any, binary: Any, three: Any) -> Iterator[Any]:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import StackingClassifier, VotingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import FeatureUnion, make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    yield make_pipeline(StandardScaler(), LogisticRegression()).fit(features, binary)
    yield FeatureUnion([("a", StandardScaler()), ("b", FunctionTransformer())]).fit(features)
    yield ColumnTransformer([("s", StandardScaler(), [0, 1])], remainder="passthrough").fit(features)
    yield VotingClassifier([("a", LogisticRegression()), ("b", KNeighborsClassifier())]).fit(features, three)
    yield StackingClassifier([("a", LogisticRegression())]).fit(features, binary)
    for algorithm in ("kd_tree", "ball_tree"):
        yield KNeighborsClassifier(algorithm=algorithm).fit(features, three)


def sklearn_globals() -> tuple[str, list[str], Counter[str]]:
    import sklearn
    from sklearn.utils import all_estimators

    from riskframe.scanning._stream import ByteStream
    from riskframe.scanning.allowlist import SAFE_GLOBALS, Allowlist, find_gadget
    from riskframe.scanning.findings import ScanLimits
    from riskframe.scanning.pickle_ops import walk_pickles

    names = {f"{cls.__module__}.{cls.__qualname__}" for _, cls in all_estimators()}
    others: Counter[str] = Counter()
    for estimator in _fitted_estimators():
        for protocol in (2, 5):
            stream = ByteStream(io.BytesIO(pickle.dumps(estimator, protocol=protocol)))
            report = walk_pickles(stream, Allowlist(), ScanLimits())
            for name in report.globals:
                if name.startswith("sklearn."):
                    names.add(name)
                elif name not in SAFE_GLOBALS:
                    others[name] += 1
    safe = sorted(n for n in names if find_gadget(*n.split(".", 1)) is None)
    return sklearn.__version__, safe, others


# The loading hooks of torch.nn module classes, read in torch 2.13: each only sets data attributes
# (defaults for attributes old checkpoints lack, RNN weight names, weak references to the
# weights), calling nothing the file names. Module.__getattr__ looks names up in the module's own
# dicts; RNNBase.__setattr__ keeps its weight list in step.
REVIEWED = {
    "__setstate__": {"Module", "LogSoftmax", "Softmax", "Softmin", "MultiheadAttention", "_ConvNd", "AvgPool3d",
                     "RNNBase", "TransformerEncoderLayer", "TransformerDecoderLayer", "Upsample"},
    "__setattr__": {"Module", "RNNBase"},
    "__getattr__": {"Module"},
    "__getattribute__": {"object"},
    "__reduce_ex__": {"object"},
    "__reduce__": {"object"},
}
_ARGUMENTS = [(), (4,), (4, 3), (4, 4, 3), (2, 2, 2), (4, 2)]  # enough to build every stock module but a few


def torch_nn_classes() -> dict[str, type]:
    import importlib
    import inspect
    import pkgutil
    import sys

    import torch
    import torch.nn.modules

    for info in pkgutil.walk_packages(torch.nn.modules.__path__, "torch.nn.modules."):
        importlib.import_module(info.name)
    classes = {}
    for module_name, module in sorted(sys.modules.items()):
        if not module_name.startswith("torch.nn.modules"):
            continue
        for cls in vars(module).values():
            if inspect.isclass(cls) and issubclass(cls, torch.nn.Module) and cls.__module__ == module_name:
                classes[f"{module_name}.{cls.__qualname__}"] = cls
    admitted = {}
    for name, cls in sorted(classes.items()):
        if cls.__new__ is not object.__new__:  # deprecated shims that warn on construction
            continue
        for hook, owners in REVIEWED.items():
            owner = next(k for k in cls.__mro__ if hook in vars(k))
            if owner.__qualname__ not in owners:
                raise SystemExit(f"{name}.{hook} is defined by {owner.__qualname__}, not reviewed: read it, "
                                 "then add it to REVIEWED")
        admitted[name] = cls
    return admitted


def torch_nn_globals() -> tuple[str, list[str], list[str]]:
    import warnings

    import torch

    from riskframe.scanning._stream import ByteStream
    from riskframe.scanning.allowlist import Allowlist, find_gadget
    from riskframe.scanning.findings import ScanLimits
    from riskframe.scanning.pickle_ops import walk_pickles

    classes = torch_nn_classes()
    modules = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cls in classes.values():
            for arguments in _ARGUMENTS:
                try:
                    modules.append(cls(*arguments))
                    break
                except Exception:
                    continue
        for layer in (torch.nn.TransformerEncoderLayer, torch.nn.TransformerDecoderLayer):
            modules.extend(layer(8, 2, activation=activation) for activation in ("relu", "gelu"))
    functions = set()
    for module in modules:
        buffer = io.BytesIO()
        torch.save(module, buffer)
        with zipfile.ZipFile(buffer) as archive:
            data = archive.read(next(n for n in archive.namelist() if n.endswith("/data.pkl")))
        for name in walk_pickles(ByteStream(io.BytesIO(data)), Allowlist(), ScanLimits()).globals:
            is_function = name.startswith(("torch.nn.functional.", "torch._C._nn."))
            if is_function and find_gadget(*name.split(".", 1)) is None:
                functions.add(name)
    return torch.__version__, sorted(classes), sorted(functions)


def _write(name: str, header: str, lines: list[str]) -> None:
    text = "".join(f"# {line}\n" for line in header.strip().splitlines()) + "".join(f"{n}\n" for n in lines)
    (DATA / name).write_text(text, encoding="utf-8")


def main() -> None:
    version, names = torch_globals()
    _write("torch_weights_only.txt", f"""
Globals admitted by torch.load(weights_only=True): torch._weights_only_unpickler._get_allowed_globals()
of torch {version}. Regenerate with: python -m devtools.scanning.derive""", names)
    version, classes, functions = torch_nn_globals()
    _write("torch_nn.txt", f"""
torch.nn of torch {version}. 'class': a module class, admitted only as the class of an object rebuilt
from its state (NEWOBJ, then BUILD calling its reviewed __setstate__), never called; 'function': a
function stock modules keep as an attribute. Regenerate with: python -m devtools.scanning.derive""",
           [f"{name} class" for name in classes] + [f"{name} function" for name in functions])
    version, names, others = sklearn_globals()
    _write("sklearn.txt", f"""
scikit-learn {version}: the classes all_estimators() lists, plus the sklearn.* globals that pickles
of stock fitted estimators reference. Regenerate with: python -m devtools.scanning.derive""", names)
    for name, count in others.most_common():
        print(f"not allowlisted, needed by stock estimators: {name} ({count} pickles)")


if __name__ == "__main__":
    main()
