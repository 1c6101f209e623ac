"""Image folders: a subfolder per class or a manifest csv, read with Pillow, hostile files refused."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from riskframe.data.budget import Budget
from riskframe.data.datasets import load_dataset
from riskframe.data.rows import describe_rows
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact


def _png(path: Path, pixels: np.ndarray, fmt: str = "PNG") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, format=fmt)


def _digits(folder: Path, n: int = 6) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    written = {}
    for i in range(n):
        pixels = rng.integers(0, 255, (8, 8), dtype=np.uint8)
        relative = f"{'seven' if i % 2 else 'one'}/{i:03d}.png"
        _png(folder / relative, pixels)
        written[relative] = pixels
    return written


def _refused(load, field: str, message: str, **declaration) -> ArtifactError:
    with pytest.raises(ArtifactError, match=f"^{re.escape(message)}$") as excinfo:
        load(**declaration)
    assert excinfo.value.field == field
    return excinfo.value


def test_a_subfolder_per_class(tmp_path, load):
    written = _digits(tmp_path / "digits")

    ds = load(path="digits", format="images")

    assert ds.classes.tolist() == ["one", "seven"] and ds.images.shape == (6, 8, 8)
    assert ds.features.shape == (6, 64) and ds.images.dtype == np.uint8
    for i, relative in enumerate(ds.ids.tolist()):
        np.testing.assert_array_equal(ds.images[i], written[relative])
        assert ds.label_of(ds.labels[i]) == relative.split("/")[0]
    assert describe_rows(ds, [1]) == [{"index": 1, "file": "one/002.png"}]


def test_numeric_class_folders_are_integer_classes_and_colour_wins(tmp_path, load):
    _png(tmp_path / "img/0/a.png", np.zeros((4, 5), np.uint8))
    _png(tmp_path / "img/1/b.jpg", np.full((4, 5, 3), 200, np.uint8), "JPEG")

    ds = load(path="img", format="images")

    assert ds.classes.tolist() == [0, 1] and ds.images.shape == (2, 4, 5, 3)


def test_a_manifest_csv_of_path_and_label(tmp_path, load):
    written = _digits(tmp_path / "digits")
    rows = "".join(f"{p},{'odd' if int(p[-7:-4]) % 2 else 'even'}\n" for p in sorted(written))
    (tmp_path / "labels.csv").write_text("path,label\n" + rows)

    ds = load(path="digits", format="images", labels="labels.csv")

    assert ds.classes.tolist() == ["even", "odd"]
    assert [ds.label_of(c) for c in ds.labels] == ["even", "even", "even", "odd", "odd", "odd"]


def test_a_manifest_path_that_climbs_out_is_refused(tmp_path, load):
    _digits(tmp_path / "digits")
    (tmp_path / "labels.csv").write_text("path,label\n../secret.png,a\n")

    _refused(load, "labels", "labels.csv: line 2: an image path must be relative to the dataset's folder, inside it",
             path="digits", format="images", labels="labels.csv")


def test_images_of_another_size(tmp_path, load):
    _digits(tmp_path / "digits", 2)
    _png(tmp_path / "digits/one/big.png", np.zeros((9, 8), np.uint8))

    _refused(load, "path", "one/big.png is 8 x 9 pixels but one/000.png is 8 x 8; the images of a dataset must "
             "share one size (resize them first)", path="digits", format="images")


def test_a_file_that_is_not_an_image_is_never_quoted(tmp_path, load):
    _digits(tmp_path / "digits", 2)
    (tmp_path / "digits/one/x.png").write_text("password=hunter2\n")

    error = _refused(load, "path", "one/x.png is not a PNG or JPEG image Pillow reads", path="digits",
                     format="images")
    assert "hunter2" not in str(error)


@pytest.mark.parametrize(("side", "message"), [
    (5000, "one/001.png declares 5000 x 5000 pixels; riskframe reads images of 1 to 16,777,216 pixels"),
    (60000, "one/001.png declares far more pixels than riskframe reads (1 to 16,777,216)"),  # Pillow's bomb check
])
def test_a_header_declaring_a_huge_image_is_refused_before_decoding(tmp_path, load, side, message):
    _digits(tmp_path / "digits", 2)
    png = (tmp_path / "digits/one/000.png").read_bytes()
    # IHDR's width and height sit at bytes 16..24, its CRC (over type and data) at 29..33
    ihdr = b"IHDR" + side.to_bytes(4, "big") * 2 + png[24:29]
    (tmp_path / "digits/one/001.png").write_bytes(png[:12] + ihdr + zlib.crc32(ihdr).to_bytes(4, "big") + png[33:])

    _refused(load, "path", message, path="digits", format="images")


def test_a_truncated_image(tmp_path, load):
    _digits(tmp_path / "digits", 2)
    png = (tmp_path / "digits/one/000.png").read_bytes()
    (tmp_path / "digits/one/000.png").write_bytes(png[: len(png) // 2])

    _refused(load, "path", "one/000.png is damaged or truncated (Pillow cannot decode it)", path="digits",
             format="images")


def test_the_budget_is_checked_before_decoding(tmp_path):
    _digits(tmp_path / "digits", 6)

    with pytest.raises(ArtifactError, match=r"^digits: 6 images of 8 x 8 pixels would take 3\.5 KiB in memory"):
        load_dataset(Artifact(name="d", type="dataset", path="digits", format="images"), tmp_path, Budget(1000))


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=32), st.integers(0, 400))
def test_any_bytes_inside_a_png_give_a_dataset_or_a_clear_error(tmp_path_factory, junk, at):
    folder = tmp_path_factory.mktemp("img")
    _digits(folder / "d", 2)
    target = folder / "d/one/000.png"
    data = bytearray(target.read_bytes())
    at %= len(data)
    data[at:at + len(junk)] = junk
    target.write_bytes(bytes(data))
    try:
        ds = load_dataset(Artifact(name="d", type="dataset", path="d", format="images"), folder)
    except ArtifactError:
        return
    assert ds.images.shape[0] == 2
