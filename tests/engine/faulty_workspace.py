"""A workspace whose policy runs the detectors of ``faulty_plugin.py`` under small limits, and that
plugin installed as a real distribution: a module and a dist-info whose ``riskframe.detectors``
entry points the command line's registry loads. Not a test module."""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskframe.detectors.registry import ENTRY_POINT_GROUP

PLUGIN_MODULE = "rf_faulty"
CLASSES = {"exits-zero": "ExitsZero", "holds-the-gil": "HoldsTheGil",
           "allocates-without-bound": "AllocatesWithoutBound", "segfaults": "Segfaults",
           "changes-its-surroundings": "ChangesItsSurroundings", "leaves-a-thread": "LeavesAThread",
           "probe": "Probe"}

PIPELINE = """\
apiVersion: riskframe/v1
kind: Pipeline
metadata: {name: faulty, criticality: high}
stages:
  - name: ingest
    kind: data-understanding
    trust: untrusted
    artifacts:
      - {name: raw, type: dataset, path: raw.npz}
"""

CONTROL = """\
apiVersion: riskframe/v1
kind: Control
id: {detector}
title: Ensure {detector} is contained
detector: {detector}
with: {with_}
atlas: {{detects: [AML.T0020], mitigates: [AML.M0007]}}
nist: [MEASURE 2.7]
stage_kinds: [data-understanding]
timeout: {timeout}
memory: {memory}
"""

REQUIREMENT = """\
  - id: R-{detector}
    title: Requirement {detector}
    severity: high
    threats: [AML.T0020]
    controls:
      - control: {detector}
"""


@dataclass(frozen=True)
class Workspace:
    root: Path
    pipeline: Path
    policy: Path
    controls: Path


def install_plugin(folder: Path) -> None:
    """``faulty_plugin.py`` as module ``rf_faulty`` in ``folder``, with a dist-info listing every
    detector as an entry point (put ``folder`` on the path to install it)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(__file__).with_name("faulty_plugin.py"), folder / f"{PLUGIN_MODULE}.py")
    dist_info = folder / f"{PLUGIN_MODULE}-1.0.dist-info"
    dist_info.mkdir(exist_ok=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {PLUGIN_MODULE}\nVersion: 1.0\n")
    lines = "".join(f"{name} = {PLUGIN_MODULE}:{cls}\n" for name, cls in CLASSES.items())
    (dist_info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")


def write_workspace(root: Path, detectors: list[str], *, timeout: float = 2, memory: str = "300MiB",
                    with_: str = "{}", timeouts: dict[str, float] | None = None) -> Workspace:
    """One stage with one small dataset; one requirement per detector, each with its own control
    (``timeouts`` overrides ``timeout`` for some)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    np.savez(root / "raw.npz", X=rng.normal(size=(30, 4)), y=np.repeat(np.arange(3), 10))
    (root / "pipeline.yaml").write_text(PIPELINE)
    controls = root / "controls"
    controls.mkdir(exist_ok=True)
    for detector in detectors:
        (controls / f"{detector}.yaml").write_text(CONTROL.format(
            detector=detector, with_=with_, timeout=(timeouts or {}).get(detector, timeout), memory=memory))
    requirements = "".join(REQUIREMENT.format(detector=d) for d in detectors)
    (root / "policy.yaml").write_text(textwrap.dedent("""\
        apiVersion: riskframe/v1
        kind: Policy
        metadata: {name: containment}
        risk_appetite: {fail_on: high}
        requirements:
        """) + requirements)
    return Workspace(root, root / "pipeline.yaml", root / "policy.yaml", controls)
