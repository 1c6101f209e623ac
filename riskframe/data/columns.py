"""What ``riskframe validate`` can tell of a table dataset's columns before anything is loaded.

A misspelt ``labels:``, ``id_column:``, ``ignore_columns:`` or ``features:`` entry is a mistake in
the pipeline file: it is found from the table's header alone (a csv's first line, a Parquet footer,
the first shard of a folder) and located at the key, so that ``validate`` does not say ok to a
pipeline ``assess`` would then refuse. A file that is not there yet is left to ``assess``.
"""

from __future__ import annotations

from pathlib import Path

from riskframe.data.roots import DataRoots, file_kind
from riskframe.data.tabular import roles
from riskframe.errors import ArtifactError, Problem
from riskframe.spec.pipeline import TABLE_FORMATS, Artifact, Pipeline


def column_problems(pipeline: Pipeline) -> list[Problem]:
    """One problem per table dataset whose header lacks a column its declaration names."""
    roots, problems = DataRoots.of(pipeline), []
    for i, stage in enumerate(pipeline.stages):
        for j, artifact in enumerate(stage.artifacts):
            if artifact.type != "dataset" or artifact.resolved_format not in TABLE_FORMATS:
                continue
            try:
                header, name = _header(artifact, roots)
                if header is not None:
                    roles(header, artifact, name)
            except ArtifactError as exc:
                problems.append(pipeline.source.problem(("stages", i, "artifacts", j, exc.field), str(exc),
                                                        getattr(artifact, exc.field, None)))
    return problems


def _header(artifact: Artifact, roots: DataRoots) -> tuple[list[str] | None, str]:
    """The column names of the artifact's table (of its first shard), or None when it is not there."""
    try:
        path = roots.resolve(artifact.path)
    except ArtifactError:
        return None, ""  # path_problems reports it
    kind = file_kind(path)
    if kind == "folder" and artifact.resolved_format == "parquet":
        from riskframe.data.shards import pattern_of, shard_files

        path = shard_files(path, pattern_of(artifact), roots, "shards" if artifact.shards else "path")[0]
    elif kind != "file":
        return None, ""
    return _names(path, artifact.resolved_format), path.name


def _names(path: Path, fmt: str) -> list[str]:
    if fmt == "csv":
        from riskframe.data._csv import csv_header

        return csv_header(path)
    from riskframe.data.parquet import parquet_names

    return parquet_names(path)
