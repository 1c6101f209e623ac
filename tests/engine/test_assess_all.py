"""assess-all: pipelines found under a folder or listed in a manifest; every pipeline gets the
assessment ``assess`` gives it alone, while runs that read the same files are computed once."""

from __future__ import annotations

import shutil

import pytest

from riskframe.engine.assess import assess
from riskframe.engine.assess_all import assess_all, find_pipelines
from riskframe.errors import DocumentError, UsageError
from tests.engine.test_executors import stable


def twin(workspace, name: str):
    """A second pipeline in the workspace's folder, over the same files."""
    path = workspace.root / f"{name}.yaml"
    path.write_text(workspace.pipeline.read_text().replace("name: tiny", f"name: {name}"))
    return path


def test_pipelines_are_found_by_their_kind_hidden_folders_skipped(tmp_path, workspace):
    (workspace.root / "nested").mkdir()
    nested = twin(workspace, "nested/inner")
    (workspace.root / ".git").mkdir()
    shutil.copy(workspace.pipeline, workspace.root / ".git" / "pipeline.yaml")
    (workspace.root / "ci.yml").write_text("kind: Workflow\n# kind: Pipeline\n")

    assert find_pipelines(workspace.root) == [nested, workspace.pipeline]  # policy.yaml, controls/ are not


def test_a_manifest_lists_pipelines_and_each_missing_one_is_located(tmp_path, workspace):
    manifest = tmp_path / "systems.txt"
    manifest.write_text("# the organisation's systems\npipeline.yaml\n\n  gone.yaml  # retired?\nmissing/p.yaml\n")
    with pytest.raises(DocumentError) as info:
        find_pipelines(manifest)
    assert info.value.lines() == [f"{manifest}:4:3: pipeline: no such file: gone.yaml",
                                  f"{manifest}:5:1: pipeline: no such file: missing/p.yaml"]

    manifest.write_text("pipeline.yaml\n")
    assert find_pipelines(manifest) == [tmp_path / "pipeline.yaml"]


def test_a_folder_without_pipelines_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match=rf"^{tmp_path}: holds no pipeline \(a YAML file whose top level says "
                                         r"kind: Pipeline\)$"):
        find_pipelines(tmp_path)


def test_each_pipeline_gets_its_own_assessment_and_shared_runs_are_computed_once(workspace, registry, tmp_path):
    workspace.write_policy(("R1", "balance", "high"), ("R2", "crash", "low"))
    other = twin(workspace, "other")
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(workspace.root, elsewhere, ignore=shutil.ignore_patterns("other.yaml"))
    options = {"controls_dirs": [workspace.controls], "registry": registry, "executor": "process", "jobs": 2}

    portfolio = assess_all([workspace.pipeline, other, elsewhere / "pipeline.yaml"], [workspace.policy], **options)

    alone = [assess(path, [workspace.policy], **options)
             for path in (workspace.pipeline, other, elsewhere / "pipeline.yaml")]
    assert [stable(a.assessment) for a in portfolio.assessed] == [stable(a) for a in alone]
    # 4 runs a pipeline (2 requirements x 2 data stages); the twin in the same folder reads the same
    # files, the copy elsewhere does not (files beside it may differ): 4 + 0 + 4 computed.
    assert (portfolio.planned_runs, portfolio.computed_runs) == (12, 8)


def test_every_bad_pipeline_is_reported_before_anything_runs(workspace, registry, tmp_path):
    bad = workspace.root / "bad.yaml"
    bad.write_text(workspace.pipeline.read_text().replace("needs: [ingest]", "needs: [ingets]"))
    worse = workspace.root / "worse.yaml"
    worse.write_text(workspace.pipeline.read_text().replace("path: train.npz", "path: ../outside.npz"))

    with pytest.raises(DocumentError) as info:
        assess_all([bad, workspace.pipeline, worse], [workspace.policy], controls_dirs=[workspace.controls],
                   registry=registry, executor="local")

    lines = [line.removeprefix(str(workspace.root) + "/") for line in info.value.lines()]
    assert lines[0] == "bad.yaml:12:13: stages[1].needs[0]: no stage named 'ingets' (did you mean 'ingest'?)"
    assert lines[1].startswith("worse.yaml:14:38: stages[1].artifacts[0].path: ../outside.npz resolves to ")
    assert len(lines) == 2


def test_a_file_listed_twice_in_a_manifest_is_assessed_once(tmp_path, workspace):
    manifest = tmp_path / "systems.txt"
    manifest.write_text("pipeline.yaml\n./pipeline.yaml\n")
    assert find_pipelines(manifest) == [tmp_path / "pipeline.yaml"]
