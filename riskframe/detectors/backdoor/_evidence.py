"""What the backdoor detectors show a person: status, score, metrics, evidence, summary, pictures.

:class:`BackdoorView` turns :class:`~riskframe.detectors.backdoor._analysis.BackdoorFindings` (class codes,
dataset indices) into the label values users wrote, in the same shapes ``label-issues`` uses
(``flagged_indices``/``scores``/``given_labels``/``suggested_labels``, ``score_histogram``), so
the reports draw them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from riskframe.data.datasets import Dataset
from riskframe.detectors.backdoor._analysis import BackdoorFindings, ClassFinding
from riskframe.detectors.labels.flip_evidence import HISTOGRAM_BINS, percent
from riskframe.representations import Representations
from riskframe.results import Attachment, DetectorResult


@dataclass(frozen=True)
class BackdoorView:
    detector: str
    dataset: Dataset
    reps: Representations
    findings: BackdoorFindings
    method: dict[str, Any]

    def result(self, params: Any) -> DetectorResult:
        """The detector result: status and score from the target classes found, see :meth:`status`."""
        return DetectorResult(
            status=self.status(params),
            score=self.score(params),
            summary=self.summary(),
            metrics=self.metrics(),
            evidence=self.evidence(),
            attachments=self.attachments(params.max_images),
        )

    def label(self, code: int) -> Any:
        return self.dataset.classes[code].item()

    @property
    def flagged_fraction(self) -> float:
        return self.findings.flagged.size / self.dataset.n_samples

    def status(self, params: Any) -> Literal["pass", "warn", "fail"]:
        """``fail`` when a target class is found and the flagged share exceeds
        ``max_poison_fraction``; ``warn`` when one is found below it; ``pass`` otherwise."""
        if not self.findings.targets:
            return "pass"
        return "fail" if self.flagged_fraction > params.max_poison_fraction else "warn"

    def score(self, params: Any) -> float:
        """At least 0.5 with a target class (1 at twice ``max_poison_fraction`` flagged); otherwise
        half the top class score, under 0.25: how close the most suspicious class came."""
        top = max((c.class_score for c in self.findings.classes), default=0.0)
        if not self.findings.targets:
            return float(min(top, 0.5) / 2.0)
        limit = max(params.max_poison_fraction, 1e-9)
        return float(min(1.0, max(0.5, self.flagged_fraction / (2.0 * limit))))

    def metrics(self) -> dict[str, float]:
        flagged = float(self.findings.flagged.size)
        return {
            "estimated_poison_fraction": self.flagged_fraction,
            "flagged_samples": flagged,
            "flagged_fraction": self.flagged_fraction,
            "target_classes": float(len(self.findings.targets)),
            "max_class_score": max((c.class_score for c in self.findings.classes), default=0.0),
            "analysed_classes": float(len(self.findings.classes)),
        }

    def evidence(self) -> dict[str, Any]:
        f = self.findings
        flagged = f.flagged
        targets = f.targets
        return {
            "target_class": self.label(targets[0].code) if targets else None,
            "target_classes": [self.label(c.code) for c in targets],
            "class_scores": {str(self.label(c.code)): round(c.class_score, 4) for c in f.classes},
            "classes": [self._class_row(c) for c in f.classes],
            "flagged_indices": flagged.tolist(),
            "scores": [round(float(s), 4) for s in f.sample_scores[flagged]],
            "given_labels": [self.label(c) for c in self.dataset.labels[flagged]],
            "suggested_labels": [self.label(c) for c in f.relabel[flagged]],
            "score_histogram": self._histogram(),
            "skipped_classes": [
                {"label": self.label(code), "samples": count, "reason": reason} for code, count, reason in f.skipped
            ],
            "representations": self.reps.evidence(),
            "method": self.method,
        }

    def summary(self) -> str:
        targets = self.findings.targets
        share = f"{self.findings.flagged.size} samples flagged ({percent(self.flagged_fraction)} of the dataset)"
        if targets:
            parts = [
                f"class {self.label(c.code)}: {c.suspect_count} of its {c.members.size} samples "
                f"({percent(c.suspect_count / c.members.size)}) form a separate group that looks like other "
                f"classes (relabel agreement {c.agreement_suspect:.2f})"
                for c in targets
            ]
            return f"Backdoor suspected in {'; '.join(parts)}; {share}"
        top = max(self.findings.classes, key=lambda c: c.class_score)
        return (
            "No backdoor found: no class splits into a separate group of samples that look like other "
            f"classes (closest: class {self.label(top.code)}, class score {top.class_score:.2f}, 0.5 needed)"
        )

    def attachments(self, max_images: int) -> list[Attachment]:
        from riskframe.detectors.figures import histogram_png, image_grid_png, png_attachment

        f = self.findings
        analysed = np.concatenate([c.members for c in f.classes])
        mask = f.flagged_mask[analysed]
        scores = f.sample_scores[analysed]
        out = [
            png_attachment(
                "score-histogram.png",
                histogram_png(
                    {"kept": scores[~mask], "flagged": scores[mask]},
                    HISTOGRAM_BINS,
                    title=f"{self.detector} scores (1 = surely poisoned)",
                ),
                "Scores of all analysed samples, flagged vs kept",
            )
        ]
        shown = f.flagged[:max_images]
        if self.dataset.images is not None and shown.size:
            captions = [
                f"#{i}: {self.label(self.dataset.labels[i])} (like {self.label(f.relabel[i])})\n"
                f"score {f.sample_scores[i]:.2f}"
                for i in shown
            ]
            out.append(
                png_attachment(
                    "flagged-samples.png",
                    image_grid_png(self.dataset.images[shown], captions),
                    f"The {shown.size} most suspicious of {f.flagged.size} flagged samples: index, given label "
                    "(the class its nearest other-class samples share), score (1 = surely poisoned)",
                    prominent=True,
                )
            )
        return out

    def _class_row(self, c: ClassFinding) -> dict[str, Any]:
        return {
            "label": self.label(c.code),
            "samples": int(c.members.size),
            "suspect_samples": c.suspect_count,
            "suspect_share": round(c.suspect_count / c.members.size, 4),
            "separation": round(c.split.separation, 3),
            "relabel_agreement_suspect": round(c.agreement_suspect, 3),
            "relabel_agreement_rest": round(c.agreement_rest, 3),
            "class_score": round(c.class_score, 4),
            "backdoor": c.suspicious,
            "estimated_poisoned": c.suspect_count if c.suspicious else 0,
            **{k: round(v, 4) for k, v in c.split.extra.items()},
        }

    def _histogram(self) -> dict[str, Any]:
        f = self.findings

        def counts(mask: np.ndarray) -> list[int]:
            return [int(n) for n in np.histogram(f.sample_scores[mask], HISTOGRAM_BINS)[0]]

        analysed = np.zeros(self.dataset.n_samples, dtype=bool)
        for c in f.classes:
            analysed[c.members] = True
        per_class = {
            str(self.label(c.code)): {
                "flagged": counts(f.flagged_mask & (self.dataset.labels == c.code)),
                "kept": counts(~f.flagged_mask & (self.dataset.labels == c.code)),
            }
            for c in f.classes
        }
        return {
            "bins": [round(float(b), 2) for b in HISTOGRAM_BINS],
            "flagged": counts(f.flagged_mask),
            "kept": counts(~f.flagged_mask & analysed),
            "per_class": per_class,
        }
