"""Report-format benchmark: time, size and peak memory of every format, small to large assessments.

Assessments: the real assessment of ``tests/reports/fixtures/tiny-pipeline`` (2 results), then
the same pipeline scaled up, synthetic but built from its real results: ``S`` stages of 10
results each (40% failing, 10% erroring, a few waived), every result with its locations, ATLAS
ids and evidence. For every format, in one process: wall time of ``RENDERER.render`` (median of
``--repeat`` runs), output size, and the peak of Python allocations (``tracemalloc``) during one
render. The "raw" rows serialise the same information with the bare library and no mapping:
``json.dumps`` of ``assessment.model_dump()`` for the JSON-based formats, ``ElementTree.tostring``
of a flat ``<testcase>`` per result for JUnit; the ratio is riskframe's time over the raw one.

Run: ``.venv/bin/python benchmarks/report_formats.py`` (about a minute on 2 cores);
``--sizes 10,100 --repeat 3`` for other sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
import tracemalloc
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from riskframe import assess
from riskframe.assessment import Assessment, ControlResult, StageInfo, StageRisk
from riskframe.reports import FORMATS, RenderContext

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "reports" / "fixtures" / "tiny-pipeline"
PER_STAGE = 10


def tiny_assessment() -> Assessment:
    with tempfile.TemporaryDirectory() as folder:
        shutil.copytree(TINY, folder, dirs_exist_ok=True)
        previous = os.getcwd()
        os.chdir(folder)
        try:
            return assess("pipeline.yaml", ["policy.yaml"])
        finally:
            os.chdir(previous)


def scaled(base: Assessment, stages: int) -> Assessment:
    """``stages`` stages of ``PER_STAGE`` results, cloned from the real ones with new ids and statuses."""
    template_stage = base.pipeline.stages[1]
    passing, failing = base.results
    statuses = ["fail"] * 4 + ["error"] + ["pass"] * 4 + ["waived"]
    infos, risks, results = [], [], []
    for s in range(stages):
        name = f"stage-{s:04d}"
        infos.append(template_stage.model_copy(update={"name": name, "needs": [f"stage-{s - 1:04d}"] if s else []}))
        ids = []
        for i, status in enumerate(statuses[:PER_STAGE]):
            source = failing if status != "pass" else passing
            waiver = {
                "justification": "accepted for the benchmark",
                "approved_by": "ciso@example.org",
                "expires": "2030-01-01",
            }
            result = ControlResult.model_validate(
                {
                    **source.model_dump(),
                    "id": f"R-{i}/{name}/{source.control}",
                    "requirement": f"R-{i}",
                    "stage": name,
                    "status": status,
                    "waiver": waiver if status == "waived" else None,
                }
            )
            results.append(result)
            ids.append(result.id)
        risk = base.stages[1]
        risks.append(StageRisk(**{**risk.model_dump(), "name": name, "results": ids}))
    pipeline = base.pipeline.model_copy(update={"stages": [StageInfo(**i.model_dump()) for i in infos]})
    return base.model_copy(update={"pipeline": pipeline, "stages": risks, "results": results})


def timed(render: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, output = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        output = render()
        times.append(time.perf_counter() - start)
    return statistics.median(times), output


def peak_mib(render: Callable[[], object]) -> float:
    tracemalloc.start()
    render()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def raw_json(assessment: Assessment) -> bytes:
    return json.dumps(assessment.model_dump(mode="json")).encode()


def raw_junit(assessment: Assessment) -> bytes:
    root = ET.Element("testsuite")
    for result in assessment.results:
        case = ET.SubElement(root, "testcase", name=result.id, classname=result.stage)
        if result.status == "fail":
            ET.SubElement(case, "failure", message=result.summary).text = result.summary
    return ET.tostring(root, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,100", help="stage counts of the scaled assessments")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    base = tiny_assessment()
    cases = [("real tiny (2 results)", base)]
    cases += [(f"{n} stages ({n * PER_STAGE} results)", scaled(base, n)) for n in map(int, args.sizes.split(","))]
    formats = [name for name in ("json", "sarif", "junit", "navigator", "md", "html") if name in FORMATS]
    header = ("assessment", "format", "time ms", "raw ms", "ratio", "size KiB", "peak MiB")
    print("{:<28} {:<10} {:>9} {:>8} {:>6} {:>9} {:>9}".format(*header))
    for label, assessment in cases:
        context = RenderContext(Path("."), tuple(f for n in formats for f in FORMATS[n].files))
        raw_json_s, _ = timed(lambda a=assessment: raw_json(a), args.repeat)
        raw_junit_s, _ = timed(lambda a=assessment: raw_junit(a), args.repeat)
        for name in formats:
            render = FORMATS[name].render
            seconds, output = timed(lambda r=render, a=assessment, c=context: r(a, c), args.repeat)
            size = sum(len(b) for b in output.values()) / 1024  # type: ignore[union-attr]
            raw = raw_junit_s if name == "junit" else raw_json_s if name in ("json", "sarif", "navigator") else None
            raw_text = f"{raw * 1e3:8.1f} {seconds / raw:6.1f}" if raw else f"{'-':>8} {'-':>6}"
            peak = peak_mib(lambda r=render, a=assessment, c=context: r(a, c))
            print(f"{label:<28} {name:<10} {seconds * 1e3:9.1f} {raw_text} {size:9.1f} {peak:9.1f}")


if __name__ == "__main__":
    main()
