"""``activation-clustering``: backdoored classes and their poisoned samples, from a two-way
clustering of each class's representations.

Chen et al. (2018) cluster each class's activations in two (k-means on a 10-dimensional ICA
reduction): in a backdoored class the poisons form their own cluster. ART's
``ActivationDefence`` then flags the smaller cluster of *every* class, a third of a clean dataset.
This detector decides per class:

- ``method="robust"`` (the default): the class is whitened by the other classes' pooled
  within-class covariance (see :mod:`riskframe.detectors.backdoor._analysis`), reduced to its top 10
  principal components, and cut by k-means; ``method="standard"`` is Chen et al.'s reduction, a
  10-component FastICA of the centred class;
- the split counts only when it is separated: silhouette >= ``min_separation`` (natural sub-styles
  of a digit reach 0.2-0.4, patched samples against genuine ones 0.4-0.5 after whitening);
- and only when one cluster's samples look like other classes in input space (the relabel check):
  that cluster is the suspect, whichever is smaller, so a backdoor filling half of its class is
  still told apart from the genuine half. The relative size of the suspect cluster is reported.

Each sample's score is its relative distance to the two cluster centres (0.5 on the boundary,
towards 1 deep in the suspect cluster).

Measured (``benchmarks/backdoor.py``, 2x2 patch on 5% and 10% of the digits, 3 seeds): ``robust``
finds class 0 in all 6 runs with F1 1.00 and reports nothing on clean models; ``standard`` (ICA)
orders the samples as well (AUROC 0.97-1.00) but its clusters are too loose to pass the
silhouette test (F1 0.00); ART's ``ActivationDefence`` flags 34-38% of every dataset (F1 0.11-0.19).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from riskframe.detectors.backdoor._analysis import Split
from riskframe.detectors.backdoor._evidence import BackdoorView
from riskframe.detectors.backdoor._params import BackdoorParams, run_split_detector, split_view
from riskframe.detectors.base import Detector
from riskframe.detectors.context import RunContext
from riskframe.results import DetectorResult

COMPONENTS = 10  # Chen et al.'s reduction size


class ActivationClusteringParams(BackdoorParams):
    """Parameters of ``activation-clustering``; ``min_separation`` is the split's silhouette."""

    min_separation: float = Field(
        default=0.3, gt=0.0, le=1.0, description="silhouette the class's two clusters must reach"
    )


def cluster_split(space: np.ndarray, seed: int, reduction: str = "pca") -> Split:
    """Reduce ``space`` (a centred class) to 10 components (``pca`` or ``ica``) and cut it with k-means.

    >>> rng = np.random.default_rng(0)
    >>> space = np.vstack([rng.normal(0, 1, (80, 12)), rng.normal(0, 1, (20, 12)) + 6])
    >>> split = cluster_split(space - space.mean(axis=0), seed=0)
    >>> int(split.suspect.sum()), bool(split.suspect[80:].all()), split.separation > 0.3
    (20, True, True)
    """
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA, FastICA
    from sklearn.metrics import silhouette_score

    k = max(1, min(COMPONENTS, space.shape[1], space.shape[0] - 1))
    reduced = PCA(k, svd_solver="full").fit_transform(space)
    if reduction == "ica":
        # FastICA on the 10 principal components, not on the raw class: the same subspace, and
        # FastICA's own whitening produces NaN on penultimate layers with many dead ReLU units.
        reduced = FastICA(k, whiten="unit-variance", random_state=seed, max_iter=1000).fit_transform(reduced)
    kmeans = KMeans(2, n_init=10, random_state=seed).fit(reduced)
    smaller = int(np.argmin(np.bincount(kmeans.labels_, minlength=2)))
    suspect = kmeans.labels_ == smaller
    distances = kmeans.transform(reduced)
    to_suspect, to_rest = distances[:, smaller], distances[:, 1 - smaller]
    scores = to_rest / np.maximum(to_suspect + to_rest, 1e-12)
    separation = float(silhouette_score(reduced, kmeans.labels_)) if 0 < suspect.sum() < suspect.size else 0.0
    return Split(suspect, scores, separation, {"relative_size": float(suspect.mean())})


def _ica_split(space: np.ndarray, seed: int) -> Split:
    return cluster_split(space, seed, "ica")


class ActivationClustering(Detector[ActivationClusteringParams]):
    """Per-class activation clustering that decides which classes really split."""

    name: ClassVar[str] = "activation-clustering"
    title: ClassVar[str] = "Backdoor activation clustering per class: separated, relabelled clusters, target class"
    requires = ("dataset",)
    optional = ("representations", "model")
    Params = ActivationClusteringParams
    techniques: ClassVar[tuple[str, ...]] = ("AML.T0020", "AML.T0018.000", "AML.T0043.004")
    imports: ClassVar[tuple[str, ...]] = (
        "sklearn.covariance", "sklearn.cluster", "sklearn.decomposition", "sklearn.metrics",
        "sklearn.neighbors", "torch", "skops.io", "riskframe.detectors.figures:warm_up",
    )

    def run(self, ctx: RunContext, params: ActivationClusteringParams) -> DetectorResult:
        """Cluster every class in two and judge each split; see the module docstring."""
        return run_split_detector(self.name, ctx, params, _splitter(params), self._method(params))

    def analyse(self, ctx: RunContext, params: ActivationClusteringParams) -> BackdoorView:
        """The analysis behind :meth:`run`, with every sample's score (for benchmarks and notebooks)."""
        return split_view(self.name, ctx, params, _splitter(params), self._method(params))

    def _method(self, params: ActivationClusteringParams) -> dict[str, Any]:
        reduced = (
            "10 principal components of the whitened class"
            if params.method == "robust"
            else "a 10-component FastICA of the centred class"
        )
        return {
            "detector": self.name,
            "method": params.method,
            "split": f"k-means (k=2) on {reduced}",
            "neighbours": params.neighbours,
            "min_separation": params.min_separation,
            "min_relabel_agreement": params.min_relabel_agreement,
        }


def _splitter(params: ActivationClusteringParams) -> Any:
    return cluster_split if params.method == "robust" else _ica_split
