"""The options that say where detector runs happen, shared by ``assess`` and ``assess-all``."""

from __future__ import annotations

import argparse
from contextlib import nullcontext
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("where detectors run")
    group.add_argument("--executor", choices=("process", "local", "dask"), default="process",
                       help="process (default) gives each run a worker process of its own, stopped at its control's "
                            "timeout and memory limit; dask runs each as a task on a dask.distributed cluster "
                            "(--dask-scheduler) or a LocalCluster on this machine, each task still in a worker process "
                            "of its own under the same limits (docs/scale.md); local runs them inside riskframe, for "
                            "debugging (no isolation, no memory limit)")
    group.add_argument("--jobs", "-j", type=positive, default=None, metavar="N",
                       help="detectors run at once (default: the number of CPU cores; 1 with --executor local; the "
                            "cluster's threads with --dask-scheduler); with --executor dask and no scheduler, the "
                            "LocalCluster's worker processes")
    group.add_argument("--dask-scheduler", metavar="ADDRESS",
                       help="with --executor dask: the address of a running scheduler (tcp://host:8786) instead of a "
                            "LocalCluster; needs --staging-dir")
    group.add_argument("--staging-dir", metavar="DIR",
                       help="with --dask-scheduler: a folder every Dask worker reads at the same path (shared "
                            "storage), where the validated arrays are written once for the workers to map")


def executor_of(args: argparse.Namespace) -> Any:
    """The executor the options name, as a context manager: ``--executor dask`` connects (or starts
    its LocalCluster) here and closes on leaving; the others are names the engine makes.

    Raises
    ------
    UsageError
        Dask options without ``--executor dask``, or a staging folder that is not a folder.
    """
    from riskframe.errors import UsageError

    if args.executor != "dask":
        for option, value in (("--dask-scheduler", args.dask_scheduler), ("--staging-dir", args.staging_dir)):
            if value:
                raise UsageError(f"{option} goes with --executor dask, not --executor {args.executor}")
        return nullcontext(args.executor)
    if args.staging_dir and not Path(args.staging_dir).is_dir():
        raise UsageError(f"--staging-dir {args.staging_dir}: is not a folder")
    from riskframe.engine.dask_executor import DaskExecutor

    staging = Path(args.staging_dir).resolve() if args.staging_dir else None
    if args.dask_scheduler:
        return DaskExecutor(args.dask_scheduler, staging_dir=staging, max_workers=args.jobs)
    return DaskExecutor(n_workers=args.jobs, staging_dir=staging)


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1. Got {value} instead.")
    return value
