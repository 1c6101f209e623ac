"""Issue 2's bad inputs, end to end through ``riskframe assess``: each a located message, exit 2,
no traceback, and nothing run."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import numpy as np
import pytest

from riskframe.cli import main

ROOT = Path(__file__).resolve().parents[1]
POLICY = str(ROOT / "policies/data-poisoning.yaml")

PIPELINE = """\
apiVersion: riskframe/v1
kind: Pipeline
metadata: {{name: bad-input}}
stages:
  - name: ingest
    kind: data-understanding
    artifacts:
      - {{name: raw, type: dataset, path: {path}, features: X, labels: y}}
"""


class Canary:
    """Unpickling this creates the file: proof that a dataset was (not) unpickled."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def assess(tmp_path: Path, capsys, data_file: str = "raw.npz") -> tuple[int, str]:
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(PIPELINE.format(path=data_file))
    code = main(["assess", str(pipeline), "--policy", POLICY, "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists(), "nothing is written when the input is invalid"
    return code, err.strip()


def located(tmp_path: Path, field: str = "path") -> str:
    column = {"path": 36, "features": 51, "labels": 64}[field]
    return f"{tmp_path / 'pipeline.yaml'}:8:{column}: stages[0].artifacts[0].{field}: "


def save(tmp_path: Path, **arrays) -> None:
    np.savez(tmp_path / "raw.npz", **arrays)


GOOD_X = np.arange(40, dtype=float).reshape(20, 2)
GOOD_Y = np.repeat([0, 1], 10)


@pytest.mark.parametrize(("arrays", "field", "message"), [
    ({"X": np.where(np.eye(20, 2) > 0, np.nan, GOOD_X), "y": GOOD_Y}, "features",
     "raw.npz: features contain 2 NaN or infinite values (in 2 rows, the first is row 0)"),
    ({"X": np.full((20, 2), np.inf), "y": GOOD_Y}, "features",
     "raw.npz: features contain 40 NaN or infinite values (in 20 rows, the first is row 0)"),
    ({"X": GOOD_X, "y": GOOD_Y[:15]}, "labels", "raw.npz: features have 20 rows but labels have 15"),
    ({"X": GOOD_X, "y": np.zeros(20, int)}, "labels",
     "raw.npz: labels hold a single class; at least two are needed"),
    ({"X": np.zeros((0, 2)), "y": np.zeros(0, int)}, "features", "raw.npz: the dataset is empty"),
    ({"X": GOOD_X, "y": GOOD_Y + 0.5}, "labels", "raw.npz: labels must be integer class ids"),
    ({"X": GOOD_X, "y": np.array(["cat", "dog"] * 10)}, "labels", "raw.npz: labels must be integer class ids"),
    ({"features": GOOD_X, "y": GOOD_Y}, "features", "raw.npz has no array named 'X'; it holds: features, y"),
])
def test_unusable_datasets_are_located_errors(tmp_path, capsys, arrays, field, message):
    save(tmp_path, **arrays)
    code, err = assess(tmp_path, capsys)
    assert code == 2
    assert err.startswith(located(tmp_path, field) + message), err


def test_a_missing_artifact_file(tmp_path, capsys):
    code, err = assess(tmp_path, capsys)
    assert code == 2
    assert err == located(tmp_path) + f"file not found: {tmp_path / 'raw.npz'}"


@pytest.mark.parametrize("name", ["raw.npz", "raw.pkl"])
def test_a_pickle_declared_as_a_dataset_is_refused_not_loaded(tmp_path, capsys, name):
    canary = tmp_path / "canary"
    (tmp_path / name).write_bytes(pickle.dumps({"X": Canary(canary), "y": [0, 1]}))
    pipeline_text = PIPELINE.format(path=name)
    if name.endswith(".pkl"):
        pipeline_text = pipeline_text.replace("features: X", "format: npz, features: X")
    (tmp_path / "pipeline.yaml").write_text(pipeline_text)
    code = main(["assess", str(tmp_path / "pipeline.yaml"), "--policy", POLICY, "-q",
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "is a pickle stream, not npz; riskframe never unpickles dataset files" in err
    assert not canary.exists()


def test_an_unknown_detector_in_a_control_suggests_the_nearest(tmp_path, capsys):
    controls = tmp_path / "controls"
    controls.mkdir()
    (controls / "mine.yaml").write_text(textwrap.dedent("""\
        apiVersion: riskframe/v1
        kind: Control
        id: my-check
        title: Ensure labels are clean
        detector: label-isues
        """))
    code = main(["validate", str(controls / "mine.yaml")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith(f"{controls / 'mine.yaml'}:5:1: detector: unknown detector 'label-isues' "
                          "(did you mean 'label-issues'?); registered: ")
