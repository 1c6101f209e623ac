"""Load dataset and representation artifacts into arrays, refusing what detectors cannot trust.

Every problem is an :class:`~riskframe.errors.ArtifactError` naming the artifact field to blame;
the engine locates it in the pipeline file. Pickled data is never loaded: ``.npz``/``.npy`` files
are opened with ``allow_pickle=False`` and a file whose bytes are a pickle stream is refused
before numpy sees it.

Loaded arrays are read-only: one load is shared by every run of an assessment, so a detector that
normalised its input in place would silently change what the next detector sees.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact

# An npz is a zip archive: a local file header, or the end record alone when it holds no arrays.
_MAGIC = {"npz": (b"PK\x03\x04", b"PK\x05\x06"), "npy": (b"\x93NUMPY",)}
_NUMERIC_KINDS = "biuf"
# Larger values overflow when squared (variances, distances): 1e154 squared is already beyond float64.
MAX_FEATURE_MAGNITUDE = 1e150


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled dataset as detectors see it.

    ``features`` is (N, D) float64; ``labels`` holds class codes 0..K-1 and ``classes`` the label
    values users wrote (``classes[labels[i]]`` is sample i's label); ``images`` keeps the original
    (N, H, W[, C]) array when the features are pictures. All arrays are read-only.
    """

    name: str
    path: Path
    features: np.ndarray
    labels: np.ndarray
    classes: np.ndarray
    images: np.ndarray | None = None

    @property
    def n_samples(self) -> int:
        return int(self.features.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.classes.shape[0])

    def label_of(self, code: int) -> str:
        """The user-facing label of class code ``code``."""
        return str(self.classes[code].item())


def load_dataset(artifact: Artifact, base_dir: Path) -> Dataset:
    """Read and validate a ``type: dataset`` artifact.

    Parameters
    ----------
    artifact
        The declaration: ``format`` (or the path's suffix) picks npz, npy (a features file and a
        labels file) or csv (a label column).
    base_dir
        The directory relative paths are resolved against (the pipeline file's folder).

    Raises
    ------
    ArtifactError
        The file is missing, is a pickle, lacks the named arrays or columns, or its content is not
        a usable labelled dataset (empty, NaN or inf, one class, non-integer labels, ...).

    Examples
    --------
    >>> raw = Artifact(name="raw", type="dataset", path="raw.npz")
    >>> ds = load_dataset(raw, Path("data"))  # doctest: +SKIP
    >>> ds.features.shape, ds.classes  # doctest: +SKIP
    ((1797, 64), array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]))
    """
    fmt = artifact.resolved_format
    readers = {"npz": _from_npz, "npy": _from_npy, "csv": _from_csv}
    if fmt not in readers:
        raise ArtifactError(f"cannot read a dataset of format {fmt!r}; declare format: npz, npy or csv",
                            "format")
    path = _existing_file(artifact.path, base_dir, fmt, "path")
    features, labels = readers[fmt](path, artifact, base_dir)
    return _validated(artifact, path, features, labels)


def load_representations(artifact: Artifact, base_dir: Path) -> np.ndarray:
    """Read a ``type: representations`` artifact: an (N, D) finite float array, read-only.

    In an ``.npz``, ``features:`` names the array (default: the only or first one).

    Raises
    ------
    ArtifactError
        Missing file, a pickle or object array, a damaged file, or not a finite numeric 2-D array.
    """
    fmt = artifact.resolved_format
    if fmt not in ("npy", "npz"):
        raise ArtifactError(f"cannot read representations of format {fmt!r}; declare format: npy or npz",
                            "format")
    path = _existing_file(artifact.path, base_dir, fmt, "path")
    _check_magic(path, fmt)
    if fmt == "npz":
        key = artifact.features if isinstance(artifact.features, str) else None
        reps = _npz_arrays(path, {"features": key})["features"]
    else:
        reps = _npy_array(path, "path")
    if reps.ndim != 2 or reps.dtype.kind not in _NUMERIC_KINDS:
        raise ArtifactError(f"{path.name}: representations must be a numeric (N, D) array; "
                            f"got {reps.dtype} {reps.shape}")
    if not np.isfinite(reps).all():
        raise ArtifactError(f"{path.name}: representations contain NaN or infinite values")
    floats: np.ndarray = reps.astype(np.float64, copy=False)
    return _read_only(floats)


# Files ------------------------------------------------------------------------------------------

def _existing_file(relative: str, base_dir: Path, fmt: str, field: str) -> Path:
    path = (base_dir / relative).resolve()
    if not path.exists():
        what = "label file" if field == "labels" else "file"
        raise ArtifactError(f"{what} not found: {path}", field)
    if path.is_dir():
        raise ArtifactError(f"{path} is a folder; an artifact of format {fmt} is a single file",
                            field)
    return path


def _check_magic(path: Path, fmt: str, field: str = "path") -> None:
    with path.open("rb") as handle:
        head = handle.read(8)
    if _looks_like_pickle(head):
        raise ArtifactError(f"{path.name} is a pickle stream, not {fmt}; riskframe never unpickles "
                            "dataset files. Save the arrays with numpy.savez instead", field)
    magic = _MAGIC.get(fmt)
    if magic and not head.startswith(magic):
        raise ArtifactError(f"{path.name} is not an {fmt} file (its first bytes are {head[:6]!r})",
                            field)


def _looks_like_pickle(head: bytes) -> bool:
    # Protocol 2+ streams open with PROTO (0x80) and the protocol number. Older protocols have no
    # signature, but they fail the npz/npy magic check and are refused all the same.
    return len(head) >= 2 and head[0] == 0x80 and head[1] <= 5


@contextmanager
def _numpy_errors(path: Path, field: str, key: str | None = None) -> Iterator[None]:
    """Turn numpy's reading errors into ArtifactErrors, telling a refused pickle from damage."""
    try:
        yield
    except ValueError as exc:
        if "allow_pickle" in str(exc):  # numpy's wording for object arrays and embedded pickles
            what = f"{path.name}: array {key!r}" if key else path.name
            raise ArtifactError(f"{what} holds Python objects that only unpickling can read; "
                                "riskframe never unpickles dataset files. Save numeric arrays instead",
                                field) from None
        raise ArtifactError(f"{path.name} is damaged or not a numpy file ({exc})", field) from None
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ArtifactError(f"{path.name} is damaged or cannot be read ({exc})", field) from None


def _npy_array(path: Path, field: str) -> np.ndarray:
    with _numpy_errors(path, field):
        array: np.ndarray = np.load(path, allow_pickle=False)
    return array


def _npz_arrays(path: Path, wanted: dict[str, str | None]) -> dict[str, np.ndarray]:
    """The arrays ``wanted`` maps fields to (None: the first array of the file)."""
    arrays: dict[str, np.ndarray] = {}
    # The file is opened here, not by np.load, so that it is closed even when the zip is damaged.
    with _numpy_errors(path, "path"), path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
        if not data.files:
            raise ArtifactError(f"{path.name} holds no arrays")
        for field, key in wanted.items():
            key = key or data.files[0]
            if key not in data.files:
                raise ArtifactError(f"{path.name} has no array named {key!r}; "
                                    f"it holds: {', '.join(data.files)}", field)
            with _numpy_errors(path, field, key):
                arrays[field] = data[key]
    return arrays


# Dataset formats --------------------------------------------------------------------------------

def _from_npz(path: Path, artifact: Artifact, base_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(artifact.features, list):
        raise ArtifactError("an npz dataset names one features array, e.g. `features: X`",
                            "features")
    _check_magic(path, "npz")
    wanted: dict[str, str | None] = {"features": artifact.features or "X", "labels": artifact.labels or "y"}
    arrays = _npz_arrays(path, wanted)
    return arrays["features"], arrays["labels"]


def _from_npy(path: Path, artifact: Artifact, base_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    if not artifact.labels:
        raise ArtifactError("an npy dataset needs `labels:`, the path of the label array", "labels")
    labels_path = _existing_file(artifact.labels, base_dir, "npy", "labels")
    arrays = []
    for field, file in (("path", path), ("labels", labels_path)):
        _check_magic(file, "npy", field)
        arrays.append(_npy_array(file, field))
    return arrays[0], arrays[1]


def _from_csv(path: Path, artifact: Artifact, base_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    if not artifact.labels:
        raise ArtifactError("a csv dataset needs `labels:`, the name of the label column", "labels")
    _check_magic(path, "csv")
    header, body = _csv_rows(path)
    if artifact.labels not in header:
        raise ArtifactError(f"{path.name} has no column {artifact.labels!r}; "
                            f"columns: {', '.join(header)}", "labels")
    wanted = [artifact.features] if isinstance(artifact.features, str) else artifact.features
    wanted = wanted or [c for c in header if c != artifact.labels]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise ArtifactError(f"{path.name} has no column(s) {', '.join(missing)}; "
                            f"columns: {', '.join(header)}", "features")
    columns = [header.index(c) for c in wanted]
    features = np.empty((len(body), len(columns)), dtype=np.float64)
    for row, (line, values) in enumerate(body):
        for j, column in enumerate(columns):
            try:
                features[row, j] = float(values[column])
            except ValueError:
                raise ArtifactError(f"{path.name}: line {line}, column {header[column]!r}: feature "
                                    f"values must be numbers; got {values[column]!r}",
                                    "features") from None
    label_column = header.index(artifact.labels)
    cells = [(line, values[label_column]) for line, values in body]
    return features, _labels_from_text(cells, path.name)


def _csv_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank rows with their line numbers, each row as wide as the header."""
    rows: list[tuple[int, list[str]]] = []
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark glued to the first name
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            for row in reader:
                rows.append((reader.line_num, row))
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{path.name} is not UTF-8 text, as a csv dataset must be "
                            f"({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise ArtifactError(f"{path.name} is not valid csv ({exc})") from None
    rows = [(line, row) for line, row in rows if row]
    if not rows:
        raise ArtifactError(f"{path.name} is empty")
    (_, header), body = rows[0], rows[1:]
    for line, row in body:
        if len(row) != len(header):
            raise ArtifactError(f"{path.name}: line {line} has {len(row)} values but the header "
                                f"has {len(header)} columns")
    return header, body


def _labels_from_text(cells: list[tuple[int, str]], name: str) -> np.ndarray:
    """Integer labels from csv text ("3", "3.0", " 7 "); anything else names its line."""
    values = np.empty(len(cells), dtype=np.int64)
    for i, (line, text) in enumerate(cells):
        try:
            number = float(text)
            if not number.is_integer():
                raise ValueError(text)
            values[i] = int(number)
        except (ValueError, OverflowError):
            raise ArtifactError(f"{name}: labels must be integer class ids; got {text!r} "
                                f"(line {line})", "labels") from None
    return values


# Validation -------------------------------------------------------------------------------------

def _validated(artifact: Artifact, path: Path, features: np.ndarray, labels: np.ndarray) -> Dataset:
    name = path.name
    if features.dtype.kind not in _NUMERIC_KINDS:
        raise ArtifactError(f"{name}: features must be numeric; got dtype {features.dtype}",
                            "features")
    if features.ndim not in (2, 3, 4):
        raise ArtifactError(f"{name}: features must be (N, D), or images (N, H, W[, C]); "
                            f"got shape {features.shape}", "features")
    n = features.shape[0]
    if n == 0:
        raise ArtifactError(f"{name}: the dataset is empty", "features")
    if features[0].size == 0:
        raise ArtifactError(f"{name}: features have no columns; got shape {features.shape}",
                            "features")
    labels = labels.reshape(-1) if labels.ndim == 2 and 1 in labels.shape else labels
    if labels.ndim != 1 or labels.shape[0] != n:
        got = f"{labels.shape[0]}" if labels.ndim == 1 else f"shape {labels.shape}"
        raise ArtifactError(f"{name}: features have {n} rows but labels have {got}", "labels")
    flat = features.reshape(n, -1).astype(np.float64, copy=False)
    finite = np.isfinite(flat)
    if not finite.all():
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        rows = f"{bad_rows.size} row" if bad_rows.size == 1 else f"{bad_rows.size} rows"
        raise ArtifactError(f"{name}: features contain {int((~finite).sum())} NaN or infinite "
                            f"values (in {rows}, the first is row {int(bad_rows[0])})", "features")
    huge = np.abs(flat) > MAX_FEATURE_MAGNITUDE
    if huge.any():  # squared in every variance and distance: they overflow to inf and the checks see NaN
        row = int(np.flatnonzero(huge.any(axis=1))[0])
        count = int(huge.sum())
        raise ArtifactError(f"{name}: features hold {count} value{'s' if count != 1 else ''} beyond "
                            f"+-{MAX_FEATURE_MAGNITUDE:.0e} "
                            f"(the first in row {row}), too large to square without overflow; rescale them",
                            "features")
    classes, codes = np.unique(_integer_labels(labels, name), return_inverse=True)
    if classes.shape[0] < 2:
        raise ArtifactError(f"{name}: labels hold a single class ({classes[0].item()}); "
                            "at least two are needed", "labels")
    images = _read_only(features) if features.ndim >= 3 else None
    codes = codes.astype(np.int64)
    return Dataset(artifact.name, path, _read_only(flat), _read_only(codes), _read_only(classes),
                   images)


def _integer_labels(labels: np.ndarray, name: str) -> np.ndarray:
    if labels.dtype.kind in "iub":
        return labels.astype(np.int64)
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all():
            row = int(np.flatnonzero(~np.isfinite(labels))[0])
            raise ArtifactError(f"{name}: labels contain NaN or infinite values "
                                f"(the first is row {row})", "labels")
        fractional = np.flatnonzero(labels != np.round(labels))
        if fractional.size == 0:
            return labels.astype(np.int64)
        bad = int(fractional[0])
        raise ArtifactError(f"{name}: labels must be integer class ids; "
                            f"got {labels[bad].item()!r} (row {bad})", "labels")
    raise ArtifactError(f"{name}: labels must be integer class ids; got {labels.dtype} values "
                        f"such as {labels.reshape(-1)[0].item()!r} (row 0)", "labels")


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
