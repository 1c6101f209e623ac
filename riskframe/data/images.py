"""A folder of images as a labelled dataset, read lazily with Pillow, within the memory budget.

Two layouts: one subfolder per class (``barolo/0001.png``: the subfolder's name is the label), or
any layout with a manifest csv named by ``labels:`` whose ``path`` and ``label`` columns give each
image's path (relative to the dataset's folder) and label. Files are PNG or JPEG.

Nothing is decoded before everything is known: a first pass reads each file's header only (its
format, size and mode), refuses files that are not PNG or JPEG, images larger than
:data:`MAX_PIXELS` and images of another size than the first, and checks the whole dataset against
the budget; then each image is decoded into its row of one preallocated array. Images are
(N, H, W) grayscale or (N, H, W, 3) colour uint8 (colour when any image has colour), the shape the
backdoor and label detectors read; each sample's ``ids`` entry is its file's path in the folder.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from riskframe.data._csv import _bounded_lines
from riskframe.data.budget import Budget
from riskframe.data.roots import DataRoots, file_kind
from riskframe.data.tabular import TextCodes, label_classes
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact

SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
FORMATS = ["PNG", "JPEG"]
# An image's pixels: a header can declare 2^31 x 2^31; past this, an image is refused unread (a
# training image is far smaller; Pillow's own bomb check starts at 89 million).
MAX_PIXELS = 4096 * 4096
MAX_IMAGES = 10_000_000
_GREY = frozenset({"1", "L", "I", "I;16", "F"})


def image_files(folder: Path, artifact: Artifact, roots: DataRoots) -> tuple[list[Path], list[str]]:
    """The image files of the folder and the label text of each, in path order.

    Raises
    ------
    ArtifactError
        No image, a manifest that is not a ``path,label`` csv, a listed file that is missing,
        outside the roots or not a regular file.
    """
    listed = _from_manifest(folder, artifact, roots) if artifact.labels else _from_subfolders(folder)
    if not listed:
        where = f"listed in {artifact.labels}" if artifact.labels else f"in the class subfolders of {folder.name}"
        raise ArtifactError(f"no PNG or JPEG image {where}")
    if len(listed) > MAX_IMAGES:
        raise ArtifactError(f"{folder.name} holds more than {MAX_IMAGES:,} images")
    listed.sort(key=lambda pair: pair[0].as_posix())
    return [folder / relative for relative, _ in listed], [label for _, label in listed]


def _from_subfolders(folder: Path) -> list[tuple[Path, str]]:
    found = []
    for sub in folder.iterdir():
        if file_kind(sub) != "folder" or sub.name.startswith("."):
            continue
        for file in sub.iterdir():
            if file.suffix.lower() in SUFFIXES and file_kind(file) == "file":
                found.append((file.relative_to(folder), sub.name))
    return found


def _from_manifest(folder: Path, artifact: Artifact, roots: DataRoots) -> list[tuple[Path, str]]:
    assert artifact.labels is not None
    manifest = roots.existing(artifact.labels, "labels", single="a manifest csv")
    name = manifest.name
    try:
        with manifest.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(_bounded_lines(handle, name))
            header = next((row for row in reader if row), [])
            if "path" not in header or "label" not in header:
                raise ArtifactError(f"{name} must be a csv with a header line naming a 'path' and a 'label' column",
                                    "labels")
            at, label_at = header.index("path"), header.index("label")
            listed = []
            for row in reader:
                if not row:
                    continue
                if len(row) != len(header):
                    raise ArtifactError(f"{name}: line {reader.line_num} has {len(row)} values but the header has "
                                        f"{len(header)} columns", "labels")
                listed.append((_listed_image(folder, row[at], roots, name, reader.line_num), row[label_at].strip()))
                if len(listed) > MAX_IMAGES:
                    raise ArtifactError(f"{name} lists more than {MAX_IMAGES:,} images", "labels")
            return listed
    except UnicodeDecodeError:
        raise ArtifactError(f"{name} is not UTF-8 text, as a manifest csv must be", "labels") from None
    except csv.Error as exc:
        raise ArtifactError(f"{name} is not valid csv ({exc})", "labels") from None


def _listed_image(folder: Path, text: str, roots: DataRoots, name: str, line: int) -> Path:
    relative = Path(text.strip())
    where = f"{name}: line {line}"
    if relative.is_absolute() or ".." in relative.parts or not text.strip():
        raise ArtifactError(f"{where}: an image path must be relative to the dataset's folder, inside it", "labels")
    real = roots.resolve(str(folder / relative), "labels")
    kind = file_kind(real)
    if kind != "file":
        what = "does not exist" if kind == "missing" else "is not a regular file"
        raise ArtifactError(f"{where}: the image it lists {what}", "labels")
    if relative.suffix.lower() not in SUFFIXES:
        raise ArtifactError(f"{where}: the image it lists is not a .png, .jpg or .jpeg file", "labels")
    return relative


def read_images(folder: Path, artifact: Artifact, roots: DataRoots, budget: Budget) -> dict[str, Any]:
    """``images`` (N, H, W[, 3]) uint8, ``labels`` class codes, ``classes``, ``ids`` (paths).

    Raises
    ------
    ArtifactError
        See :func:`image_files`; a file that is not a PNG or JPEG Pillow reads, an image larger
        than :data:`MAX_PIXELS` or of another size than the others, a damaged image, or more
        than the budget holds.
    """
    from PIL import Image

    files, texts = image_files(folder, artifact, roots)
    shown = [f.relative_to(folder).as_posix() for f in files]
    size, colour = _survey(Image, files, shown)
    width, height = size
    shape = (len(files), height, width, 3) if colour else (len(files), height, width)
    pixels = int(np.prod(shape))
    with budget.reserve(pixels * 9 + len(files) * 24, f"{folder.name}: {len(files)} images of {width} x {height}"
                        f"{' colour' if colour else ''} pixels"):
        images = np.empty(shape, dtype=np.uint8)
        for row, (file, where) in enumerate(zip(files, shown, strict=True)):
            images[row] = _decode(Image, file, where, "RGB" if colour else "L")
    labels = TextCodes("labels")
    codes = np.array([labels.code(t) for t in texts], dtype=np.int64)
    codes, classes = label_classes(codes, labels)
    return {"images": images, "labels": codes, "classes": classes, "ids": np.array(shown, dtype=str)}


def _survey(image_module: Any, files: list[Path], shown: list[str]) -> tuple[tuple[int, int], bool]:
    """The size all images share and whether any has colour, from their headers alone."""
    size: tuple[int, int] | None = None
    colour = False
    for file, where in zip(files, shown, strict=True):
        with _opened(image_module, file, where) as image:
            width, height = image.size
            if width * height > MAX_PIXELS or width == 0 or height == 0:
                raise ArtifactError(f"{where} declares {width} x {height} pixels; riskframe reads images of 1 to "
                                    f"{MAX_PIXELS:,} pixels")
            if size is not None and (width, height) != size:
                raise ArtifactError(f"{where} is {width} x {height} pixels but {shown[0]} is {size[0]} x {size[1]}; "
                                    "the images of a dataset must share one size (resize them first)")
            size = (width, height)
            colour = colour or image.mode not in _GREY
    assert size is not None
    return size, colour


def _decode(image_module: Any, file: Path, where: str, mode: str) -> np.ndarray:
    with _opened(image_module, file, where) as image:
        try:
            return np.asarray(image.convert(mode), dtype=np.uint8)
        except (OSError, ValueError, SyntaxError, EOFError, image_module.DecompressionBombError):
            raise ArtifactError(f"{where} is damaged or truncated (Pillow cannot decode it)") from None


class _opened:
    """An image opened by Pillow for PNG or JPEG only; anything else is an ArtifactError."""

    def __init__(self, image_module: Any, file: Path, where: str) -> None:
        self.module, self.file, self.where = image_module, file, where

    def __enter__(self) -> Any:
        try:
            self.image = self.module.open(self.file, formats=FORMATS)
        except self.module.DecompressionBombError:
            raise ArtifactError(f"{self.where} declares far more pixels than riskframe reads (1 to {MAX_PIXELS:,})"
                                ) from None
        except (OSError, ValueError, SyntaxError, EOFError):  # UnidentifiedImageError is an OSError
            raise ArtifactError(f"{self.where} is not a PNG or JPEG image Pillow reads") from None
        return self.image

    def __exit__(self, *exc: object) -> None:
        self.image.close()
