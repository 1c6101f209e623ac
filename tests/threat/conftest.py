"""Pipelines and policies written to tmp_path for the threat-model tests (bundled controls, real
catalog and registry; no data file exists: a threat model never reads one)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples/poisoned-digits/pipeline.yaml"
BASELINE = ROOT / "policies/data-poisoning.yaml"

# An untrusted vendor feeds a preparation stage; a second, trusted source joins at training;
# one deployment. No artifact path exists on disk.
PIPELINE = """\
apiVersion: riskframe/v1
kind: Pipeline
metadata: {name: two-sources, criticality: high}
stages:
  - name: vendor
    kind: data-understanding
    trust: untrusted
    artifacts:
      - {name: raw, type: dataset, path: nowhere/raw.npz}
  - name: internal
    kind: data-understanding
    artifacts:
      - {name: own, type: dataset, path: nowhere/own.npz}
  - name: prepare
    kind: data-preparation
    needs: [vendor]
    artifacts:
      - {name: train, type: dataset, path: nowhere/train.npz}
  - name: train
    kind: model-engineering
    needs: [prepare, internal]
    artifacts:
      - {name: model, type: model, path: nowhere/model.pkl}
  - name: deploy
    kind: deployment
    needs: [train]
"""

POLICY = """\
apiVersion: riskframe/v1
kind: Policy
metadata: {{name: tm-policy}}
requirements:
{requirements}
"""

REQUIREMENT = """\
  - id: {id}
    title: Requirement {id}
    severity: {severity}
    threats: [{threats}]
    controls:
{controls}
"""


def write_policy(path: Path, *requirements: tuple[str, str, str, tuple[str, ...]]) -> Path:
    """Requirements as (id, severity, comma-separated threats, control ids)."""
    body = "".join(REQUIREMENT.format(id=i, severity=s, threats=t,
                                      controls="".join(f"      - control: {c}\n" for c in controls))
                   for i, s, t, controls in requirements)
    path.write_text(POLICY.format(requirements=body))
    return path


@pytest.fixture
def policy_writer(tmp_path: Path):
    """``policy_writer(name, *requirements)``: a policy file in tmp_path (see :func:`write_policy`)."""
    return lambda name, *requirements: write_policy(tmp_path / name, *requirements)


@pytest.fixture
def pipeline_file(tmp_path: Path) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(textwrap.dedent(PIPELINE))
    return path
