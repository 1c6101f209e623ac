"""``--executor dask`` on the command line: against a running scheduler's address, with the staged
arrays in a folder the workers share; the Dask options are usage errors anywhere else."""

from __future__ import annotations

import json

import pytest

from riskframe.cli import main
from tests.commands.test_assess import small_workspace

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler():
    """A real scheduler with one worker process, on loopback, as a cluster someone else runs."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) \
            as cluster:
        yield cluster.scheduler_address


@pytest.mark.slow
def test_assess_runs_on_the_scheduler_at_an_address_staging_in_the_shared_folder(tmp_path, capsys, scheduler):
    root = small_workspace(tmp_path / "ws")
    staging = tmp_path / "shared"
    staging.mkdir()
    out = tmp_path / "out"

    code = main(["assess", str(root / "pipeline.yaml"), "--policy", str(root / "policy.yaml"), "--out", str(out),
                 "--format", "json", "-q", "--executor", "dask", "--dask-scheduler", scheduler,
                 "--staging-dir", str(staging)])

    assert code == 0, capsys.readouterr().err
    assert json.loads((out / "assessment.json").read_text())["results"][0]["status"] == "pass"
    assert list(staging.iterdir()) == []  # the run's staging folder is removed when it ends


@pytest.mark.parametrize(("args", "message"), [
    (["--dask-scheduler", "tcp://127.0.0.1:8786"],
     "--dask-scheduler goes with --executor dask, not --executor process"),
    (["--executor", "local", "--staging-dir", "."],
     "--staging-dir goes with --executor dask, not --executor local"),
    (["--executor", "dask", "--dask-scheduler", "tcp://127.0.0.1:8786"],
     "--dask-scheduler needs --staging-dir: a folder every Dask worker reads at the same path "
     "(shared storage), where riskframe writes the arrays the runs read"),
    (["--executor", "dask", "--staging-dir", "nowhere"], "--staging-dir nowhere: is not a folder"),
])
def test_dask_options_out_of_place_are_usage_errors_before_anything_runs(tmp_path, capsys, args, message):
    root = small_workspace(tmp_path / "ws")
    out = tmp_path / "out"

    code = main(["assess", str(root / "pipeline.yaml"), "--policy", str(root / "policy.yaml"), "--out", str(out),
                 *args])

    assert code == 2
    assert capsys.readouterr().err == message + "\n"
    assert not out.exists()
