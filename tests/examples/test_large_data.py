"""The large-data example: make_data.py's Parquet table and PNG folder (made small here) are
assessed from the pipeline file as it is, and the poisoned rows and files are found."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from riskframe.engine.assess import assess

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "large-data"


@pytest.mark.slow
def test_the_relabelled_rows_and_misfiled_scans_are_found(tmp_path):
    subprocess.run([sys.executable, str(EXAMPLE / "make_data.py"), "--rows", "10000", "--images", "2000", "--out",
                    str(tmp_path / "data")], check=True, capture_output=True)
    shutil.copy(EXAMPLE / "pipeline.yaml", tmp_path)
    truth = json.loads((tmp_path / "data" / "ground_truth.json").read_text())

    assessment = assess(tmp_path / "pipeline.yaml", [ROOT / "policies/data-poisoning.yaml"], executor="local")

    screens = {r.artifact: r for r in assessment.results if r.control == "label-flip-screen"}
    assert assessment.gate.decision == "fail"
    assert screens["transactions"].status == screens["scans"].status == "fail"
    assert "of class C relabelled as B" in screens["transactions"].summary
    assert "of class 7 relabelled as 1" in screens["scans"].summary
    for name, key, where in (("transactions", "transactions.parquet: grade C relabelled B (txn_id)", "id"),
                             ("scans", "scans: 7s filed under 1/ (path)", "file")):
        flagged = {r[where] for r in screens[name].evidence["flagged_rows"]}
        planted = set(truth[key])
        assert len(flagged & planted) >= 0.8 * min(len(planted), len(flagged)) > 0
