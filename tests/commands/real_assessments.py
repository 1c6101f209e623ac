"""Real assessments for the diff and history tests, made by the engine with the small real
detectors of ``tests/engine/conftest.py`` (class balance on npz files in tmp_path).

Loaded by path by the ``real`` fixture of ``conftest.py``; not a test module.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path

import numpy as np

from riskframe.engine.assess import assess
from riskframe.reports import render

ROOT = Path(__file__).resolve().parents[2]


def _engine_fixtures():
    spec = importlib.util.spec_from_file_location("engine_fixtures", ROOT / "tests/engine/conftest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


ENGINE = _engine_fixtures()

WAIVER = """\
waivers:
  - requirement: R1
    justification: The vendor rebalances the classes in the next delivery
    approved_by: jane.doe@example.org
    approved_on: 2030-01-01
    expires: 2030-06-30
"""


def registry():
    reg = ENGINE.Registry()
    reg.register(ENGINE.ClassBalance)
    return reg


def workspace(root: Path, *, skewed: bool, waived: bool = False) -> Path:
    """A pipeline whose training data is balanced (R1 passes) or skewed (R1 fails); the pipeline file."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    labels = (np.concatenate([np.zeros(40, int), np.ones(5, int), np.full(5, 2)]) if skewed
              else np.repeat(np.arange(3), 20))
    np.savez(root / "raw.npz", X=rng.normal(size=(60, 4)), y=np.repeat(np.arange(3), 20))
    np.savez(root / "train.npz", X=rng.normal(size=(labels.size, 4)), y=labels)
    (root / "pipeline.yaml").write_text(ENGINE.PIPELINE)
    controls = root / "controls"
    controls.mkdir(exist_ok=True)
    (controls / "balance.yaml").write_text(ENGINE.CONTROL.format(
        id="balance", detector="class-balance", with_="{min_ratio: 0.5}", timeout=60))
    policy = ENGINE.POLICY.format(requirements=ENGINE.REQUIREMENT.format(id="R1", control="balance", severity="high"))
    (root / "policy.yaml").write_text(policy + (WAIVER if waived else ""))
    return root / "pipeline.yaml"


def assessment_file(out: Path, pipeline: Path, today: date | None = None) -> Path:
    """Assess ``pipeline`` (with the policy and controls beside it) and write ``out/assessment.json``."""
    folder = pipeline.parent
    # In this process: the detector class is loaded by path, under a name worker processes cannot import.
    result = assess(pipeline, [folder / "policy.yaml"], controls_dirs=[folder / "controls"], registry=registry(),
                    today=today, executor="local")
    render(result, out, ["json"])
    return out / "assessment.json"
