"""Small pictures detectors attach to their results: sample grids and histograms, as PNG.

Figures are drawn with matplotlib's object-oriented API on the Agg canvas, never through
``pyplot``: pyplot keeps global state, and detectors may run in worker threads (``--jobs N``).
matplotlib is imported inside the functions, so importing this module costs nothing.

>>> import numpy as np
>>> png = image_grid_png(np.zeros((3, 8, 8)), ["a", "b", "c"], columns=2)
>>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from riskframe.results import Attachment

# Size of one grid cell: the picture plus two caption lines under it.
CELL_INCHES = 1.2
CAPTION_INCHES = 0.45
DPI = 80


def grid_shape(count: int, columns: int) -> tuple[int, int]:
    """Rows and columns of a grid holding ``count`` pictures, at most ``columns`` wide."""
    if count < 1 or columns < 1:
        raise ValueError(f"a grid needs at least one picture and one column; got {count}, {columns}")
    cols = min(columns, count)
    return math.ceil(count / cols), cols


def grid_pixels(count: int, columns: int) -> tuple[int, int]:
    """Width and height in pixels of the PNG :func:`image_grid_png` draws for ``count`` pictures."""
    rows, cols = grid_shape(count, columns)
    return round(cols * CELL_INCHES * DPI), round(rows * (CELL_INCHES + CAPTION_INCHES) * DPI)


def image_grid_png(images: Sequence[np.ndarray] | np.ndarray, captions: Sequence[str], *, columns: int = 8) -> bytes:
    """Draw pictures in a grid, each with its caption underneath, and return the PNG bytes.

    Parameters
    ----------
    images : sequence of numpy.ndarray
        Pictures of shape (H, W) (grey levels) or (H, W, 3|4) (colour), any numeric range: all
        are drawn on one shared intensity scale so that they can be compared.
    captions : sequence of str
        One caption per picture; ``\\n`` starts a second line.
    columns : int
        Maximum pictures per row.

    Returns
    -------
    bytes
        A PNG of exactly :func:`grid_pixels` ``(len(images), columns)`` pixels.
    """
    if len(images) != len(captions):
        raise ValueError(f"{len(images)} images but {len(captions)} captions")
    rows, cols = grid_shape(len(images), columns)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = grid_pixels(len(images), columns)
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    low, high = _shared_range(images)
    cell_h = 1.0 / rows
    pic_share = CELL_INCHES / (CELL_INCHES + CAPTION_INCHES)
    for k, (image, caption) in enumerate(zip(images, captions, strict=True)):
        row, col = divmod(k, cols)
        bottom = 1.0 - (row + 1) * cell_h
        # Axes fill the upper part of the cell; the caption sits in the strip below the picture.
        ax = fig.add_axes(
            (col / cols + 0.05 / cols, bottom + cell_h * (1 - pic_share), 0.9 / cols, cell_h * pic_share * 0.95)
        )
        _draw(ax, np.asarray(image), low, high)
        fig.text(
            (col + 0.5) / cols,
            bottom + cell_h * (1 - pic_share) * 0.92,
            caption,
            ha="center",
            va="top",
            fontsize=7,
            linespacing=1.1,
        )
    return _png(fig)


def histogram_png(
    groups: Mapping[str, np.ndarray], bins: np.ndarray, *, title: str = "", xlabel: str = "score", log: bool = True
) -> bytes:
    """Overlaid histograms of score groups (e.g. flagged vs kept) on shared ``bins``, as PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0, 3.0), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for label, values in groups.items():
        ax.hist(
            np.asarray(values, dtype=float), bins=[float(b) for b in bins], alpha=0.6, label=f"{label} ({len(values)})"
        )
    if log:
        ax.set_yscale("symlog", linthresh=1)  # kept samples outnumber flagged ones by 100x
    ax.set_xlabel(xlabel)
    ax.set_ylabel("samples")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def warm_up() -> None:
    """Draw one small grid and one histogram and throw them away: matplotlib builds its mathtext
    parser and font caches on first use (half a second), and the worker server calls this once so
    that every worker forked from it starts with them built."""
    histogram_png({"a": np.arange(4.0)}, np.arange(5.0), title="t")
    image_grid_png(np.zeros((1, 2, 2)), ["a\nb"])


def png_attachment(name: str, png: bytes, caption: str = "", *, prominent: bool = False) -> Attachment:
    """Wrap PNG bytes as a base64 :class:`~riskframe.results.Attachment` for the assessment.

    ``prominent`` marks the picture a reviewer checks first (the flagged samples themselves).
    """
    return Attachment(name=name, caption=caption, media_type="image/png", data=base64.b64encode(png).decode("ascii"),
                      prominent=prominent)


def _shared_range(images: Sequence[np.ndarray] | np.ndarray) -> tuple[float, float]:
    values = [np.asarray(image, dtype=float) for image in images]
    low = min(float(v.min()) for v in values)
    high = max(float(v.max()) for v in values)
    return low, (high if high > low else low + 1.0)


def _draw(ax: Any, image: np.ndarray, low: float, high: float) -> None:
    ax.set_axis_off()
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        ax.imshow(image, cmap="gray_r", vmin=low, vmax=high, interpolation="nearest")
    elif image.ndim == 3 and image.shape[-1] in (3, 4):
        ax.imshow(np.clip((image - low) / (high - low), 0.0, 1.0), interpolation="nearest")
    else:
        raise ValueError(f"cannot draw an image of shape {image.shape}; expected (H, W) or (H, W, 3|4)")


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    # Metadata without the matplotlib version and date keeps the bytes reproducible.
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()
