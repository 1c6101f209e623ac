"""A small real workspace for engine tests: data on disk, controls, a policy, a pipeline, and a
registry holding small real detectors (class balance, one that crashes, one that hangs), so the
engine is tested without the heavy built-in detectors."""

from __future__ import annotations

import sys
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from pydantic import Field

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.registry import Registry
from riskframe.results import DetectorResult
from tests.engine.faulty_workspace import CLASSES, PLUGIN_MODULE, install_plugin


class ClassBalance(Detector):
    """Share of the smallest class relative to the largest: a real, cheap measurement."""

    name = "class-balance"
    title = "Measures how unequal the class sizes are"
    requires = ("dataset",)
    techniques = ("AML.T0020",)

    class Params(DetectorParams):
        min_ratio: float = Field(default=0.5, ge=0, le=1)

    def run(self, ctx, params):
        counts = np.bincount(ctx.dataset().labels)
        ratio = float(counts.min() / counts.max())
        status = "pass" if ratio >= params.min_ratio else "fail"
        return DetectorResult(status=status, score=1 - ratio, summary=f"smallest/largest class = {ratio:.2f}",
                              metrics={"ratio": ratio})


class Crashes(Detector):
    name = "crashes"
    title = "Always raises"
    requires = ("dataset",)

    class Params(DetectorParams):
        pass

    def run(self, ctx, params):
        raise RuntimeError("boom")


class Exits(Detector):
    """What user code using argparse or click does on a bad argument."""

    name = "exits"
    title = "Calls sys.exit(0)"
    requires = ("dataset",)

    class Params(DetectorParams):
        pass

    def run(self, ctx, params):
        sys.exit(0)


class Hangs(Detector):
    name = "hangs"
    title = "Waits until released"
    requires = ("files",)
    release = threading.Event()

    class Params(DetectorParams):
        pass

    def run(self, ctx, params):
        self.release.wait(30)
        return DetectorResult(status="pass", score=0, summary="released")


@pytest.fixture
def registry() -> Registry:
    reg = Registry()
    for cls in (ClassBalance, Crashes, Exits, Hangs):
        reg.register(cls)
    return reg


CONTROL = """\
apiVersion: riskframe/v1
kind: Control
id: {id}
title: Ensure {id}
detector: {detector}
with: {with_}
atlas: {{detects: [AML.T0020], mitigates: [AML.M0007]}}
nist: [MEASURE 2.7]
stage_kinds: [data-understanding, data-preparation, model-engineering]
timeout: {timeout}
"""

POLICY = """\
apiVersion: riskframe/v1
kind: Policy
metadata: {{name: test-policy}}
risk_appetite: {{fail_on: high}}
requirements:
{requirements}
"""

REQUIREMENT = """\
  - id: {id}
    title: Requirement {id}
    severity: {severity}
    threats: [AML.T0020]
    nist: [MEASURE 2.7]
    controls:
      - control: {control}
"""

PIPELINE = """\
apiVersion: riskframe/v1
kind: Pipeline
metadata: {name: tiny, criticality: high}
stages:
  - name: ingest
    kind: data-understanding
    trust: untrusted
    artifacts:
      - {name: raw, type: dataset, path: raw.npz}
  - name: prepare
    kind: data-preparation
    needs: [ingest]
    artifacts:
      - {name: train, type: dataset, path: train.npz}
  - name: train
    kind: model-engineering
    needs: [prepare]
  - name: deploy
    kind: deployment
    needs: [train]
"""


@dataclass
class Workspace:
    root: Path
    pipeline: Path
    policy: Path
    controls: Path

    def write_policy(self, *requirements: tuple[str, str, str]) -> Path:
        body = "".join(REQUIREMENT.format(id=i, control=c, severity=s) for i, c, s in requirements)
        self.policy.write_text(POLICY.format(requirements=body))
        return self.policy


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    rng = np.random.default_rng(0)
    balanced = np.repeat(np.arange(3), 20)
    skewed = np.concatenate([np.zeros(40, int), np.ones(5, int), np.full(5, 2)])
    np.savez(tmp_path / "raw.npz", X=rng.normal(size=(60, 4)), y=balanced)
    np.savez(tmp_path / "train.npz", X=rng.normal(size=(50, 4)), y=skewed)
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    controls = tmp_path / "controls"
    controls.mkdir()
    for cid, detector, with_, timeout in (("balance", "class-balance", "{min_ratio: 0.5}", 60),
                                          ("crash", "crashes", "{}", 60), ("exit", "exits", "{}", 60),
                                          ("hang", "hangs", "{}", 0.5)):
        (controls / f"{cid}.yaml").write_text(textwrap.dedent(CONTROL.format(
            id=cid, detector=detector, with_=with_, timeout=timeout)))
    ws = Workspace(tmp_path, tmp_path / "pipeline.yaml", tmp_path / "policy.yaml", controls)
    ws.write_policy(("R1", "balance", "high"))
    return ws


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """A registry holding the faulty plugin's detectors (``faulty_plugin.py``), installed in a folder
    on the path, so worker processes and Dask workers started after it import it too."""
    folder = tmp_path_factory.mktemp("site")
    install_plugin(folder)
    sys.path.insert(0, str(folder))
    registry = Registry()
    for name, cls in CLASSES.items():
        registry.register_path(f"{PLUGIN_MODULE}:{cls}", origin=f"plugin {name}")
    yield registry
    sys.path.remove(str(folder))
    sys.modules.pop(PLUGIN_MODULE, None)
