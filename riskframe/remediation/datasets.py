"""Find the datasets an assessment read, check they are unchanged, and write them filtered.

A dataset is filtered only if its file still has the sha256 the assessment recorded for it in
``inputs``: flags are indices into the file that was assessed, and applied to any other file they
would remove the wrong samples.

Filtering keeps the format (``.npz``): the features and labels arrays the pipeline names, and any
other array with one row per sample, lose the flagged rows; arrays of another length (a recorded
trigger, class names) are copied unchanged. Three arrays record what was done: ``kept_indices``
and ``removed_indices`` (row numbers in the source file) and ``source_rows``. Representations
row-aligned with a filtered dataset (``of:`` it) lose the same rows, or they would no longer line
up. Files are written with fixed zip timestamps, so the same inputs give the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskframe.assessment import Assessment
from riskframe.data.budget import Budget
from riskframe.data.numpy_files import Npz, check_magic, npy_header, read_npy
from riskframe.data.roots import DataRoots
from riskframe.errors import InputError, UsageError
from riskframe.io.digests import sha256_file
from riskframe.io.files import write_npz
from riskframe.spec.pipeline import Artifact, Pipeline

RECORD_ARRAYS = ("kept_indices", "removed_indices", "source_rows")


@dataclass(frozen=True)
class SourceDataset:
    """A dataset artifact as the assessment read it, verified to be unchanged."""

    artifact: Artifact
    path: Path
    sha256: str


@dataclass(frozen=True)
class Filtered:
    source: SourceDataset
    output: Path
    sha256: str
    rows: int
    removed: np.ndarray

    @property
    def kept(self) -> int:
        return self.rows - int(self.removed.size)


def locate(assessment: Assessment, pipeline: Pipeline, name: str, kind: str = "dataset") -> SourceDataset:
    """The ``kind`` artifact ``name`` (a dataset, or representations row-aligned with one) and its
    file, checked against the digest the assessment recorded.

    Raises
    ------
    InputError
        The pipeline has no such artifact, its format cannot be filtered, the file is missing, the
        assessment recorded no digest for it, or the file changed since.
    """
    artifact = next((a for _, a in pipeline.artifacts() if a.name == name), None)
    if artifact is None or artifact.type != kind:
        raise InputError(f"{pipeline.path}: the assessment flagged samples of {name!r}, but the pipeline has no "
                         f"{kind} artifact of that name; was the pipeline edited since the assessment?")
    formats = ("npz",) if kind == "dataset" else ("npz", "npy")
    if artifact.resolved_format not in formats:
        raise UsageError(f"{kind} {name!r} is {artifact.resolved_format}; riskframe remediate filters "
                         f"{' and '.join(formats)} {kind}")
    recorded_as = (Path(assessment.pipeline.path).parent / artifact.path).as_posix()
    entry = next((f for f in assessment.inputs if f.role == "artifact" and f.path == recorded_as), None)
    if entry is None:
        raise InputError(f"the assessment records no sha256 for {recorded_as} ({kind} {name!r}): cannot check "
                         "that the file is the one that was assessed")
    DataRoots.of(pipeline).resolve(artifact.path)  # refuses a path outside the pipeline's folder and data_roots
    path = pipeline.base_dir / artifact.path
    if not path.is_file():
        raise InputError(f"{kind} file not found: {path} ({kind} {name!r}); run remediate from the folder "
                         "riskframe assess ran in, or give the pipeline's location with --pipeline")
    actual = sha256_file(path)
    if actual != entry.sha256:
        raise InputError(f"{path}: {kind} {name!r} changed since the assessment (sha256 {actual[:12]}..., the "
                         f"assessment read {entry.sha256[:12]}...): its flags no longer apply; assess it again")
    return SourceDataset(artifact, path, actual)


def filter_representations(source: SourceDataset, remove: np.ndarray, rows: int, output: Path) -> Filtered:
    """Write representations row-aligned with a filtered dataset without the same rows (npy stays
    npy; in an npz every array with ``rows`` rows is filtered).

    Raises
    ------
    InputError
        The representations do not have one row per sample of their dataset.
    """
    keep = np.setdiff1d(np.arange(rows), remove)
    if source.artifact.resolved_format == "npy":
        header = npy_header(source.path, "path")
        with Budget.from_environment().reserve(header.nbytes, f"{source.path.name} ({header.describe()})"):
            arrays = {"": read_npy(source.path, "path")}
    else:
        arrays = _read(source.path)
    if not any(a.ndim >= 1 and a.shape[0] == rows for a in arrays.values()):
        raise InputError(f"representations {source.artifact.name!r} have no array with one row per sample of "
                         f"{source.artifact.of!r} ({rows} rows): they cannot be filtered with it")
    written = {key: (value[keep] if value.ndim >= 1 and value.shape[0] == rows else value)
               for key, value in arrays.items()}
    if "" in written:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("wb") as handle:
            np.lib.format.write_array(handle, np.asarray(written[""]), allow_pickle=False)
    else:
        write_npz(output, written)
    return Filtered(source, output, sha256_file(output), rows, np.setdiff1d(np.arange(rows), keep))


def filter_dataset(source: SourceDataset, remove: np.ndarray, output: Path) -> Filtered:
    """Write ``source`` without the rows in ``remove`` to ``output`` (see the module docstring).

    Raises
    ------
    InputError
        A flagged index is past the end of the dataset.
    """
    arrays = _read(source.path)
    features = source.artifact.features if isinstance(source.artifact.features, str) else "X"
    labels = source.artifact.labels or "y"
    if features not in arrays or labels not in arrays:
        raise InputError(f"{source.path.name} lacks the arrays {features!r} and {labels!r} the pipeline names")
    rows = int(arrays[labels].shape[0])
    remove = np.unique(np.asarray(remove, dtype=np.int64))
    if remove.size and remove[-1] >= rows:
        raise InputError(f"the assessment flagged row {int(remove[-1])} of dataset {source.artifact.name!r}, which "
                         f"has {rows} rows: the flags do not belong to this file")
    keep = np.setdiff1d(np.arange(rows), remove)
    written = {key: (value[keep] if _row_aligned(key, value, rows, (features, labels)) else value)
               for key, value in arrays.items() if key not in RECORD_ARRAYS}
    written.update(kept_indices=keep, removed_indices=remove, source_rows=np.array(rows, dtype=np.int64))
    write_npz(output, written)
    return Filtered(source, output, sha256_file(output), rows, remove)


def _row_aligned(key: str, value: np.ndarray, rows: int, named: tuple[str, str]) -> bool:
    return key in named or (value.ndim >= 1 and value.shape[0] == rows)


def _read(path: Path) -> dict[str, np.ndarray]:
    """Every array of an npz, each header checked against its bytes and the memory budget before it
    is read (riskframe.data.numpy_files)."""
    check_magic(path, "npz")
    with Npz(path) as npz:
        headers = {key: npz.header(key, "path") for key in npz.files}
        size = sum(h.nbytes for h in headers.values())
        with Budget.from_environment().reserve(size, f"{path.name} ({len(headers)} arrays)"):
            return {key: npz.array(key, "path") for key in npz.files}
