"""Load dataset and representation artifacts into arrays, refusing what detectors cannot trust.

Every problem is an :class:`~riskframe.errors.ArtifactError` naming the artifact field to blame;
the engine locates it in the pipeline file. Pickled data is never loaded: ``.npz``/``.npy`` files
are opened with ``allow_pickle=False`` and a file whose bytes are a pickle stream is refused
before numpy sees it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact

_MAGIC = {"npz": b"PK\x03\x04", "npy": b"\x93NUMPY"}


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled dataset as detectors see it.

    ``features`` is (N, D) float64; ``labels`` holds class codes 0..K-1 and ``classes`` the label
    values users wrote (``classes[labels[i]]`` is sample i's label); ``images`` keeps the original
    (N, H, W[, C]) array when the features are pictures.
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
    """Read and validate a ``type: dataset`` artifact."""
    path = _existing(artifact, base_dir)
    fmt = artifact.resolved_format
    if fmt == "npz":
        features, labels = _from_npz(path, artifact)
    elif fmt == "npy":
        features, labels = _from_npy(path, artifact, base_dir)
    elif fmt == "csv":
        features, labels = _from_csv(path, artifact)
    else:
        raise ArtifactError(f"cannot read a dataset of format {fmt!r}; declare format: npz, npy or csv", "format")
    return _validated(artifact, path, features, labels)


def load_representations(artifact: Artifact, base_dir: Path) -> np.ndarray:
    """Read a ``type: representations`` artifact: an (N, D) finite float array. In an ``.npz``,
    ``features:`` names the array (default: the first one)."""
    path = _existing(artifact, base_dir)
    fmt = artifact.resolved_format
    _check_magic(path, fmt)
    try:
        if fmt == "npz":
            with np.load(path, allow_pickle=False) as data:
                key = artifact.features if isinstance(artifact.features, str) else data.files[0]
                if key not in data.files:
                    raise ArtifactError(f"{path.name} has no array named {key!r}; it holds: {', '.join(data.files)}", "features")
                reps = data[key]
        else:
            reps = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ArtifactError(f"{path.name} cannot be read without unpickling ({exc}); riskframe refuses that") from None
    if reps.ndim != 2 or reps.dtype.kind not in "biuf":
        raise ArtifactError(f"{path.name}: representations must be a numeric (N, D) array; got {reps.dtype} {reps.shape}")
    if not np.isfinite(reps).all():
        raise ArtifactError(f"{path.name}: representations contain NaN or infinite values")
    return reps.astype(np.float64, copy=False)


def _existing(artifact: Artifact, base_dir: Path) -> Path:
    path = (base_dir / artifact.path).resolve()
    if not path.exists():
        raise ArtifactError(f"file not found: {path}")
    return path


def _check_magic(path: Path, fmt: str) -> None:
    with path.open("rb") as handle:
        head = handle.read(8)
    if _looks_like_pickle(head):
        raise ArtifactError(f"{path.name} is a pickle stream, not {fmt}; riskframe never unpickles dataset files. "
                            "Save the arrays with numpy.savez instead")
    magic = _MAGIC.get(fmt)
    if magic and not head.startswith(magic):
        raise ArtifactError(f"{path.name} is not an {fmt} file (its first bytes are {head[:6]!r})")


def _looks_like_pickle(head: bytes) -> bool:
    # Protocol 2+ streams open with PROTO (0x80) and the protocol number.
    return len(head) >= 2 and head[0] == 0x80 and head[1] <= 5


def _from_npz(path: Path, artifact: Artifact) -> tuple[np.ndarray, np.ndarray]:
    _check_magic(path, "npz")
    feature_key = artifact.features if isinstance(artifact.features, str) else "X"
    label_key = artifact.labels or "y"
    try:
        with np.load(path, allow_pickle=False) as data:
            for field, key in (("features", feature_key), ("labels", label_key)):
                if key not in data.files:
                    raise ArtifactError(f"{path.name} has no array named {key!r}; it holds: {', '.join(data.files) or 'nothing'}", field)
            return data[feature_key], data[label_key]
    except ValueError as exc:  # object arrays need pickle; refused
        raise ArtifactError(f"{path.name} cannot be read without unpickling ({exc}); riskframe refuses that") from None


def _from_npy(path: Path, artifact: Artifact, base_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    if not artifact.labels:
        raise ArtifactError("an npy dataset needs `labels:`, the path of the label array", "labels")
    labels_path = (base_dir / artifact.labels).resolve()
    if not labels_path.exists():
        raise ArtifactError(f"label file not found: {labels_path}", "labels")
    arrays = []
    for field, file in (("path", path), ("labels", labels_path)):
        _check_magic(file, "npy")
        try:
            arrays.append(np.load(file, allow_pickle=False))
        except ValueError as exc:
            raise ArtifactError(f"{file.name} cannot be read without unpickling ({exc}); riskframe refuses that", field) from None
    return arrays[0], arrays[1]


def _from_csv(path: Path, artifact: Artifact) -> tuple[np.ndarray, np.ndarray]:
    if not artifact.labels:
        raise ArtifactError("a csv dataset needs `labels:`, the name of the label column", "labels")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise ArtifactError(f"{path.name} is empty")
    header, body = rows[0], rows[1:]
    if artifact.labels not in header:
        raise ArtifactError(f"{path.name} has no column {artifact.labels!r}; columns: {', '.join(header)}", "labels")
    label_col = header.index(artifact.labels)
    wanted = artifact.features if isinstance(artifact.features, list) else [c for c in header if c != artifact.labels]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise ArtifactError(f"{path.name} has no column(s) {', '.join(missing)}", "features")
    columns = [header.index(c) for c in wanted]
    try:
        features = np.array([[float(row[c]) for c in columns] for row in body], dtype=np.float64).reshape(len(body), len(columns))
    except (ValueError, IndexError) as exc:
        raise ArtifactError(f"{path.name}: feature values must be numbers ({exc})", "features") from None
    labels = np.array([row[label_col] if label_col < len(row) else "" for row in body], dtype=object)
    return features, _integer_labels_from_text(labels, path)


def _integer_labels_from_text(labels: np.ndarray, path: Path) -> np.ndarray:
    try:
        values = np.array([float(v) for v in labels], dtype=np.float64)
    except ValueError:
        bad = next(v for v in labels if not _is_number(v))
        raise ArtifactError(f"{path.name}: labels must be integer class ids; got {bad!r}", "labels") from None
    return values


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _validated(artifact: Artifact, path: Path, features: np.ndarray, labels: np.ndarray) -> Dataset:
    name = path.name
    if features.dtype.kind not in "biuf":
        raise ArtifactError(f"{name}: features must be numeric; got dtype {features.dtype}", "features")
    if features.ndim not in (2, 3, 4):
        raise ArtifactError(f"{name}: features must be (N, D), or images (N, H, W[, C]); got shape {features.shape}", "features")
    n = features.shape[0]
    if n == 0:
        raise ArtifactError(f"{name}: the dataset is empty", "features")
    labels = labels.reshape(-1) if labels.ndim == 2 and 1 in labels.shape else labels
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ArtifactError(f"{name}: features have {n} rows but labels have shape {labels.shape}", "labels")
    flat = features.reshape(n, -1).astype(np.float64, copy=False)
    finite = np.isfinite(flat)
    if not finite.all():
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        raise ArtifactError(f"{name}: features contain {int((~finite).sum())} NaN or infinite values "
                            f"(in {bad_rows.size} rows, the first is row {int(bad_rows[0])})", "features")
    codes_source = _integer_labels(labels, name)
    classes, codes = np.unique(codes_source, return_inverse=True)
    if classes.shape[0] < 2:
        raise ArtifactError(f"{name}: labels hold a single class ({classes[0].item()}); at least two are needed", "labels")
    images = features if features.ndim >= 3 else None
    return Dataset(artifact.name, path, flat, codes.astype(np.int64), classes, images)


def _integer_labels(labels: np.ndarray, name: str) -> np.ndarray:
    if labels.dtype.kind in "iub":
        return labels.astype(np.int64)
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all():
            raise ArtifactError(f"{name}: labels contain NaN or infinite values", "labels")
        if np.all(labels == np.round(labels)):
            return labels.astype(np.int64)
        bad = labels[labels != np.round(labels)][0]
        raise ArtifactError(f"{name}: labels must be integer class ids; got {bad!r}", "labels")
    example = labels.reshape(-1)[0]
    raise ArtifactError(f"{name}: labels must be integer class ids; got {labels.dtype} values such as {example!r}", "labels")
