"""Regenerate the derived parts of the allowlist (a development tool, not used at scan time).

    python -m riskframe.scanning._derive            # rewrites riskframe/scanning/data/*.txt

- ``torch_weights_only.txt``: the globals torch's ``weights_only=True`` unpickler admits.
- ``sklearn.txt``: every class ``sklearn.utils.all_estimators()`` lists, under the module that
  defines it (the path a pickle names), plus every ``sklearn.*`` global that pickles of stock
  fitted estimators reference (tree structures, loss objects, neighbour trees, distance metrics),
  found by fitting each estimator on a tiny dataset, pickling it and walking the pickle with the
  scanner itself. Nothing listed may be a known gadget.

Non-scikit-learn globals those pickles need that the allowlist lacks are printed for review.
Review the diff of the data files before committing: it is the allowlist's change log.
"""

from __future__ import annotations

import io
import pickle
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("data")


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


def _write(name: str, header: str, lines: list[str]) -> None:
    text = "".join(f"# {line}\n" for line in header.strip().splitlines()) + "".join(f"{n}\n" for n in lines)
    (DATA / name).write_text(text, encoding="utf-8")


def main() -> None:
    version, names = torch_globals()
    _write("torch_weights_only.txt", f"""
Globals admitted by torch.load(weights_only=True): torch._weights_only_unpickler._get_allowed_globals()
of torch {version}. Regenerate with: python -m riskframe.scanning._derive""", names)
    version, names, others = sklearn_globals()
    _write("sklearn.txt", f"""
scikit-learn {version}: the classes all_estimators() lists, plus the sklearn.* globals that pickles
of stock fitted estimators reference. Regenerate with: python -m riskframe.scanning._derive""", names)
    for name, count in others.most_common():
        print(f"not allowlisted, needed by stock estimators: {name} ({count} pickles)")


if __name__ == "__main__":
    main()
