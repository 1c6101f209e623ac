"""What ``label-issues`` shows a person: evidence, metrics, the summary sentence and pictures.

:class:`FlipView` translates :class:`~riskframe.detectors._flips.FlipFindings` (positions and class
codes of the analysed subset) back into dataset indices and the label values users wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from riskframe.data.datasets import Dataset
from riskframe.detectors._flips import FlipFindings
from riskframe.results import Attachment

HISTOGRAM_BINS = np.linspace(0.0, 1.0, 21)
MAX_PAIR_ROWS = 25  # targeted pairs always; then the largest others
MAX_BACKGROUND_INDICES = 50


def percent(share: float) -> str:
    """``0.0103`` -> ``'1.0%'``; shares under 0.1% keep two decimals so they do not read as 0."""
    return f"{share:.2%}" if 0 < share < 0.001 else f"{share:.1%}"


@dataclass(frozen=True)
class FlipView:
    """The findings on ``dataset[analysed]``; ``class_codes[c]`` is the dataset code of class c.

    ``skipped`` lists the classes too small to analyse, ``method`` how the probabilities were made,
    ``doubts`` why the labels cannot be vouched for whatever the findings (empty when they can).
    """

    dataset: Dataset
    analysed: np.ndarray
    class_codes: np.ndarray
    findings: FlipFindings
    skipped: list[dict[str, Any]] = field(default_factory=list)
    method: dict[str, Any] = field(default_factory=dict)
    doubts: list[str] = field(default_factory=list)

    def label(self, code: int) -> Any:
        """The user's label value of analysed class ``code`` (a plain int or str for JSON)."""
        return self.dataset.classes[self.class_codes[code]].item()

    def sample_scores(self) -> np.ndarray:
        """Every dataset sample's score (1 = surely flipped); 0 for samples of skipped classes."""
        scores = np.zeros(self.dataset.n_samples)
        scores[self.analysed] = self.findings.scores
        return scores

    @property
    def flagged(self) -> np.ndarray:
        """Dataset indices of the flagged samples, most suspicious first."""
        return np.asarray(self.analysed[self.findings.flagged], dtype=np.int64)

    @property
    def fraction(self) -> tuple[float, float, float]:
        n = self.dataset.n_samples
        return self.findings.estimate / n, self.findings.low / n, self.findings.high / n

    def metrics(self) -> dict[str, float]:
        f = self.findings
        estimate, low, high = self.fraction
        pairs = self._flagged_pairs()
        top = int(np.bincount(pairs).max()) if pairs.size else 0
        return {
            "estimated_poison_fraction": estimate,
            "estimated_poison_fraction_low": low,
            "estimated_poison_fraction_high": high,
            "estimated_poisoned_samples": f.estimate,
            "flagged_samples": float(f.flagged.size),
            "flagged_fraction": f.flagged.size / self.dataset.n_samples,
            "targeted_pairs": float(len(f.targeted)),
            "top_pair_share": max((p.share_of_class for p in f.targeted), default=0.0),
            # 1.0 when every flagged sample sits in one class pair (targeted), ~1/90 when spread.
            "pair_concentration": top / f.flagged.size if f.flagged.size else 0.0,
            "natural_noise_floor": f.natural_floor / max(self.analysed.size, 1),
        }

    def evidence(self) -> dict[str, Any]:
        f = self.findings
        flagged = f.flagged
        labels = self.dataset.labels[self.analysed]
        return {
            "flagged_indices": self.flagged.tolist(),
            "scores": [round(float(s), 4) for s in f.scores[flagged]],
            "given_labels": [self.dataset.classes[c].item() for c in labels[flagged]],
            "suggested_labels": [self.label(c) for c in f.suggested[flagged]],
            "pattern": f.pattern,
            "class_pairs": self._pair_rows(),
            "background": {
                "strong_suspects": f.background_count,
                "natural_floor": round(f.natural_floor, 2),
                "p_value": _rounded(f.background_p_value),
                "attributed_to_poisoning": f.background_elevated,
                "unflagged_indices": self.analysed[f.background_indices][:MAX_BACKGROUND_INDICES].tolist(),
            },
            "score_histogram": self._histogram(),
            "skipped_classes": self.skipped,
            "method": self.method,
        }

    def summary(self, natural_noise_rate: float) -> str:
        f = self.findings
        estimate, low, high = self.fraction
        share = f"poisoned share of the dataset {percent(estimate)} [{percent(low)}, {percent(high)}]"
        flagged = f"{f.flagged.size} sample{'s' if f.flagged.size != 1 else ''} flagged"
        parts = []
        if f.targeted:
            parts.append(
                "Estimated "
                + " and ".join(
                    f"{percent(p.share_of_class)} of class {self.label(p.suggested)} relabelled as "
                    f"{self.label(p.given)}"
                    for p in f.targeted
                )
            )
        if f.background_elevated:
            targeted = {p.given * self.class_codes.size + p.suggested for p in f.targeted}
            spread = len(set(self._flagged_pairs().tolist()) - targeted)
            lead = "label flips" if f.targeted else "Label flips"
            parts.append(
                f"{lead} spread over {spread} class pairs beyond the {percent(natural_noise_rate)} natural label noise"
            )
        if parts:
            return f"{'; '.join(parts)} ({flagged}; {share})"
        return (
            f"No sign of label poisoning: {f.background_count} "
            f"{'sample looks' if f.background_count == 1 else 'samples look'} mislabelled, within the "
            f"{percent(natural_noise_rate)} natural label noise allows ({share})"
        )

    def attachments(self, max_images: int) -> list[Attachment]:
        from riskframe.figures import histogram_png, image_grid_png, png_attachment

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
                    title="label-issues scores (1 = surely flipped)",
                ),
                "Scores of all samples, flagged vs kept",
            )
        ]
        shown = f.flagged[:max_images]
        if self.dataset.images is not None and shown.size:
            captions = [
                f"#{self.analysed[i]}: {self.dataset.classes[labels[i]].item()} → "
                f"{self.label(f.suggested[i])}\nscore {f.scores[i]:.2f}"
                for i in shown
            ]
            png = image_grid_png(self.dataset.images[self.analysed[shown]], captions)
            out.append(
                png_attachment(
                    "flagged-samples.png",
                    png,
                    f"The {shown.size} most suspicious of {f.flagged.size} flagged samples: "
                    "index, given label → suggested label, score (1 = surely flipped)",
                )
            )
        return out

    def _flagged_pairs(self) -> np.ndarray:
        """One id per flagged sample: given * K + suggested, in analysed class codes."""
        f = self.findings
        given = self.dataset.labels[self.analysed][f.flagged]
        codes = np.searchsorted(self.class_codes, given)
        return np.asarray(codes * self.class_codes.size + f.suggested[f.flagged], dtype=np.int64)

    def _pair_rows(self) -> list[dict[str, Any]]:
        rows = [p for p in self.findings.pairs if p.targeted]
        rows += [p for p in self.findings.pairs if not p.targeted][: max(0, MAX_PAIR_ROWS - len(rows))]
        return [
            {
                "given": self.label(p.given),
                "suggested": self.label(p.suggested),
                "count": p.count,
                "strong": p.strong,
                "expected_natural": round(p.expected, 2),
                "share_of_class": round(p.share_of_class, 4),
                "p_value": _rounded(p.p_value),
                "targeted": p.targeted,
            }
            for p in rows
        ]

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
