"""Where a dataset's samples are in its files, and what they hold, as a person looks them up.

A sample-level detector flags indices into a dataset; a reviewer with a csv open needs the line,
the row's identifier and its values. :func:`describe_rows` gives them for the datasets that know
them (tables and image folders; an npz row's index is its place already), and
:func:`with_flagged_rows` adds them to a result's evidence as ``flagged_rows``, for the most
suspicious samples first, so that every detector's flags are located the same way.

>>> describe_rows(dataset, [41])  # doctest: +SKIP
[{'index': 41, 'line': 43, 'id': 'P-042', 'values': {'bill_length_mm': 39.5, 'island': 'Dream'}}]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from riskframe.data.datasets import Dataset

# Rows described in a result's evidence (the most suspicious first; every flagged index stays in
# flagged_indices) and feature values given per row: what a reviewer reads, a bounded size in JSON.
MAX_DESCRIBED_ROWS = 100
MAX_VALUES = 50


def locates_rows(dataset: Dataset) -> bool:
    """Whether the dataset knows more of a sample than its index."""
    return bool(dataset.row_kind) or dataset.ids is not None


def describe_rows(dataset: Dataset, indices: Sequence[int]) -> list[dict[str, Any]]:
    """For each index: its place in the file (``line``, ``row`` or ``file``), the ``shard`` file,
    the ``id`` and the feature ``values`` by column name (categories as their text).

    Raises
    ------
    IndexError
        An index is not a sample of the dataset.
    """
    n = dataset.n_samples
    out = []
    for index in indices:
        if not 0 <= index < n:
            raise IndexError(f"sample {index} is not in {dataset.name} ({n} samples)")
        row: dict[str, Any] = {"index": int(index)}
        if dataset.rows is not None and dataset.row_kind in ("line", "row"):
            row[dataset.row_kind] = int(dataset.rows[index])
        if dataset.shards is not None:
            row["shard"] = dataset.shard_files[int(dataset.shards[index])]
        if dataset.ids is not None:  # an image folder's ids are its files' paths
            row["file" if dataset.row_kind == "file" else "id"] = dataset.ids[index].item()
        if dataset.columns:
            row["values"] = _values(dataset, index)
        out.append(row)
    return out


def _values(dataset: Dataset, index: int) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for position, column in enumerate(dataset.columns[:MAX_VALUES]):
        # The shortest text that reads back as the stored value: 12.9 stored as float32 is shown as
        # 12.9, not as its float64 widening 12.899999618530273.
        value = float(str(dataset.features[index, position]))
        categories = dataset.categories.get(column)
        values[column] = categories[int(value)] if categories is not None else value
    return values


def with_flagged_rows(evidence: dict[str, Any], datasets: Sequence[Dataset]) -> dict[str, Any]:
    """``evidence`` with ``flagged_rows`` describing its first flagged samples, when it flags samples
    of one of ``datasets`` that locates its rows (``flagged_artifact`` names which one, else the
    first); unchanged otherwise, or when the indices are not samples of it."""
    indices = evidence.get("flagged_indices")
    if not isinstance(indices, list) or "flagged_rows" in evidence or not datasets:
        return evidence
    named = evidence.get("flagged_artifact")
    dataset = next((d for d in datasets if named in (None, d.name)), None)
    if dataset is None or not locates_rows(dataset):
        return evidence
    shown = indices[:MAX_DESCRIBED_ROWS]
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in shown):
        return evidence
    try:
        described = describe_rows(dataset, shown)
    except IndexError:  # the detector's indices are not this dataset's: nothing to locate
        return evidence
    return {**evidence, "flagged_rows": described}
