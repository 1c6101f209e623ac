"""``riskframe profile DATASET --out profile.json``: infer a dataset's schema and statistics.

The profile is what ``data-schema`` and ``drift`` check later data against: commit it beside the
pipeline and name it under the dataset's ``profile:``. DATASET is an npz, npy or csv file, declared
with the same options as a pipeline artifact (``--features``, ``--labels``, ``--format``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from riskframe.io.terminal import echo


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "profile", help="infer a dataset's schema and statistics, the reference for data-schema and drift",
        description="Read DATASET (npz, npy or csv) and write its profile: per column the type, kind, missing and "
                    "distinct counts, range, percentiles, decile counts or domain; the label distribution; the same "
                    "per class. Name the file under the dataset's `profile:` in a pipeline to check later data "
                    "against it.")
    parser.add_argument("dataset", metavar="DATASET", help="an npz, npy or csv file")
    parser.add_argument("--out", "-o", metavar="FILE", required=True, help="where the profile (JSON) goes")
    parser.add_argument("--format", choices=("npz", "npy", "csv"), help="default: from the file's suffix")
    parser.add_argument("--features", metavar="NAME",
                        help="npz: the features array (default X); csv: a comma-separated list of columns "
                             "(default: every column but the labels)")
    parser.add_argument("--labels", metavar="NAME",
                        help="npz: the labels array (default y, when present); npy: the labels file; csv: the "
                             "label column (default: none)")
    parser.add_argument("--max-categories", type=int, default=20, metavar="N",
                        help="integer columns with at most N distinct values are categorical (default 20)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from riskframe.data.tables import load_table
    from riskframe.detectors.drift.profile import dumps_profile, profile_table
    from riskframe.errors import ArtifactError, UsageError
    from riskframe.io.files import write_atomically
    from riskframe.spec.pipeline import Artifact

    if args.max_categories < 1:
        raise UsageError(f"--max-categories must be at least 1. Got {args.max_categories} instead.")
    dataset = Path(args.dataset)
    features: str | list[str] | None = args.features
    if args.features and (args.format or dataset.suffix.lower().lstrip(".")) == "csv":
        features = [name.strip() for name in args.features.split(",")]
    artifact = Artifact(name="dataset", type="dataset", path=dataset.name, format=args.format, features=features,
                        labels=args.labels)
    try:
        table = load_table(artifact, dataset.parent.resolve())
    except ArtifactError as exc:
        raise UsageError(f"{args.dataset}: {exc}") from None
    profile = profile_table(table, args.max_categories)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(out, dumps_profile(profile))
    kinds = [c.kind for c in profile.columns]
    labelled = f", {len(profile.classes)} classes" if profile.labels is not None else ", no labels"
    echo(f"Profile of {dataset.name}: {table.n_rows} rows, {len(kinds)} columns ({kinds.count('numeric')} numeric, "
         f"{kinds.count('categorical')} categorical, {kinds.count('free-text')} free text){labelled}: {out.as_posix()}")
    return 0
