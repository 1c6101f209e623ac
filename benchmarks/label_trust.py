"""Data ``label-issues`` cannot judge: does it say so, or pass? Next to raw cleanlab.

Scenarios on scikit-learn's digits (plus clean wine, breast cancer and iris): the clean digits;
10% of the 7s relabelled 1; half, 70% and all of the labels scrambled; noise features; the 7->1
poisoning with the whole file duplicated, or with only the flipped rows copied; the 7->1 poisoning
with the label as a feature column. For each, ``label-issues`` runs through its public ``run``
(default parameters, a real ``RunContext`` on an ``.npz`` file) and raw cleanlab as an engineer
calls it by hand (5-fold out-of-fold probabilities of a standardised ``LogisticRegression``,
``find_label_issues`` with its defaults).

Prints one row per scenario: riskframe's status and flagged samples, the out-of-fold accuracy its
models reached, the true flips found (recall), and raw cleanlab's flagged samples and recall, with
both wall times. A scenario whose data cannot be judged must not ``pass``.

Run: ``.venv/bin/python benchmarks/label_trust.py`` (about 1 minute on 2 cores).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from riskframe import scenarios
from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.labels.label_issues import LabelIssues
from riskframe.spec.pipeline import Artifact, Stage


def run_label_issues(folder: Path, features: np.ndarray, labels: np.ndarray) -> tuple[object, float]:
    np.savez(folder / "data.npz", X=features, y=labels)
    dataset = Artifact(name="data", type="dataset", path="data.npz", format="npz", features="X", labels="y")
    ctx = RunContext(stage=Stage(name="s", kind="data-preparation", artifacts=[dataset]),
                     bindings={"dataset": (dataset,)}, store=ArtifactStore(folder))
    started = time.perf_counter()
    result = LabelIssues().run(ctx, LabelIssues.Params())
    return result, time.perf_counter() - started


def raw_cleanlab(features: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    from cleanlab.filter import find_label_issues
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    started = time.perf_counter()
    _, codes = np.unique(labels, return_inverse=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    probs = cross_val_predict(model, features, codes, cv=5, method="predict_proba")
    flagged = np.flatnonzero(find_label_issues(codes, probs))
    return flagged, time.perf_counter() - started


def scenario_table() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """name -> (features, labels, indices of the flipped samples)."""
    from sklearn.datasets import load_breast_cancer, load_iris, load_wine

    images, labels = scenarios.digits()
    features = images.reshape(labels.size, -1)
    rng = np.random.default_rng(0)
    poisoned, flipped = scenarios.flip_targeted(labels, 7, 1, 0.10, seed=0)
    none = np.array([], dtype=int)
    table = {"digits clean": (features, labels, none), "digits 7->1 10%": (features, poisoned, flipped)}
    for share in (0.5, 0.7, 1.0):
        scrambled = labels.copy()
        chosen = rng.random(labels.size) < share
        scrambled[chosen] = rng.integers(0, 10, int(chosen.sum()))
        table[f"digits {share:.0%} of labels scrambled"] = (features, scrambled, np.flatnonzero(scrambled != labels))
    table["noise features"] = (rng.normal(size=features.shape), labels, none)
    n = labels.size
    table["7->1 10%, file duplicated"] = (np.vstack([features, features]), np.concatenate([poisoned, poisoned]),
                                          np.concatenate([flipped, flipped + n]))
    copies = np.arange(n, n + flipped.size)
    table["7->1 10%, flipped rows copied"] = (np.vstack([features, features[flipped]]),
                                              np.concatenate([poisoned, poisoned[flipped]]),
                                              np.concatenate([flipped, copies]))
    table["7->1 10%, label as a feature"] = (np.column_stack([features, poisoned]), poisoned, flipped)
    for name, load in (("wine", load_wine), ("breast cancer", load_breast_cancer), ("iris", load_iris)):
        x, y = load(return_X_y=True)
        table[f"{name} clean"] = (x, y, none)
    return table


def recall(flagged: np.ndarray, truth: np.ndarray) -> str:
    return "-" if truth.size == 0 else f"{np.isin(truth, flagged).mean():.2f}"


def main() -> None:
    header = (f"{'scenario':34} {'riskframe':9} {'flagged':>7} {'oof acc':>7} {'recall':>6} {'s':>5} | "
              f"{'cleanlab flagged':>16} {'recall':>6} {'s':>5}")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, (features, labels, truth)) in enumerate(scenario_table().items()):
            folder = Path(tmp) / str(i)
            folder.mkdir()
            result, seconds = run_label_issues(folder, features, labels)
            flagged = np.asarray(result.evidence["flagged_indices"], dtype=int)
            raw, raw_seconds = raw_cleanlab(features, labels)
            accuracy = result.evidence["method"]["out_of_fold_accuracy"]
            print(f"{name:34} {result.status:9} {flagged.size:7d} {accuracy:7.3f} {recall(flagged, truth):>6} "
                  f"{seconds:5.1f} | {raw.size:16d} {recall(raw, truth):>6} {raw_seconds:5.1f}")


if __name__ == "__main__":
    main()
