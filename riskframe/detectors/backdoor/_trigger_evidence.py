"""What ``trigger-reverse-engineering`` shows a person: the per-class table, where the reversed
trigger sits, and pictures (the trigger stamped on clean images, every class's mask, and the
training images found to carry it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from riskframe.detectors.backdoor.neural_cleanse import ReversedTrigger, apply_trigger
from riskframe.detectors.backdoor.screening import Screen
from riskframe.detectors.figures import image_grid_png, png_attachment
from riskframe.results import Attachment

STAMPED_EXAMPLES = 3  # clean held-out images shown with the reversed trigger stamped on them
MAX_CARRIER_IMAGES = 24
REGION_SHARE = 0.5  # a pixel belongs to the trigger's region when its mask is >= half the peak
PIXEL_SHARE = 0.05  # pixels recorded in the evidence: mask >= 5% of the peak
MAX_PIXELS = 64


def class_rows(screen: Screen) -> list[dict[str, Any]]:
    """One row per class: mask norm (and its share of the median), anomaly index, flip rate, and
    whether it is flagged."""
    cleanse = screen.cleanse
    median = float(np.median(cleanse.norms)) or 1.0
    return [
        {
            "class": trigger.label,
            "mask_norm": round(trigger.norm, 3),
            "norm_ratio": round(trigger.norm / median, 3),
            "anomaly_index": round(float(cleanse.indices[trigger.label]), 3),
            "flip_rate": round(trigger.success, 3),
            "reached": trigger.reached,
            "flagged": trigger.label in cleanse.flagged,
        }
        for trigger in cleanse.triggers
    ]


def region(mask: np.ndarray) -> dict[str, Any]:
    """Where a mask concentrates: the bounding box of its strong pixels, in words and numbers.

    >>> mask = np.zeros((8, 8)); mask[6:, 6:] = 1.0
    >>> region(mask)["where"]
    'rows 6-7, columns 6-7 (bottom-right corner)'
    """
    strong = np.argwhere(mask >= REGION_SHARE * float(mask.max())) if mask.max() > 0 else np.zeros((0, 2), int)
    if strong.size == 0:
        return {"where": "nowhere (empty mask)", "strong_pixels": 0}
    (top, left), (bottom, right) = strong.min(axis=0), strong.max(axis=0)
    height, width = mask.shape
    vertical = "top" if bottom < height / 2 else "bottom" if top >= height / 2 else "middle"
    horizontal = "left" if right < width / 2 else "right" if left >= width / 2 else "centre"
    place = "centre" if (vertical, horizontal) == ("middle", "centre") else f"{vertical}-{horizontal}"
    corner = " corner" if vertical != "middle" and horizontal != "centre" else ""
    return {
        "where": f"rows {top}-{bottom}, columns {left}-{right} ({place}{corner})",
        "rows": [int(top), int(bottom)],
        "columns": [int(left), int(right)],
        "strong_pixels": len(strong),
    }


def trigger_evidence(trigger: ReversedTrigger, flagged: bool) -> dict[str, Any]:
    """The reversed trigger of one class as data: where it sits, and its pixels (row, column, mask
    value, pattern value; the strongest first), enough to stamp it again with
    :func:`riskframe.detectors.backdoor.neural_cleanse.apply_trigger`. Pixels whose mask is under
    :data:`PIXEL_SHARE` of the peak change an image by too little to be part of it."""
    mask, pattern = trigger.mask, trigger.pattern
    peak = float(mask.max())
    rows, cols = np.nonzero(mask >= PIXEL_SHARE * peak) if peak > 0 else (np.zeros(0, int), np.zeros(0, int))
    order = np.argsort(-mask[rows, cols], kind="stable")[:MAX_PIXELS]
    pixels = [{"row": int(rows[k]), "column": int(cols[k]), "mask": round(float(mask[rows[k], cols[k]]), 3),
               "value": np.round(pattern[rows[k], cols[k]], 3).tolist()} for k in order]
    return {"class": trigger.label, "flagged": flagged, "mask_norm": round(trigger.norm, 3), **region(mask),
            "pixels": pixels}


def trigger_facts(trigger: ReversedTrigger, flagged: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """:func:`trigger_evidence` split for the report: the facts, and the pixel table."""
    facts = trigger_evidence(trigger, flagged)
    return facts, facts.pop("pixels")


def trigger_picture(screen: Screen, trigger: ReversedTrigger, index: float) -> Attachment:
    """The trigger (mask x pattern) and a few held-out images of other classes stamped with it."""
    others = screen.holdout[screen.labels[screen.holdout] != trigger.label][:STAMPED_EXAMPLES]
    stamped = apply_trigger(screen.images[others], trigger.mask, trigger.pattern)
    pictures = [trigger.trigger, *stamped]
    captions = [f"trigger of {trigger.label}\nindex {index:.1f}"]
    captions += [f"a {int(screen.labels[i])}\n+ trigger" for i in others]
    where = region(trigger.mask)["where"]
    verdict = "flagged as the backdoor target" if trigger.label in screen.cleanse.flagged else "not flagged"
    caption = (f"Reversed trigger of class {trigger.label} ({verdict}; anomaly index {index:.2f}, mask norm "
               f"{trigger.norm:.2f} pixels): mask x pattern, then clean held-out images stamped with it. "
               f"It sits at {where}.")
    return png_attachment(f"reversed-trigger-class-{trigger.label}", image_grid_png(pictures, captions, columns=4),
                          caption)


def masks_picture(screen: Screen) -> Attachment:
    """Every class's reversed mask side by side: a backdoored class's is conspicuously small."""
    cleanse = screen.cleanse
    captions = [f"class {t.label}\nnorm {t.norm:.1f}, idx {cleanse.indices[t.label]:.1f}" for t in cleanse.triggers]
    png = image_grid_png([t.mask for t in cleanse.triggers], captions, columns=5)
    return png_attachment("reversed-masks", png, "The smallest mask found for each class (dark = part of the "
                          "trigger), with its L1 norm and anomaly index. A backdoor target needs a much "
                          "smaller mask than the honest classes.")


def carriers_picture(images: np.ndarray, indices: np.ndarray, scores: np.ndarray, label: int,
                     dataset: str) -> Attachment:
    """The training images the reversed trigger alone explains the label of."""
    shown = indices[:MAX_CARRIER_IMAGES]
    captions = [f"#{int(i)} labelled {label}\ndrop {s:.2f}" for i, s in zip(shown, scores, strict=False)]
    caption = (f"Training images of {dataset} labelled {label} that the model stops calling {label} once the "
               f"trigger's pixels are painted over ({len(indices)} in all, the first {len(shown)} shown).")
    # Not named "flagged...": the report puts such pictures first, and here the reversed trigger leads.
    return png_attachment("trigger-carriers", image_grid_png(images[shown], captions, columns=8), caption)
