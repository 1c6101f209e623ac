"""A monitoring stage end to end through riskframe.assess: a folder of windows and a profile, the
bundled monitoring policy, and every mistake in the declaration located in the pipeline file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from riskframe.detectors.context import ArtifactStore
from riskframe.detectors.drift.profile import dumps_profile, profile_table
from riskframe.engine.assess import assess
from riskframe.errors import DocumentError
from riskframe.io.files import write_npz
from riskframe.spec.pipeline import Artifact

ROOT = Path(__file__).resolve().parents[2]


def _arrays(rng, n, class_shift=0.0):
    labels = rng.integers(0, 2, n)
    features = rng.normal(size=(n, 3)) + labels[:, None]
    features[labels == 1, 0] += class_shift
    return {"X": features, "y": labels}


def _workspace(folder: Path, windows: bool = True, profile: str = "train.json") -> Path:
    rng = np.random.default_rng(0)
    write_npz(folder / "train.npz", _arrays(rng, 20_000))
    train = Artifact(name="train", type="dataset", path="train.npz")
    (folder / "train.json").write_bytes(dumps_profile(profile_table(ArtifactStore(folder).table(train))))
    for day, shift in (("2024-05-01", 0.0), ("2024-05-02", 0.0), ("2024-05-03", 1.0)):
        write_npz(folder / "windows" / f"{day}.npz", _arrays(rng, 4000, shift))
    (folder / "pipeline.yaml").write_text(textwrap.dedent(f"""\
        apiVersion: riskframe/v1
        kind: Pipeline
        metadata: {{name: scoring}}
        stages:
          - name: serve
            kind: monitoring
            artifacts:
              - {{name: daily, type: dataset, path: windows, format: npz, windows: {str(windows).lower()},
                  profile: {profile}}}
        """))
    return folder / "pipeline.yaml"


def test_each_window_is_checked_and_the_shift_in_one_class_fails_the_gate(tmp_path):
    assessment = assess(_workspace(tmp_path), [ROOT / "policies" / "monitoring.yaml"])

    results = {r.id.split("/")[0]: r for r in assessment.results}
    assert {k: r.status for k, r in results.items()} == {"MON-1": "pass", "MON-2": "fail", "MON-3": "pass"}
    assert [w["status"] for w in results["MON-2"].evidence["windows"]] == ["pass", "pass", "fail"]
    assert results["MON-2"].metrics["first_failing_window"] == 3.0
    assert assessment.gate.decision == "fail"


def test_one_dataset_file_is_checked_in_worker_processes_from_the_staged_table(tmp_path):
    pipeline = _workspace(tmp_path)
    write_npz(tmp_path / "week.npz", _arrays(np.random.default_rng(1), 4000, class_shift=1.0))
    pipeline.write_text(pipeline.read_text().replace("path: windows, format: npz, windows: true",
                                                     "path: week.npz, format: npz, windows: false"))

    assessment = assess(pipeline, [ROOT / "policies" / "monitoring.yaml"], executor="process", jobs=2)

    results = {r.id.split("/")[0]: r for r in assessment.results}
    assert {k: r.status for k, r in results.items()} == {"MON-1": "pass", "MON-2": "fail", "MON-3": "pass"}
    assert results["MON-2"].summary.startswith("Drift in 4000 rows against the reference: 1 column(s) moved only "
                                               "in class(es) 1 (largest X[0], w ")


@pytest.mark.parametrize(("windows", "profile", "message"), [
    (True, "missing.json", r"pipeline\.yaml:9:11: stages\[0\]\.artifacts\[0\]\.profile: file not found: "
                           r".*/missing\.json$"),
    (False, "train.json", r"pipeline\.yaml:8:38: stages\[0\]\.artifacts\[0\]\.path: .*/windows is a folder; an "
                          r"artifact of format npz is a single file$"),
])
def test_a_wrong_declaration_is_located_before_anything_runs(tmp_path, windows, profile, message):
    with pytest.raises(DocumentError, match=message):
        assess(_workspace(tmp_path, windows=windows, profile=profile), [ROOT / "policies" / "monitoring.yaml"])
