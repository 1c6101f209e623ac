"""``slice-forensics``: where does the model fail, what is different there, and where did those rows come from?

The forensic routine as a detector, on the bound (evaluation) dataset and the model:

1. **Find the failing slices.** Rows are sliced by each feature (its values when it has at most
   10, else its quartiles), by true class, and by clusters of the model's representations
   (k-means). A slice *fails* when its error rate exceeds the rest's significantly (chi-squared on
   the 2 x 2 table, Holm over every slice tested) and by at least ``min_error_gap``.
2. **Compare each failing slice with the rest**, statistically (the features whose means differ
   most, in the rest's standard deviations) and in representation space (how far the slice's
   centroid sits from the rest's, in the rest's spread, and how often a row's nearest neighbour is
   in the slice, against the slice's share of rows).
3. **Link its rows to their lineage:** the artifact and stage they came through (with its trust and
   digest), and the row numbers (``flagged_indices``), for ``riskframe remediate`` or a look by hand.

``fail`` names the slices; ``pass`` says no slice fails beyond the margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from riskframe.data.datasets import Dataset
from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.detectors.drift.stats import adjust_p_values, compare_counts
from riskframe.representations.source import check_outputs, load_model, representations_for
from riskframe.results import DetectorResult

MAX_DISTINCT = 10  # a feature with at most this many values is sliced by value, else by quartile


class SliceParams(DetectorParams):
    """Parameters of ``slice-forensics``."""

    alpha: float = Field(default=0.05, gt=0.0, lt=0.5, description="family-wise error rate over the slices (Holm)")
    min_error_gap: float = Field(default=0.1, gt=0.0, le=1.0,
                                 description="a slice fails when its error rate exceeds the rest's by this much")
    min_slice_rows: int = Field(default=20, ge=5, le=100_000, description="smaller slices are not tested")
    clusters: int = Field(default=8, ge=0, le=100, description="k-means clusters of the representations (0: none)")
    max_columns: int = Field(default=256, ge=1, le=100_000, description="features sliced, at most (the first ones)")
    max_slices_shown: int = Field(default=5, ge=1, le=100, description="failing slices described in the evidence")


@dataclass(frozen=True)
class Slice:
    name: str
    rows: np.ndarray  # boolean mask
    error: float
    rest_error: float
    p_adjusted: float = 1.0

    @property
    def gap(self) -> float:
        return self.error - self.rest_error


class SliceForensics(Detector[SliceParams]):
    """Failing slices of the evaluation data, compared with the rest and traced to their lineage."""

    name: ClassVar[str] = "slice-forensics"
    title: ClassVar[str] = "Slices where the model fails, compared with the rest and linked to their lineage"
    requires = ("dataset", "model")
    optional = ("representations",)
    Params = SliceParams
    techniques: ClassVar[tuple[str, ...]] = ("AML.T0020", "AML.T0015")
    imports: ClassVar[tuple[str, ...]] = ("sklearn.cluster", "scipy.stats")

    def run(self, ctx: RunContext, params: SliceParams) -> DetectorResult:
        """Find, compare and trace the failing slices; see the module docstring."""
        dataset: Dataset = ctx.dataset()
        wrong = _predicted(ctx, dataset) != dataset.classes[dataset.labels]
        reps = representations_for(ctx)
        slices = _tested(_candidates(dataset, reps.values, params, ctx.seed), wrong, params)
        failing = sorted((s for s in slices if s.p_adjusted <= params.alpha and s.gap >= params.min_error_gap),
                         key=lambda s: -s.gap)
        lineage = _lineage(ctx)
        described = [_describe(s, dataset, reps.values) for s in failing[: params.max_slices_shown]]
        return _result(dataset, wrong, slices, failing, described, lineage, reps.source)


def _predicted(ctx: Any, dataset: Dataset) -> np.ndarray:
    """The model's predicted label value for every row."""
    model = load_model(ctx.artifact("model"), ctx.path("model"))
    check_outputs(model, dataset)
    if model.kind == "TorchScript":
        import torch

        with torch.inference_mode():
            scores = torch.cat([model.module(chunk) for chunk in torch.split(model.inputs(dataset), 1024)])
        return np.asarray(scores.argmax(dim=1).numpy())  # output index = label value (check_outputs)
    features = dataset.features if model.preprocess is None else model.preprocess.transform(dataset.features)
    return np.asarray(model.mlp.predict(features))


def _candidates(dataset: Dataset, reps: np.ndarray, params: Any, seed: int) -> list[tuple[str, np.ndarray]]:
    out: list[tuple[str, np.ndarray]] = []
    for j in range(min(dataset.features.shape[1], params.max_columns)):
        column = dataset.features[:, j]
        values = np.unique(column)
        if values.size <= 1:
            continue
        if values.size <= MAX_DISTINCT:
            out += [(f"feature {j} = {v:g}", column == v) for v in values]
            continue
        cuts = np.unique(np.quantile(column, [0.25, 0.5, 0.75]))
        bins = np.searchsorted(cuts, column, side="right")
        edges = [float(column.min()), *cuts.tolist(), float(column.max())]
        out += [(f"feature {j} in [{edges[b]:g}, {edges[b + 1]:g}{']' if b == len(cuts) else ')'}", bins == b)
                for b in range(len(cuts) + 1)]
    out += [(f"class {dataset.label_of(c)}", dataset.labels == c) for c in range(dataset.n_classes)]
    if params.clusters and reps.shape[0] > params.clusters:
        from sklearn.cluster import KMeans

        found = KMeans(n_clusters=params.clusters, n_init=4, random_state=seed).fit_predict(reps)
        out += [(f"representation cluster {k}", found == k) for k in range(params.clusters)]
    return out


def _tested(candidates: list[tuple[str, np.ndarray]], wrong: np.ndarray, params: Any) -> list[Slice]:
    kept = [(name, rows) for name, rows in candidates if params.min_slice_rows <= rows.sum() < rows.size]
    slices, p_values = [], []
    for name, rows in kept:
        inside = np.array([np.sum(~wrong[rows]), np.sum(wrong[rows])])
        outside = np.array([np.sum(~wrong[~rows]), np.sum(wrong[~rows])])
        error, rest = inside[1] / inside.sum(), outside[1] / outside.sum()
        # One-sided: only a slice where the model does worse fails.
        p_values.append(compare_counts(outside, inside, ordered=False).p_value / 2 if error > rest else 1.0)
        slices.append(Slice(name, rows, float(error), float(rest)))
    adjusted = adjust_p_values(np.array(p_values), "holm")
    return [Slice(s.name, s.rows, s.error, s.rest_error, float(p)) for s, p in zip(slices, adjusted, strict=True)]


def _describe(piece: Slice, dataset: Dataset, reps: np.ndarray) -> dict[str, Any]:
    rows = piece.rows
    rest = dataset.features[~rows]
    spread = rest.std(axis=0)
    shift = np.divide(dataset.features[rows].mean(axis=0) - rest.mean(axis=0), spread,
                      out=np.zeros(spread.shape), where=spread > 0)
    top = np.argsort(-np.abs(shift), kind="stable")[:5]
    centre_rest = reps[~rows].mean(axis=0)
    rms = float(np.sqrt(((reps[~rows] - centre_rest) ** 2).sum(axis=1).mean())) or 1.0
    distance = float(np.linalg.norm(reps[rows].mean(axis=0) - centre_rest)) / rms
    return {
        "slice": piece.name, "rows": int(rows.sum()), "error_rate": round(piece.error, 4),
        "rest_error_rate": round(piece.rest_error, 4), "p_adjusted": float(f"{piece.p_adjusted:.3g}"),
        "features_that_differ": [{"feature": int(j), "mean_shift_sd": round(float(shift[j]), 3)} for j in top],
        "representation_distance": round(distance, 3),
        "neighbours_in_slice": round(_neighbours_inside(reps, rows), 4), "share_of_rows": round(float(rows.mean()), 4),
        "labels": {dataset.label_of(int(c)): int(n) for c, n in zip(*np.unique(dataset.labels[rows],
                                                                                return_counts=True), strict=True)},
    }


def _neighbours_inside(reps: np.ndarray, rows: np.ndarray, sample: int = 500) -> float:
    """Share of the slice's rows (up to ``sample``) whose nearest other row is also in the slice."""
    members = np.flatnonzero(rows)[:sample]
    if members.size == 0:
        return 0.0
    distances = ((reps[members, None, :] - reps[None, :, :]) ** 2).sum(axis=2)
    distances[np.arange(members.size), members] = np.inf
    return float(np.mean(rows[distances.argmin(axis=1)]))


def _lineage(ctx: Any) -> dict[str, Any]:
    artifact = ctx.artifact("dataset")
    return {"artifact": artifact.name, "path": artifact.path, "stage": ctx.stage.name, "stage_kind": ctx.stage.kind,
            "trust": ctx.stage.trust, "sha256": ctx.store.digest(artifact),
            **({"derived_from": artifact.of} if artifact.of else {})}


def _result(dataset: Dataset, wrong: np.ndarray, slices: list[Slice], failing: list[Slice],
            described: list[dict[str, Any]], lineage: dict[str, Any], source: str) -> DetectorResult:
    error = float(wrong.mean())
    flagged = np.zeros(dataset.n_samples, dtype=bool)
    scores = np.zeros(dataset.n_samples)
    for piece in failing:
        flagged |= piece.rows
        scores = np.where(piece.rows, np.maximum(scores, piece.error), scores)
    order = np.flatnonzero(flagged)
    order = order[np.argsort(-scores[order], kind="stable")]
    came = (f"they came through stage {lineage['stage']!r} ({lineage['trust']}) in artifact {lineage['artifact']!r}")
    if failing:
        worst = failing[0]
        summary = (f"The model fails on {len(failing)} of {len(slices)} slices of {dataset.name!r}: worst "
                   f"{worst.name} (error {worst.error:.0%} on {int(worst.rows.sum())} rows vs {worst.rest_error:.0%} "
                   f"elsewhere); {int(flagged.sum())} rows in failing slices, {came}")
    else:
        summary = (f"No slice of {dataset.name!r} fails beyond the margin ({len(slices)} slices tested, overall error "
                   f"{error:.1%})")
    return DetectorResult(
        status="fail" if failing else "pass",
        score=float(min(1.0, max((s.gap for s in failing), default=0.0) * 2)),
        summary=summary,
        metrics={"slices_tested": float(len(slices)), "failing_slices": float(len(failing)), "error_rate": error,
                 "rows_in_failing_slices": float(flagged.sum()),
                 "worst_gap": max((s.gap for s in failing), default=0.0)},
        evidence={"failing_slices": described, "lineage": lineage, "representations": source,
                  "flagged_indices": order.tolist(), "scores": [round(float(scores[i]), 4) for i in order]})
