"""OSCAL and MLflow overhead: import cost, OSCAL render time, MLflow logging time, against the raw libraries.

Three tables, in one process (imports in fresh subprocesses):

1. **imports**: wall time of ``riskframe --help`` (build the parser and format the help) and of
   importing the reports package, trestle's assessment-results models and MLflow's client, each in
   a fresh interpreter (median of ``--repeat``); and which heavy packages ``--help`` loaded (none).
2. **oscal**: the ``oscal`` format on the real tiny-pipeline assessment and on assessments scaled
   from it (``benchmarks/report_formats.py``'s ``scaled``): riskframe's render (build the trestle
   models, validate, serialise) against the raw library alone: trestle serialising the already-built
   model (``oscal_serialize_json_bytes``), and ``json.dumps`` of the assessment. Ratio = riskframe / raw.
3. **mlflow**: logging one run to a fresh local sqlite store (the first call migrates MLflow's
   schema: shown apart), then per run: :func:`riskframe.tracking.mlflow_log.log_assessment` against a bare
   ``MlflowClient`` doing the same calls (create run, one ``log_batch`` with the same params,
   metrics and tags, one artifact, terminate). Ratio = riskframe / raw.

Run: ``.venv/bin/python benchmarks/oscal_mlflow.py`` (about two minutes on 2 shared cores);
``--sizes 10,100 --repeat 3`` for other sizes. Needs the ``oscal`` and ``mlflow`` extras.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from riskframe.assessment import Assessment

HERE = Path(__file__).resolve().parent
HEAVY = ("sklearn", "cleanlab", "matplotlib", "torch", "art", "mlflow", "trestle", "jinja2")


def _load_sibling(name: str):  # type: ignore[no-untyped-def]  # a benchmark helper module, loaded by path
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def import_table(repeat: int) -> None:
    snippets = {
        "riskframe --help": "from riskframe.cli import build_parser; build_parser().format_help()",
        "import riskframe.reports": "import riskframe.reports",
        "import trestle (AR models)": "import trestle.oscal.assessment_results",
        "import mlflow.tracking": "from mlflow.tracking import MlflowClient",
    }
    print("imports (fresh interpreter each)")
    print(f"{'what':<28} {'wall ms':>9}")
    for label, code in snippets.items():
        seconds = median_seconds(lambda c=code: subprocess.run([sys.executable, "-c", c], check=True), repeat)
        print(f"{label:<28} {seconds * 1e3:9.0f}")
    probe = (
        "import sys; from riskframe.cli import build_parser; build_parser().format_help(); "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout.strip()
    print(f"heavy packages loaded by --help: {loaded}\n")


def oscal_table(cases: list[tuple[str, Assessment]], repeat: int) -> None:
    from riskframe.reports.oscal import assessment_results, render_bytes

    print("oscal")
    header = ("assessment", "riskframe ms", "trestle ms", "ratio", "json ms", "ratio", "size KiB")
    print("{:<28} {:>12} {:>10} {:>6} {:>8} {:>6} {:>9}".format(*header))
    for label, assessment in cases:
        ours = median_seconds(lambda a=assessment: render_bytes(a, ["assessment.json"]), repeat)
        model = assessment_results(assessment, ["assessment.json"])
        trestle = median_seconds(lambda m=model: m.oscal_serialize_json_bytes(pretty=True), repeat)
        raw_json = median_seconds(lambda a=assessment: json.dumps(a.model_dump(mode="json")), repeat)
        size = len(render_bytes(assessment)) / 1024
        print(
            f"{label:<28} {ours * 1e3:12.1f} {trestle * 1e3:10.1f} {ours / trestle:6.1f} "
            f"{raw_json * 1e3:8.1f} {ours / raw_json:6.1f} {size:9.1f}"
        )
    print()


def mlflow_table(cases: list[tuple[str, Assessment]], repeat: int) -> None:
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    from riskframe.tracking.mlflow_log import log_assessment, run_contents

    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "assessment.json"
        uri = f"sqlite:///{folder}/mlflow.db"
        start = time.perf_counter()
        log_assessment(cases[0][1], [], uri)
        first = time.perf_counter() - start
        client = MlflowClient(uri)
        raw_experiment = client.create_experiment("raw", artifact_location=(Path(folder) / "raw").as_uri())
        print(f"mlflow (sqlite store; the first run, which creates the schema, took {first * 1e3:.0f} ms)")
        header = ("assessment", "metrics", "riskframe ms", "raw ms", "ratio")
        print("{:<28} {:>8} {:>12} {:>8} {:>6}".format(*header))
        for label, assessment in cases:
            report.write_text(assessment.model_dump_json(), encoding="utf-8")
            contents = run_contents(assessment)

            def raw(a: Assessment = assessment, c=contents) -> None:
                run = client.create_run(raw_experiment)
                client.log_batch(
                    run.info.run_id,
                    metrics=[Metric(k, v, 0, 0) for k, v in c.metrics.items()],
                    params=[Param(k, v) for k, v in c.params.items()],
                    tags=[RunTag(k, v) for k, v in c.tags.items()],
                )
                client.log_artifact(run.info.run_id, str(report), artifact_path="riskframe")
                client.set_terminated(run.info.run_id, "FINISHED")

            ours = median_seconds(lambda a=assessment: log_assessment(a, [report], uri), repeat)
            bare = median_seconds(raw, repeat)
            print(f"{label:<28} {len(contents.metrics):8d} {ours * 1e3:12.1f} {bare * 1e3:8.1f} {ours / bare:6.2f}")


def consistent(assessment: Assessment) -> Assessment:
    """``scaled`` copies results but not the ATLAS and NIST entries that point at them: repoint them."""
    atlas = [
        t.model_copy(update={"results": [r.id for r in assessment.results if t.id in r.atlas]})
        for t in assessment.atlas
    ]
    nist = [
        n.model_copy(update={"results": [r.id for r in assessment.results if n.id in r.nist]}) for n in assessment.nist
    ]
    return assessment.model_copy(update={"atlas": atlas, "nist": nist})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,100", help="stage counts of the scaled assessments (10 results each)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    formats = _load_sibling("report_formats")
    base = formats.tiny_assessment()
    cases = [("real tiny (2 results)", base)]
    cases += [
        (f"{n} stages ({n * formats.PER_STAGE} results)", consistent(formats.scaled(base, n)))
        for n in map(int, args.sizes.split(","))
    ]
    import_table(args.repeat)
    oscal_table(cases, args.repeat)
    mlflow_table(cases, args.repeat)


if __name__ == "__main__":
    main()
