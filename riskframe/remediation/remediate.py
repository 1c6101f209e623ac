"""``remediate``: from an assessment to filtered datasets, a quarantine manifest and a pipeline copy.

assessment.json -> flags of the trusted results -> each flagged dataset checked against its
recorded sha256 and written without the flagged rows (with the representations row-aligned with
it) -> quarantine.csv/json -> pipeline.yaml.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskframe.errors import InputError
from riskframe.io.digests import sha256_file
from riskframe.remediation.datasets import Filtered, filter_dataset, filter_representations, locate
from riskframe.remediation.flags import Collected, Selection, collect_flags
from riskframe.remediation.manifest import write_manifest
from riskframe.remediation.pipeline_copy import write_pipeline_copy


@dataclass(frozen=True)
class Remediation:
    """What :func:`remediate` did."""

    collected: Collected
    filtered: list[Filtered]
    written: list[Path]
    pipeline: Path | None


def remediate(assessment_path: str | Path, out: str | Path, selection: Selection | None = None, *,
              pipeline_path: str | Path | None = None) -> Remediation:
    """Write the flagged datasets without their flagged samples, the manifest and a pipeline copy.

    Parameters
    ----------
    assessment_path
        An ``assessment.json`` written by ``riskframe assess``.
    out
        The folder to write into (created if needed).
    selection
        Which results to trust (default: every failing or warning sample-level result).
    pipeline_path
        Where the assessed pipeline file is now; default the path the assessment recorded
        (relative to the folder ``riskframe assess`` ran in).

    Raises
    ------
    riskframe.errors.InputError
        Not an assessment; the pipeline or a dataset is missing, or a dataset changed since.

    Examples
    --------
    >>> done = remediate("reports/backdoored-digits/assessment.json", "remediated")  # doctest: +SKIP
    >>> [f.output.name for f in done.filtered], done.pipeline  # doctest: +SKIP
    (['train.npz'], PosixPath('remediated/pipeline.yaml'))
    """
    from riskframe.reports.json_report import load_assessment
    from riskframe.spec.load import load_pipeline

    selection = selection or Selection()
    assessment = load_assessment(assessment_path)
    collected = collect_flags(assessment, selection)
    where = Path(pipeline_path) if pipeline_path else Path(assessment.pipeline.path)
    if not where.is_file():
        raise InputError(f"pipeline file not found: {where} (recorded in {assessment_path}); run remediate from the "
                         "folder riskframe assess ran in, or give its location with --pipeline")
    pipeline = load_pipeline(where)
    by_artifact: dict[str, list[int]] = defaultdict(list)
    for flag in collected.flags:
        by_artifact[flag.artifact].append(flag.index)
    sources = {name: locate(assessment, pipeline, name) for name in sorted(by_artifact)}  # all checked first
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    aligned = {name: [locate(assessment, pipeline, a.name, "representations") for _, a in pipeline.artifacts()
                      if a.type == "representations" and a.of == name] for name in sources}
    # Named after the artifact: names are unique in a pipeline, file names need not be.
    filtered = []
    for name, source in sources.items():
        done = filter_dataset(source, np.array(by_artifact[name]), out / f"{name}.npz")
        filtered.append(done)
        filtered += [filter_representations(reps, done.removed, done.rows,
                                            out / f"{reps.artifact.name}.{reps.artifact.resolved_format}")
                     for reps in aligned[name]]
    copy = write_pipeline_copy(where, out, filtered, Path(assessment_path).as_posix())
    written = [f.output for f in filtered]
    written += write_manifest(out, collected.flags, filtered, assessment=Path(assessment_path).as_posix(),
                              assessment_sha256=sha256_file(Path(assessment_path)), selection=selection,
                              pipeline=copy.name, below_min_score=collected.below_min_score)
    return Remediation(collected, filtered, [*written, copy], copy)
