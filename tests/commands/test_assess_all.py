"""``riskframe assess-all``: one folder of reports per pipeline and the portfolio summary; exit 1
when any gate fails, 2 on bad input with nothing written."""

from __future__ import annotations

import json
import shutil

from riskframe.cli import main
from tests.commands.test_assess import small_workspace


def portfolio_of(tmp_path):
    """Two teams: one whose pinned file matches its digest, one whose file changed since."""
    root = tmp_path / "systems"
    root.mkdir()
    small_workspace(root / "team-a")
    shutil.copytree(root / "team-a", root / "team-b")
    (root / "team-b" / "notes.txt").write_text("changed\n")
    return root


def test_each_pipeline_gets_its_reports_and_the_portfolio_says_who_fails(tmp_path, capsys):
    root = portfolio_of(tmp_path)
    out = tmp_path / "out"

    code = main(["assess-all", str(root), "--policy", str(root / "team-a" / "policy.yaml"), "--out", str(out),
                 "--format", "json", "-q", "--executor", "local"])

    assert code == 1
    assert capsys.readouterr().out.splitlines() == [
        "Portfolio: FAIL (1 of 2 systems fail their gate; 2 detector runs planned, 2 computed)",
        "  - team-b/pipeline (small): FAIL, risk 67.5/100 (high)",
        f"Reports: {out.as_posix()}/portfolio.json, {out.as_posix()}/portfolio.md, and one folder per pipeline",
    ]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "portfolio.json", "portfolio.md", "team-a/pipeline/assessment.json", "team-b/pipeline/assessment.json"]
    summary = json.loads((out / "portfolio.json").read_text())
    assert [(s["report"], s["decision"]) for s in summary["systems"]] == [("team-a/pipeline", "pass"),
                                                                         ("team-b/pipeline", "fail")]
    failing = [t for t in summary["techniques"] if t["failing"]]
    assert failing and all(t["failing"] == ["team-b/pipeline"] for t in failing)


def test_a_bad_pipeline_is_located_and_nothing_runs_or_is_written(tmp_path, capsys):
    root = portfolio_of(tmp_path)
    pipeline = root / "team-b" / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text().replace("kind: data-understanding", "kind: data-understandin"))
    out = tmp_path / "out"

    code = main(["assess-all", str(root), "--policy", str(root / "team-a" / "policy.yaml"), "--out", str(out)])

    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{pipeline}:6:")
    assert "stages[0].kind" in err and "Traceback" not in err
    assert not out.exists()


def test_a_manifest_entry_that_names_no_file_is_exit_2(tmp_path, capsys):
    root = portfolio_of(tmp_path)
    manifest = root / "systems.txt"
    manifest.write_text("team-a/pipeline.yaml\nteam-c/pipeline.yaml\n")

    code = main(["assess-all", str(manifest), "--policy", str(root / "team-a" / "policy.yaml"),
                 "--out", str(tmp_path / "out")])

    assert code == 2
    assert capsys.readouterr().err == f"{manifest}:2:1: pipeline: no such file: team-c/pipeline.yaml\n"


def test_report_folders_follow_the_files_paths_and_never_collide(tmp_path):
    from riskframe.commands.assess_all import report_folders

    base = tmp_path / "systems"
    paths = [base / "a/pipeline.yaml", base / "a/p.yaml", base / "a/p.yml", tmp_path / "other/x.yaml"]
    assert report_folders(paths, base) == ["a/pipeline", "a/p.yaml", "a/p.yml", "up/other/x"]
