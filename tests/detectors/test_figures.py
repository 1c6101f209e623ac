"""Figures: sample grids and histograms come out as real PNGs of the promised size."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from riskframe.detectors import figures
from riskframe.scenarios import digits


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


@pytest.mark.parametrize(("count", "columns"), [(1, 8), (8, 8), (13, 8), (40, 8), (5, 2)])
def test_grid_is_a_png_of_the_promised_size(count, columns):
    images = digits()[0][:count]
    png = figures.image_grid_png(images, [f"#{i}: 1 → 7\nscore 0.9{i}" for i in range(count)], columns=columns)
    image = decode(png)
    assert image.format == "PNG"
    assert image.size == figures.grid_pixels(count, columns)
    assert figures.grid_shape(count, columns) == (-(-count // min(columns, count)), min(columns, count))


def test_grid_draws_the_pictures():
    blank = decode(figures.image_grid_png(np.zeros((2, 8, 8)), ["", ""]))
    drawn = decode(figures.image_grid_png(digits()[0][:2], ["", ""]))
    # Zeros are white in the grey_r map; real digits put dark pixels on the page.
    assert np.asarray(blank.convert("L")).min() > 200
    assert np.asarray(drawn.convert("L")).min() < 50


def test_grid_accepts_colour_and_single_channel_images():
    rng = np.random.default_rng(0)
    for shape in ((3, 6, 6, 3), (3, 6, 6, 1), (3, 6, 6, 4)):
        image = decode(figures.image_grid_png(rng.uniform(size=shape), ["a", "b", "c"]))
        assert image.size == figures.grid_pixels(3, 8)


def test_grid_is_reproducible():
    images = digits()[0][:4]
    captions = ["a", "b", "c", "d"]
    assert figures.image_grid_png(images, captions) == figures.image_grid_png(images, captions)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: figures.image_grid_png(np.zeros((2, 8, 8)), ["one"]), "2 images but 1 captions"),
        (
            lambda: figures.image_grid_png(np.zeros((1, 2, 2, 2, 2)), ["x"]),
            r"cannot draw an image of shape \(2, 2, 2, 2\)",
        ),
        (lambda: figures.grid_shape(0, 8), "a grid needs at least one picture and one column; got 0, 8"),
    ],
)
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_histogram_is_a_png():
    png = figures.histogram_png(
        {"kept": np.linspace(0, 0.5, 500), "flagged": np.array([0.9, 0.95])}, np.linspace(0, 1, 21), title="scores"
    )
    assert decode(png).format == "PNG"


def test_attachment_carries_the_png_as_base64():
    png = figures.image_grid_png(np.zeros((1, 8, 8)), ["x"])
    attachment = figures.png_attachment("grid.png", png, "one picture")
    assert (attachment.name, attachment.caption, attachment.media_type) == ("grid.png", "one picture", "image/png")
    assert base64.b64decode(attachment.data) == png
