"""What ``label-issues`` shows a person: the verdict, evidence, metrics, the summary and pictures.

:class:`FlipView` translates :class:`~riskframe.detectors.labels._flips.FlipFindings` (positions and class
codes of the analysed subset) back into dataset indices and the label values users wrote, and
words the three outcomes so that each sentence is true in the case at hand: what was found, what
the data's own noise explains, and what the screen could and could not have seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from riskframe.data.datasets import Dataset
from riskframe.detectors.labels._absorption import Probe
from riskframe.detectors.labels._detection_limits import Limits
from riskframe.detectors.labels._flips import ComponentFinding, FlipFindings
from riskframe.results import Attachment

HISTOGRAM_BINS = np.linspace(0.0, 1.0, 21)
MAX_LIMIT_ROWS = 25  # the hardest class pairs to see, in the evidence
MAX_REVIEW_INDICES = 1000  # the review list in the evidence: its head (its length is in the metrics)


def percent(share: float) -> str:
    """``0.0103`` -> ``'1.0%'``; shares under 0.1% keep two decimals so they do not read as 0."""
    return f"{share:.2%}" if 0 < share < 0.001 else f"{share:.1%}"


@dataclass(frozen=True)
class FlipView:
    """The findings on ``dataset[analysed]``; ``class_codes[c]`` is the dataset code of class c.

    ``limits`` are the detection limits after the probe; ``skipped`` lists the classes too small to
    analyse, ``method`` how the probabilities were made, ``doubts`` why the data cannot support
    any verdict (empty when it can).
    """

    dataset: Dataset
    analysed: np.ndarray
    class_codes: np.ndarray
    findings: FlipFindings
    limits: Limits
    skipped: list[dict[str, Any]] = field(default_factory=list)
    method: dict[str, Any] = field(default_factory=dict)
    doubts: list[str] = field(default_factory=list)
    probe: Probe | None = None

    def label(self, code: int) -> Any:
        """The user's label value of analysed class ``code`` (a plain int or str for JSON)."""
        return self.dataset.classes[self.class_codes[code]].item()

    def sample_scores(self) -> np.ndarray:
        """Every dataset sample's implausibility under the natural model (1 = surely wrong); 0 for
        samples of skipped classes."""
        scores = np.zeros(self.dataset.n_samples)
        scores[self.analysed] = self.findings.scores
        return scores

    @property
    def flagged(self) -> np.ndarray:
        """Dataset indices of the flagged samples, most suspicious first."""
        return np.asarray(self.analysed[self.findings.flagged], dtype=np.int64)

    @property
    def review(self) -> np.ndarray:
        """Dataset indices of the labels to review: the flagged ones, then the other implausible ones
        (see :mod:`riskframe.detectors.labels._flips`), least plausible first. Never evidence."""
        return np.asarray(self.analysed[self.findings.review], dtype=np.int64)

    @property
    def fraction(self) -> tuple[float, float, float]:
        n = self.dataset.n_samples
        return self.findings.estimate / n, self.findings.low / n, self.findings.high / n

    # The detection limits ---------------------------------------------------------------------

    def pair_limits(self) -> list[tuple[int, int, float, float]]:
        """(a, b, share of class a, share of the dataset) for every ordered pair, hardest first."""
        n = self.dataset.n_samples
        sizes = self.findings.class_sizes
        k = sizes.size
        rows = [(a, b, float(self.limits.pairs[a, b]), float(self.limits.pairs[a, b] * sizes[a] / n))
                for a in range(k) for b in range(k) if a != b]
        return sorted(rows, key=lambda r: -r[2])

    @property
    def detectable_class_share(self) -> float:
        """The share of a class the screen sees relabelled as another, for the median class pair
        (the lower of the two middle ones: with two classes, the pair it sees better)."""
        return float(np.percentile([r[2] for r in self.pair_limits()], 50, method="lower"))

    @property
    def detectable_share(self) -> float:
        """The same flips as a share of the dataset (median pair): what ``max_poison_fraction`` is
        compared with."""
        return float(np.percentile([r[3] for r in self.pair_limits()], 50, method="lower"))

    # The verdict --------------------------------------------------------------------------------

    def verdict(self, params: Any) -> tuple[Literal["pass", "warn", "fail"], float]:
        f = self.findings
        fraction = self.fraction[0]
        limit = max(params.max_poison_fraction, 1e-9)
        score = min(1.0, fraction / (2.0 * limit))
        if f.confirmed and ((f.targeted and params.fail_on_targeted) or fraction > params.max_poison_fraction):
            return "fail", float(max(score, 0.5))
        if f.confirmed and fraction > params.warn_poison_fraction:
            return "warn", float(min(score, 0.49))
        if self.inconclusive(params):
            return params.inconclusive, 0.5 if params.inconclusive == "fail" else 0.25
        return "pass", float(min(score, 0.49))

    def inconclusive(self, params: Any) -> bool:
        """The data cannot support the verdict the policy asks for."""
        if self.doubts or self.skipped:
            return True
        return not self.findings.confirmed and self.detectable_share > params.max_poison_fraction

    # What a person reads ---------------------------------------------------------------------------

    def summary(self, params: Any) -> str:
        f = self.findings
        parts = [self._found() if f.confirmed else self._nothing_found()]
        parts.append(self._review())
        parts.append(self._left_out())
        parts.append(self._natural_noise())
        parts.append(self._can_see(params))
        if self.skipped:
            unchecked = ", ".join(f"{c['label']} ({c['samples']})" for c in self.skipped)
            parts.append(f"Not checked, fewer than min_class_samples={params.min_class_samples} samples: "
                         f"class{'es' if len(self.skipped) > 1 else ''} {unchecked}.")
        return " ".join(self.doubts + [p for p in parts if p])

    def _found(self) -> str:
        f = self.findings
        estimate, low, high = self.fraction
        flagged = f"{f.flagged.size} sample{'s' if f.flagged.size != 1 else ''} flagged"
        found = "; ".join(self._component(c) for c in f.components)
        return (f"Flips beyond the data's natural noise: {found} ({flagged}; poisoned share of the dataset "
                f"{percent(estimate)} [{percent(low)}, {percent(high)}]).")

    def _component(self, c: ComponentFinding) -> str:
        if c.component.pair is None:
            return (f"labels changed at random in {percent(c.weight)} of the dataset "
                    f"[{percent(c.low)}, {percent(c.high)}], p = {_p(c.p_value)}")
        a, b = c.component.pair
        return (f"{percent(c.weight)} of class {self.label(a)} relabelled as {self.label(b)} "
                f"[{percent(c.low)}, {percent(c.high)}], p = {_p(c.p_value)}")

    def _nothing_found(self) -> str:
        f = self.findings
        if self.doubts:  # they say nothing could be judged; "no sign of poisoning" would reassure falsely
            return ""
        if not f.components or f.flagged.size == 0:
            return "No sign of label poisoning beyond the data's natural noise."
        c = f.components[0]
        what = ("spread over the classes" if c.component.pair is None
                else f"class {self.label(c.component.pair[0])} labelled {self.label(c.component.pair[1])}")
        labels, are, them = (("the most doubtful label", "is", "it") if f.flagged.size == 1
                             else (f"the {f.flagged.size} most doubtful labels", "are", "them"))
        return (f"No sign of label poisoning beyond the data's natural noise: {labels} ({what}) {are} flagged for "
                f"review, but this data cannot tell {them} from its own noise (p = {_p(c.p_value)}).")

    def _left_out(self) -> str:
        """Which feature columns the models never saw, and why: the reader must know what the
        verdict rests on."""
        why = {"label_columns_left_out": ("determines the label", "determine the label"),
               "row_number_columns_left_out": ("numbers the rows", "number the rows"),
               "entity_number_columns_left_out": ("numbers entities, each kept in one fold",
                                                  "number entities, each kept in one fold")}
        sentences = []
        for key, (one, several) in why.items():
            columns = self.method.get(key) or []
            if columns:
                names = ", ".join(self.dataset.column_named(c) for c in columns)
                sentences.append(f"{names}, which {one if len(columns) == 1 else several}")
        return f"Left out of the models: {'; '.join(sentences)}." if sentences else ""

    def _review(self) -> str:
        f = self.findings
        more = f.review.size - f.flagged.size
        if more == 0:
            return ""
        if self.doubts:
            return (f"For review only, as the models learnt too little for any of it to be evidence: the {more} "
                    f"label{'s' if more != 1 else ''} they doubt most, listed in review_indices.")
        after = " after the flagged ones" if f.flagged.size else ""
        labels = f"{more} {'further ' if f.flagged.size else ''}label{'s' if more != 1 else ''}"
        if f.review_by.method == "flip-fit":
            return (f"For review, not as evidence: the {labels} most likely flipped under a free fit of spread "
                    f"flips, as many as that fit expects to find them best (expected F1 "
                    f"{f.review_by.expected_f1:.2f}), listed in review_indices{after}.")
        return (f"For review, not as evidence: {labels} the natural model finds implausible (cleanlab, low "
                f"normalized margin), listed in review_indices{after}.")

    def _natural_noise(self) -> str:
        f = self.findings
        # With declared groups, a row's group holds its entity and the rows identical to its rows.
        alike = ("are in groups (identical rows, declared groups) with rows of other labels"
                 if self.dataset.groups is not None else "are identical to rows with other labels")
        ambiguous = f" {f.ambiguous} rows {alike}: ambiguous, never counted as flips." if f.ambiguous else ""
        return (f"{percent(f.observed_disagreement)} of the labels disagree with the models; the classes' overlap "
                f"explains {percent(f.natural_disagreement)}.{ambiguous}")

    def _can_see(self, params: Any) -> str:
        if self.doubts:
            return "The screen could see no flip in this data."
        spread = (f"random flips of {percent(self.limits.spread)}" if np.isfinite(self.limits.spread)
                  else "no random flips up to half the labels")
        short = not self.findings.confirmed and self.detectable_share > params.max_poison_fraction
        if not np.isfinite(self.detectable_class_share):
            if self.probe is not None and not self.probe.seen:
                a, b = self.probe.pair
                sentence = (f"This data does not let the screen state a limit for a class relabelled as another: "
                            f"{percent(self.probe.share)} of class {self.label(a)} relabelled as {self.label(b)}, "
                            f"tried on it, was learnt by the models and not seen (p = {_p(self.probe.p_value)}).")
            else:
                sentence = ("This data does not let the screen see a class relabelled as another, for most class "
                            "pairs, at any share up to half the class.")
            sentence += (f" It lets the screen see random flips of {percent(self.limits.spread)}."
                         if np.isfinite(self.limits.spread) else " Nor random flips, up to half the labels.")
            if short:
                sentence += (f" The data cannot support the verdict the policy asks for (flips of "
                             f"{percent(params.max_poison_fraction)} of the dataset, max_poison_fraction).")
            return sentence
        hardest = self.pair_limits()[0]
        hardest_share = (f"{percent(hardest[2])} for the hardest" if np.isfinite(hardest[2])
                         else "none up to half the class for the hardest")
        sentence = (f"This data lets the screen see flips of {percent(self.detectable_class_share)} of a class or "
                    f"more ({percent(self.detectable_share)} of the dataset) for most class pairs, "
                    f"{hardest_share} ({self.label(hardest[0])} -> {self.label(hardest[1])}), and {spread}.")
        if short:
            sentence += (f" That is above the {percent(params.max_poison_fraction)} of the dataset the policy asks "
                         "for (max_poison_fraction): the data cannot support that verdict.")
        return sentence

    def metrics(self, params: Any) -> dict[str, float]:
        f = self.findings
        estimate, low, high = self.fraction
        return {
            "estimated_poison_fraction": estimate,
            "estimated_poison_fraction_low": low,
            "estimated_poison_fraction_high": high,
            "estimated_poisoned_samples": f.estimate,
            "flagged_samples": float(f.flagged.size),
            "flagged_fraction": f.flagged.size / self.dataset.n_samples,
            "review_samples": float(f.review.size),
            "targeted_pairs": float(len(f.targeted) if f.confirmed else 0),
            "top_pair_share": max((c.weight for c in f.targeted), default=0.0) if f.confirmed else 0.0,
            "detectable_share": min(self.detectable_share, 1.0),
            "detectable_class_share": min(self.detectable_class_share, 1.0),
            "detectable_spread_share": min(self.limits.spread, 1.0),
            "observed_disagreement": f.observed_disagreement,
            "natural_disagreement": f.natural_disagreement,
        }

    def evidence(self) -> dict[str, Any]:
        f = self.findings
        flagged = f.flagged
        labels = self.dataset.labels[self.analysed]
        return {
            "flagged_indices": self.flagged.tolist(),
            "scores": [round(float(s), 4) for s in f.flip_probability[flagged]],
            "given_labels": [self.dataset.classes[c].item() for c in labels[flagged]],
            "suggested_labels": [self.label(c) for c in f.suggested[flagged]],
            "review_indices": self.review[:MAX_REVIEW_INDICES].tolist(),
            "review_chosen_by": f.review_by.method,
            "confirmed": f.confirmed,
            "pattern": f.pattern if f.confirmed else "none",
            "components": [self._component_row(c) for c in f.components],
            "natural_noise": {
                "observed_disagreement": round(f.observed_disagreement, 4),
                "explained_by_overlap": round(f.natural_disagreement, 4),
                "temperature": round(f.temperature, 4),
                "ambiguous_rows": f.ambiguous,
            },
            "detection_limits": {
                "class_share_most_pairs": round(min(self.detectable_class_share, 1.0), 4),
                "dataset_share_most_pairs": round(min(self.detectable_share, 1.0), 4),
                "random_flips_share": round(min(self.limits.spread, 1.0), 4),
                "hardest_pairs": [
                    {"given": self.label(a), "into": self.label(b), "class_share": round(min(c, 1.0), 4),
                     "dataset_share": round(min(d, 1.0), 4)}
                    for a, b, c, d in self.pair_limits()[:MAX_LIMIT_ROWS]
                ],
            },
            "score_histogram": self._histogram(),
            "skipped_classes": self.skipped,
            "method": self.method,
        }

    def _component_row(self, c: ComponentFinding) -> dict[str, Any]:
        row: dict[str, Any] = {"pattern": "spread" if c.component.pair is None else "targeted"}
        if c.component.pair is not None:
            row.update({"given": self.label(c.component.pair[0]), "labelled": self.label(c.component.pair[1])})
        row.update({"share": round(c.weight, 4), "low": round(c.low, 4), "high": round(c.high, 4),
                    "samples": round(c.flips, 1), "statistic": round(c.statistic, 2), "p_value": _rounded(c.p_value),
                    "significant": self.findings.confirmed})
        return row

    def attachments(self, max_images: int) -> list[Attachment]:
        from riskframe.detectors.figures import histogram_png, image_grid_png, png_attachment

        f = self.findings
        labels = self.dataset.labels[self.analysed]
        kept = np.ones(labels.size, dtype=bool)
        kept[f.flagged] = False
        out = [
            png_attachment(
                "score-histogram.png",
                histogram_png(
                    {"kept": f.scores[kept], "flagged": f.scores[~kept]},
                    HISTOGRAM_BINS,
                    title="label-issues: implausibility of each label (1 = surely wrong)",
                ),
                "Implausibility of every label under the data's natural noise, flagged vs kept",
            )
        ]
        shown = f.flagged[:max_images]
        if self.dataset.images is not None and shown.size:
            captions = [
                f"#{self.analysed[i]}: {self.dataset.classes[labels[i]].item()} → "
                f"{self.label(f.suggested[i])}\np {f.flip_probability[i]:.2f}"
                for i in shown
            ]
            png = image_grid_png(self.dataset.images[self.analysed[shown]], captions)
            confirmed = "" if f.confirmed else " (not confirmed: within what the data's noise explains)"
            out.append(
                png_attachment(
                    "flagged-samples.png",
                    png,
                    f"The {shown.size} most likely flipped of {f.flagged.size} flagged samples{confirmed}: "
                    "index, given label → suggested label, probability the label was flipped",
                    prominent=True,
                )
            )
        review = f.review[:max_images]
        if self.dataset.images is not None and not f.flagged.size and review.size:
            captions = [
                f"#{self.analysed[i]}: {self.dataset.classes[labels[i]].item()} → "
                f"{self.label(f.suggested[i])}\nimplausibility {f.scores[i]:.2f}"
                for i in review
            ]
            out.append(
                png_attachment(
                    "review-samples.png",
                    image_grid_png(self.dataset.images[self.analysed[review]], captions),
                    f"The first {review.size} of {f.review.size} labels listed for review, most doubtful first (not "
                    "evidence of poisoning): index, given label → the natural model's most likely other label, "
                    "implausibility",
                )
            )
        return out

    def _histogram(self) -> dict[str, Any]:
        f = self.findings
        labels = self.dataset.labels[self.analysed]
        flagged = np.zeros(labels.size, dtype=bool)
        flagged[f.flagged] = True

        def counts(mask: np.ndarray) -> list[int]:
            return [int(c) for c in np.histogram(f.scores[mask], HISTOGRAM_BINS)[0]]

        per_class = {
            str(self.dataset.classes[c].item()): {
                "flagged": counts(flagged & (labels == c)),
                "kept": counts(~flagged & (labels == c)),
            }
            for c in np.unique(labels)
        }
        return {
            "bins": [round(float(b), 2) for b in HISTOGRAM_BINS],
            "flagged": counts(flagged),
            "kept": counts(~flagged),
            "per_class": per_class,
        }


def _rounded(p_value: float) -> float:
    return float(f"{p_value:.3g}")


def _p(p_value: float) -> str:
    return f"{p_value:.2g}"
