"""The quarantine manifest: every removed sample, who flagged it, with what score and why.

Written twice, for people and for tools: ``quarantine.csv`` (one row per sample and result:
``artifact,index,detector,control,result,score,reason``) and ``quarantine.json`` (the same rows,
plus what was read, what was written and the selection that was trusted). Neither holds a
timestamp: the same assessment and options give the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from riskframe.remediation.datasets import Filtered
from riskframe.remediation.flags import Flag, Selection

CSV_NAME = "quarantine.csv"
JSON_NAME = "quarantine.json"
COLUMNS = ("artifact", "index", "detector", "control", "result", "score", "reason")


def manifest_rows(flags: Sequence[Flag]) -> list[dict[str, Any]]:
    """One row per (sample, result), in the order of ``flags``."""
    return [{"artifact": f.artifact, "index": f.index, "detector": f.detector, "control": f.control,
             "result": f.result, "score": None if f.score is None else round(f.score, 6), "reason": f.reason}
            for f in flags]


def write_manifest(out: Path, flags: Sequence[Flag], filtered: Sequence[Filtered], *, assessment: str,
                   assessment_sha256: str, selection: Selection, pipeline: str | None,
                   below_min_score: int) -> list[Path]:
    """Write ``quarantine.csv`` and ``quarantine.json`` into ``out``; returns their paths."""
    rows = manifest_rows(flags)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({**row, "score": "" if row["score"] is None else row["score"]} for row in rows)
    csv_path, json_path = out / CSV_NAME, out / JSON_NAME
    csv_path.write_text(buffer.getvalue(), encoding="utf-8")
    document = {
        "assessment": {"path": assessment, "sha256": assessment_sha256},
        "selection": {**selection.as_dict(), "flags_below_min_score": below_min_score},
        "datasets": [_dataset_entry(f, out) for f in filtered],
        "pipeline": pipeline,
        "quarantined": rows,
    }
    json_path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [csv_path, json_path]


def _dataset_entry(filtered: Filtered, out: Path) -> dict[str, Any]:
    source = filtered.source
    return {
        "artifact": source.artifact.name,
        "source": source.path.as_posix(),
        "source_sha256": source.sha256,
        "output": filtered.output.relative_to(out).as_posix(),
        "output_sha256": filtered.sha256,
        "rows": filtered.rows,
        "removed": int(filtered.removed.size),
        "kept": filtered.kept,
    }
