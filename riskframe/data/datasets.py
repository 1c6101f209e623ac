"""Load dataset and representation artifacts into arrays, refusing what detectors cannot trust.

Every problem is an :class:`~riskframe.errors.ArtifactError` naming the artifact field to blame;
the engine locates it in the pipeline file. Before a byte is read, the path must lie in the
pipeline's folder or its ``data_roots`` and be a regular file (:mod:`riskframe.data.roots`); before
an array is allocated, its header must match the bytes there and fit the memory budget
(:mod:`riskframe.data.budget`). Pickled data is never loaded: ``.npz``/``.npy`` files are opened
with ``allow_pickle=False``, and object arrays and pickle streams are refused before numpy reads
them. Messages name files, arrays, shapes, rows and columns, never the files' content.

Loaded arrays are read-only: one load is shared by every run of an assessment, so a detector that
normalised its input in place would silently change what the next detector sees.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from riskframe.data._csv import read_csv
from riskframe.data.budget import Budget
from riskframe.data.numpy_files import ArrayHeader, Npz, check_magic, npy_header, read_npy
from riskframe.data.roots import DataRoots
from riskframe.data.table import Table
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import CORPUS_FORMATS, FOLDER_DATASET_FORMATS, FORMATS, Artifact

# The formats read as arrays; jsonl and text are corpora, read by riskframe.data.text.
_ARRAY_FORMATS = tuple(f for f in FORMATS["dataset"] if f not in CORPUS_FORMATS)
_NUMERIC_KINDS = "biuf"
# Larger values overflow when squared (variances, distances): 1e154 squared is already beyond float64,
# and 2e19 beyond float32 (features stored as float32 stay float32).
MAX_FEATURE_MAGNITUDE = 1e150
MAX_FLOAT32_MAGNITUDE = 1e18
# Values are checked this many at a time, so that the check's temporaries stay small next to the data.
_CHECK_BLOCK = 1 << 21
_LABEL_BYTES = 16  # per label: the int64 values and the int64 class codes


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled dataset as detectors see it.

    ``features`` is (N, D) float64, or float32 when the file stores float32 (half the memory: ten
    million rows of 20 features take 800 MB, not 1.6 GB); ``labels`` holds class codes 0..K-1
    and ``classes`` the label values users wrote (``classes[labels[i]]`` is sample i's label);
    ``images`` keeps the original (N, H, W[, C]) array when the features are pictures; ``groups``
    the entity code of each row when the artifact declares ``groups:``. All arrays are read-only.

    Where a sample comes from, for tables and image folders: ``columns`` names the feature
    columns and ``categories[column][code]`` is the text of a category; ``rows[i]`` is sample i's
    place in its file, counted as ``row_kind`` says (``line``: the csv line it starts on; ``row``:
    a Parquet row, from 0); ``ids[i]`` its value in the ``id_column`` (for an image folder, the
    image's path in the folder); ``shard_files[shards[i]]`` the file it was read from, for a
    dataset of several files.
    """

    name: str
    path: Path
    features: np.ndarray
    labels: np.ndarray
    classes: np.ndarray
    images: np.ndarray | None = None
    groups: np.ndarray | None = None
    columns: tuple[str, ...] = ()
    categories: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    row_kind: str = ""
    rows: np.ndarray | None = None
    id_column: str | None = None
    ids: np.ndarray | None = None
    shard_files: tuple[str, ...] = ()
    shards: np.ndarray | None = None

    @property
    def n_samples(self) -> int:
        return int(self.features.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.classes.shape[0])

    def label_of(self, code: int) -> str:
        """The user-facing label of class code ``code``."""
        return str(self.classes[code].item())

    def column_named(self, position: int) -> str:
        """Feature column ``position`` as a reader knows it: ``column 'age'`` where the file
        names it, else ``feature column 3``."""
        return f"column {self.columns[position]!r}" if position < len(self.columns) else f"feature column {position}"


def load_dataset(artifact: Artifact, roots: DataRoots | Path, budget: Budget | None = None) -> Dataset:
    """Read and validate a ``type: dataset`` artifact.

    Parameters
    ----------
    artifact
        The declaration: ``format`` (or the path's suffix) picks npz, npy (a features file and a
        labels file) or csv (a label column).
    roots
        Where its paths may lead: the pipeline's :class:`~riskframe.data.roots.DataRoots`, or a
        folder (relative paths are resolved against it and must stay inside it).
    budget
        The assessment's memory budget (default: a fresh one of the configured size).

    Raises
    ------
    ArtifactError
        The file is outside the roots, missing, not a regular file, a pickle, damaged, larger
        than the budget, lacks the named arrays or columns, or its content is not a usable
        labelled dataset (empty, NaN or inf, one class, non-integer labels, ...).

    Examples
    --------
    >>> raw = Artifact(name="raw", type="dataset", path="raw.npz")
    >>> ds = load_dataset(raw, Path("data"))  # doctest: +SKIP
    >>> ds.features.shape, ds.classes  # doctest: +SKIP
    ((1797, 64), array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]))
    """
    roots = roots if isinstance(roots, DataRoots) else DataRoots(roots)
    budget = budget if budget is not None else Budget.from_environment()
    fmt = artifact.resolved_format
    if fmt not in _ARRAY_FORMATS:
        raise ArtifactError(f"cannot read a dataset of format {fmt!r}; declare format: "
                            f"{', '.join(_ARRAY_FORMATS[:-1])} or {_ARRAY_FORMATS[-1]}", "format")
    path = roots.existing(artifact.path, folder_ok=fmt in FOLDER_DATASET_FORMATS,
                          single=f"an artifact of format {fmt}")
    if fmt == "images":
        return _from_images(path, artifact, roots, budget)
    if path.is_dir():
        return _from_shards(path, artifact, roots, budget)
    if artifact.shards is not None:
        raise ArtifactError(f"{path.name} is a file; `shards:` is the pattern of the files in a folder", "shards")
    if fmt == "csv":
        if not artifact.labels:
            raise ArtifactError("a csv dataset needs `labels:`, the name of the label column", "labels")
        check_magic(path, "csv")
        table = read_csv(path, artifact, budget)
        with budget.reserve(table.nbytes + table.labels.size * _LABEL_BYTES, f"{path.name}: {table.labels.size} rows"):
            return from_table(artifact, path, table, "line")
    if fmt == "parquet":
        return _from_parquet(path, [path], artifact, budget)
    if fmt == "npz":
        return _from_npz(path, artifact, budget)
    return _from_npy(path, artifact, roots, budget)


def load_representations(artifact: Artifact, roots: DataRoots | Path, budget: Budget | None = None) -> np.ndarray:
    """Read a ``type: representations`` artifact: an (N, D) finite float array, read-only.

    In an ``.npz``, ``features:`` names the array (default: the only or first one).

    Raises
    ------
    ArtifactError
        Outside the roots, missing, not a regular file, a pickle or object array, damaged, larger
        than the budget, or not a finite numeric 2-D array.
    """
    roots = roots if isinstance(roots, DataRoots) else DataRoots(roots)
    budget = budget if budget is not None else Budget.from_environment()
    fmt = artifact.resolved_format
    if fmt not in ("npy", "npz"):
        raise ArtifactError(f"cannot read representations of format {fmt!r}; declare format: npy or npz",
                            "format")
    path = roots.existing(artifact.path, single=f"an artifact of format {fmt}")
    check_magic(path, fmt)
    if fmt == "npz":
        with Npz(path) as npz:
            if not npz.files:
                raise ArtifactError(f"{path.name} holds no arrays")
            key = artifact.features if isinstance(artifact.features, str) else npz.files[0]
            _check_named(npz, key, path.name, "features")
            header = npz.header(key, "path")
            with budget.reserve(_loaded_bytes(header), f"{path.name}: representations ({header.describe()})"):
                return _valid_representations(path, npz.array(key, "path"))
    header = npy_header(path, "path")
    with budget.reserve(_loaded_bytes(header), f"{path.name}: representations ({header.describe()})"):
        return _valid_representations(path, read_npy(path, "path"))


def _valid_representations(path: Path, reps: np.ndarray) -> np.ndarray:
    if reps.ndim != 2 or reps.dtype.kind not in _NUMERIC_KINDS:
        raise ArtifactError(f"{path.name}: representations must be a numeric (N, D) array; "
                            f"got {reps.dtype} {reps.shape}")
    floats: np.ndarray = reps.astype(np.float64, copy=False)
    bad, _, _ = _scan(floats)
    if bad:
        raise ArtifactError(f"{path.name}: representations contain NaN or infinite values")
    return _read_only(floats)


def _loaded_bytes(header: ArrayHeader, float32_kept: bool = False) -> int:
    """What an array takes once loaded: itself, plus its float64 copy when it is not float64 (nor
    float32, where ``float32_kept``: dataset features) or not in C order (detectors see C-ordered
    rows)."""
    kept = header.dtype == np.float64 or (float32_kept and header.dtype == np.float32)
    copy = header.count * 8 if not kept or header.fortran_order else 0
    return header.nbytes + copy


def _check_named(npz: Npz, key: str, name: str, field: str) -> None:
    if key not in npz.files:
        more = f" and {len(npz.files) - 20} more" if len(npz.files) > 20 else ""
        raise ArtifactError(f"{name} has no array named {key!r}; it holds: {', '.join(npz.files[:20])}{more}", field)


def _from_parquet(path: Path, files: list[Path], artifact: Artifact, budget: Budget) -> Dataset:
    from riskframe.data.parquet_table import read_parquet

    table, shards = read_parquet(files, artifact, budget)
    with budget.reserve(table.nbytes + table.labels.size * _LABEL_BYTES + shards.nbytes,
                        f"{path.name}: {table.labels.size} rows"):
        if len(files) == 1:
            return from_table(artifact, path, table, "row")
        return from_table(artifact, path, table, "row", tuple(f.relative_to(path).as_posix() for f in files), shards)


def _from_shards(folder: Path, artifact: Artifact, roots: DataRoots, budget: Budget) -> Dataset:
    """A folder of Parquet or npz files, each checked against the manifest first when there is one."""
    from riskframe.data.shards import check_shard_digests, pattern_of, shard_files

    fmt = artifact.resolved_format
    if fmt not in ("parquet", "npz"):
        raise ArtifactError(f"{folder} is a folder; a dataset of format {fmt} is a single file (folders hold "
                            "parquet or npz shards, or images)")
    files = shard_files(folder, pattern_of(artifact), roots, "shards" if artifact.shards else "path")
    if artifact.manifest is not None:
        check_shard_digests(files, roots.existing(artifact.manifest, "manifest", single="a manifest"))
    if fmt == "parquet":
        return _from_parquet(folder, files, artifact, budget)
    return _from_npz_shards(folder, files, artifact, budget)


def _from_npz_shards(folder: Path, files: list[Path], artifact: Artifact, budget: Budget) -> Dataset:
    """The npz files' arrays one after the other, in one array sized from their headers."""
    keys = {"features": _one_key(artifact), "labels": artifact.labels or "y"}
    headers = []
    for file in files:
        check_magic(file, "npz")
        with Npz(file) as npz:
            for field, key in keys.items():
                _check_named(npz, key, file.name, field)
            headers.append({field: npz.header(key, field) for field, key in keys.items()})
    first = headers[0]
    for file, found in zip(files, headers, strict=True):
        if found["features"].shape[1:] != first["features"].shape[1:]:
            raise ArtifactError(f"{file.name}: features of shape {found['features'].shape} do not stack with "
                                f"{files[0].name}'s {first['features'].shape}", "features")
    rows = [h["features"].shape[0] if h["features"].shape else 0 for h in headers]
    total = sum(_dataset_bytes(h["features"], h["labels"]) for h in headers)
    with budget.reserve(total + 12 * sum(rows), f"{folder.name}: {len(files)} npz files, {sum(rows)} rows"):
        features = np.empty((sum(rows), *first["features"].shape[1:]), dtype=np.result_type(
            *(h["features"].dtype for h in headers)))
        labels: list[np.ndarray] = []
        at = 0
        for file, count in zip(files, rows, strict=True):
            with Npz(file) as npz:
                features[at:at + count] = npz.array(keys["features"], "features")
                labels.append(npz.array(keys["labels"], "labels").reshape(-1))
            at += count
        dataset = _validated(artifact, folder, features, np.concatenate(labels))
        shards = np.repeat(np.arange(len(files), dtype=np.int32), rows)
        local = np.concatenate([np.arange(count, dtype=np.int64) for count in rows])
        return replace(dataset, row_kind="row", rows=_read_only(local), shards=_read_only(shards),
                       shard_files=tuple(f.relative_to(folder).as_posix() for f in files))


def _one_key(artifact: Artifact) -> str:
    if isinstance(artifact.features, list):
        raise ArtifactError("an npz dataset names one features array, e.g. `features: X`", "features")
    return artifact.features or "X"


def _from_images(folder: Path, artifact: Artifact, roots: DataRoots, budget: Budget) -> Dataset:
    from riskframe.data.images import read_images

    if not folder.is_dir():
        raise ArtifactError(f"{folder.name} is a file; an images dataset is a folder (a subfolder per class, or "
                            "any layout with a manifest csv under labels:)")
    read = read_images(folder, artifact, roots, budget)
    dataset = _validated(artifact, folder, read["images"], read["labels"])
    return replace(dataset, classes=_read_only(read["classes"]), row_kind="file", ids=_read_only(read["ids"]))


# Dataset formats --------------------------------------------------------------------------------

def _from_npz(path: Path, artifact: Artifact, budget: Budget) -> Dataset:
    if isinstance(artifact.features, list):
        raise ArtifactError("an npz dataset names one features array, e.g. `features: X`",
                            "features")
    check_magic(path, "npz")
    with Npz(path) as npz:
        if not npz.files:
            raise ArtifactError(f"{path.name} holds no arrays")
        keys = {"features": artifact.features or "X", "labels": artifact.labels or "y"}
        if artifact.groups:
            keys["groups"] = artifact.groups
        for field, key in keys.items():
            _check_named(npz, key, path.name, field)
        headers = {field: npz.header(key, field) for field, key in keys.items()}
        extra = headers["groups"].nbytes * 2 if "groups" in headers else 0
        with budget.reserve(_dataset_bytes(headers["features"], headers["labels"]) + extra,
                            f"{path.name}: features ({headers['features'].describe()})"):
            features, labels = (npz.array(keys[field], field) for field in ("features", "labels"))
            groups = npz.array(keys["groups"], "groups") if "groups" in keys else None
            return _validated(artifact, path, features, labels, groups)


def _from_npy(path: Path, artifact: Artifact, roots: DataRoots, budget: Budget) -> Dataset:
    if not artifact.labels:
        raise ArtifactError("an npy dataset needs `labels:`, the path of the label array", "labels")
    labels_path = roots.existing(artifact.labels, "labels", single="a label file")
    files = {"path": path, "labels": labels_path}
    for field, file in files.items():
        check_magic(file, "npy", field)
    headers = {field: npy_header(file, field) for field, file in files.items()}
    with budget.reserve(_dataset_bytes(headers["path"], headers["labels"]),
                        f"{path.name}: features ({headers['path'].describe()})"):
        return _validated(artifact, path, read_npy(path, "path"), read_npy(labels_path, "labels"))


def _dataset_bytes(features: ArrayHeader, labels: ArrayHeader) -> int:
    return _loaded_bytes(features, float32_kept=True) + labels.nbytes + labels.count * _LABEL_BYTES


def from_table(artifact: Artifact, path: Path, table: Table, row_kind: str,
               shard_files: tuple[str, ...] = (), shards: np.ndarray | None = None) -> Dataset:
    """The dataset of a table (csv, Parquet), checked as every dataset is; ``row_kind`` says
    what ``table.rows`` counts."""
    dataset = _validated(artifact, path, table.features, table.labels, table.groups)
    # The table's class codes are 0..K-1, all present: the checked dataset's codes are the same.
    return replace(dataset, classes=_read_only(table.classes), columns=table.columns, categories=table.categories,
                   row_kind=row_kind, rows=_read_only(table.rows), id_column=artifact.id_column,
                   ids=_optional(table.ids), shard_files=shard_files, shards=_optional(shards))


# Validation -------------------------------------------------------------------------------------

def _validated(artifact: Artifact, path: Path, features: np.ndarray, labels: np.ndarray,
               groups: np.ndarray | None = None) -> Dataset:
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
    # float32 stays float32 (scikit-learn's models take it as it is); anything else is read as float64.
    flat = features.reshape(n, -1)
    flat = flat if flat.dtype == np.float32 else flat.astype(np.float64, copy=False)
    bad, bad_rows, first = _scan(flat)
    if bad:
        rows = f"{bad_rows} row" if bad_rows == 1 else f"{bad_rows} rows"
        raise ArtifactError(f"{name}: features contain {bad} NaN or infinite values (in {rows}, the first is "
                            f"row {first})", "features")
    limit = MAX_FLOAT32_MAGNITUDE if flat.dtype == np.float32 else MAX_FEATURE_MAGNITUDE
    huge, _, first = _scan(flat, limit=limit)
    if huge:  # squared in every variance and distance: they overflow to inf and the checks see NaN
        fix = (" in float32 without overflow; rescale them or store them as float64" if flat.dtype == np.float32
               else " without overflow; rescale them")
        raise ArtifactError(f"{name}: features hold {huge} value{'s' if huge != 1 else ''} beyond "
                            f"+-{limit:.0e} (the first in row {first}), too large to square{fix}", "features")
    classes, codes = np.unique(_integer_labels(labels, name), return_inverse=True)
    if classes.shape[0] < 2:
        raise ArtifactError(f"{name}: labels hold a single class; at least two are needed", "labels")
    images = _read_only(features) if features.ndim >= 3 else None
    codes = codes.astype(np.int64)
    return Dataset(artifact.name, path, _read_only(flat), _read_only(codes), _read_only(classes),
                   images, _group_codes(groups, n, name))


def _group_codes(groups: np.ndarray | None, n: int, name: str) -> np.ndarray | None:
    """One integer per row naming its entity; any values numpy can compare (ids, names)."""
    if groups is None:
        return None
    groups = groups.reshape(-1) if groups.ndim == 2 and 1 in groups.shape else groups
    if groups.ndim != 1 or groups.shape[0] != n:
        got = f"{groups.shape[0]}" if groups.ndim == 1 else f"shape {groups.shape}"
        raise ArtifactError(f"{name}: features have {n} rows but groups have {got}", "groups")
    if groups.dtype.kind not in "iubfUS":
        raise ArtifactError(f"{name}: groups must be numbers or text; got dtype {groups.dtype}", "groups")
    if groups.dtype.kind == "f" and not np.isfinite(groups).all():
        raise ArtifactError(f"{name}: groups contain NaN or infinite values", "groups")
    return _read_only(np.unique(groups, return_inverse=True)[1].reshape(-1).astype(np.int64))


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
        raise ArtifactError(f"{name}: labels must be integer class ids; row {int(fractional[0])} holds a "
                            "fraction", "labels")
    raise ArtifactError(f"{name}: labels must be integer class ids; got {labels.dtype} values", "labels")


def _scan(flat: np.ndarray, limit: float | None = None) -> tuple[int, int, int]:
    """How many values are NaN or infinite (with a ``limit``: finite but beyond it),
    in how many rows, and the first such row (-1: none); a block of rows at a time, so that the
    check's temporaries stay small next to the data."""
    count = rows = 0
    first = -1
    step = max(1, _CHECK_BLOCK // max(1, flat.shape[1]))
    for start in range(0, flat.shape[0], step):
        block = flat[start:start + step]
        bad = np.abs(block) > limit if limit is not None else ~np.isfinite(block)
        if limit is not None:
            bad &= np.isfinite(block)
        if not bad.any():
            continue
        row_hits = np.flatnonzero(bad.any(axis=1))
        count, rows = count + int(bad.sum()), rows + int(row_hits.size)
        first = start + int(row_hits[0]) if first < 0 else first
    return count, rows, first


def _optional(array: np.ndarray | None) -> np.ndarray | None:
    return None if array is None else _read_only(array)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
