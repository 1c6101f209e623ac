"""A small real assessment on disk, signed: a pinned dataset, a folder of files, a policy.

The assessment runs the real engine (``artifact-integrity`` only, so it takes a fraction of a
second) and writes real reports; the key pair is a real Ed25519 pair.
"""

from __future__ import annotations

import io
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from riskframe.engine.assess import assess
from riskframe.io.digests import sha256_path
from riskframe.reports import render
from riskframe.signing import generate_key, sign_assessment, write_key_pair


@dataclass(frozen=True)
class Signed:
    root: Path
    out: Path
    private: Path
    public: Path
    envelope: Path


def write_npz(path: Path, **arrays: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buffer.getvalue())


def write_project(root: Path) -> tuple[Path, Path]:
    """A pipeline with a pinned dataset and a pinned folder, and a policy checking the pins."""
    rng = np.random.default_rng(0)
    write_npz(root / "data/train.npz", X=rng.normal(size=(40, 4)), y=np.repeat(np.arange(4), 10))
    (root / "docs/cards").mkdir(parents=True)
    (root / "docs/README.txt").write_text("vendor notes\n")
    (root / "docs/cards/model-card.md").write_text("# card\n")
    train, docs = sha256_path(root / "data/train.npz"), sha256_path(root / "docs")
    pipeline = root / "pipeline.yaml"
    pipeline.write_text(textwrap.dedent(f"""\
        apiVersion: riskframe/v1
        kind: Pipeline
        metadata: {{name: signed-demo}}
        stages:
          - name: ingest
            kind: data-understanding
            trust: untrusted
            artifacts:
              - {{name: train, type: dataset, path: data/train.npz, features: X, labels: y, sha256: "{train}"}}
              - {{name: docs, type: files, path: docs, sha256: "{docs}"}}
        """))
    policy = root / "policy.yaml"
    policy.write_text(textwrap.dedent("""\
        apiVersion: riskframe/v1
        kind: Policy
        metadata: {name: pins}
        requirements:
          - id: PIN-1
            title: Inputs match their pins
            severity: high
            controls:
              - control: artifact-integrity
        """))
    return pipeline, policy


def make_signed(root: Path, formats: tuple[str, ...] = ("json", "md")) -> Signed:
    pipeline, policy = write_project(root)
    assessment = assess(pipeline, [policy])
    out = root / "reports"
    written = render(assessment, out, list(formats))
    private, public = write_key_pair(generate_key(), root / "keys/signer")
    from riskframe.signing import load_private_key

    envelope = sign_assessment(assessment, out, written, load_private_key(private))
    return Signed(root, out, private, public, envelope)


@pytest.fixture
def signed(tmp_path: Path) -> Signed:
    """A signed assessment in ``tmp_path`` (inputs named by absolute path: tmp is outside the cwd)."""
    return make_signed(tmp_path)


@pytest.fixture
def make_signed_project():
    """Factory: ``(root) -> Signed``, a signed assessment written under ``root``."""
    return make_signed
