"""The command line: exit codes, located errors without tracebacks, a light --help."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from riskframe.cli import main

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "riskframe", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_help_does_not_import_heavy_libraries():
    heavy = "{'sklearn', 'cleanlab', 'matplotlib', 'torch', 'art', 'mlflow', 'trestle'}"
    code = ("import sys; from riskframe.cli import build_parser; build_parser().format_help(); "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_python_m_riskframe_help():
    result = cli("--help")
    assert result.returncode == 0
    assert "Exit codes: 0 gate passed, 1 gate failed, 2 invalid input or usage." in result.stdout
    for command in ("validate", "assess", "catalog", "schema"):
        assert command in result.stdout


def test_validate_the_bundled_documents(capsys):
    files = [str(ROOT / "policies/data-poisoning.yaml"), *map(str, sorted((ROOT / "controls").glob("*.yaml"))),
             str(ROOT / "examples/poisoned-digits/pipeline.yaml")]
    # --no-data: a fresh checkout has not generated the example's data (make demo does); opening
    # artifacts is tested in tests/commands/test_validate.py.
    assert main(["validate", "--no-data", *files]) == 0
    out = capsys.readouterr().out
    assert f"ok: {ROOT}/policies/data-poisoning.yaml (Policy data-poisoning, 3 requirements)" in out
    assert "(Pipeline digits-classifier, 5 stages)" in out


def test_validate_reports_every_problem_located_and_exits_2(tmp_path):
    policy = tmp_path / "bad.yaml"
    policy.write_text(textwrap.dedent("""\
        apiVersion: riskframe/v1
        kind: Policy
        metadata: {name: bad}
        requirements:
          - id: R1
            title: Labels are clean
            severity: high
            threats: [AML.T0020, AML.T0200]
            nist: [MEASURE 2.7, MS-9.9]
            controls:
              - control: label-flip-scren
          - id: R1
            title: Duplicate id
            severity: low
            controls:
              - control: artifact-integrity
        """))
    result = cli("validate", str(policy))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{policy}:8:26: requirements[0].threats[1]: unknown ATLAS technique 'AML.T0200' (did you mean 'AML.T0100'?) (ATLAS 5.6.0)",
        f"{policy}:9:25: requirements[0].nist[1]: unknown NIST AI RMF subcategory 'MS-9.9' (did you mean 'MEASURE 2.9'?); "
        "write it as 'MEASURE 2.7' (also accepted: 'MS-2.7', 'measure-2.7')",
        f"{policy}:11:9: requirements[0].controls[0].control: unknown control 'label-flip-scren' "
        "(did you mean 'label-flip-screen'?)",
        f"{policy}:12:5: requirements[1].id: requirement id 'R1' is already used by requirements[0]",
    ]


def test_a_control_used_twice_by_one_requirement_is_refused(tmp_path):
    """Both uses would share one result id: the laxer one could stand in for the stricter one."""
    policy = tmp_path / "p.yaml"
    policy.write_text((ROOT / "policies/data-poisoning.yaml").read_text().replace(
        "      - control: label-flip-screen\n",
        "      - control: label-flip-screen\n      - control: label-flip-screen\n        with: {folds: 3}\n",
        1))
    result = cli("validate", str(policy))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        f"{policy}:41:9: requirements[0].controls[1].control: control 'label-flip-screen' is already used by this "
        "requirement at controls[0]; a requirement uses a control once (set its parameters in one `with:`, or use "
        "the control in another requirement)"]


def test_two_policies_with_one_requirement_id_are_refused_before_anything_runs(tmp_path):
    copy = tmp_path / "copy.yaml"
    copy.write_text((ROOT / "policies/data-poisoning.yaml").read_text().replace(
        "name: data-poisoning", "name: data-poisoning-copy"))
    result = cli("assess", "examples/poisoned-digits/pipeline.yaml", "--policy", "policies/data-poisoning.yaml",
                 "--policy", str(copy), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0] == (
        f"{copy}:34:5: requirements[0].id: requirement id 'DP-1' is already used by policy 'data-poisoning'; the "
        "policies of one assessment need distinct requirement ids (rename one, or assess with only the policy that "
        "extends the other)")
    assert not (tmp_path / "out").exists()


def test_validate_checks_control_parameters_against_the_detector(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text((ROOT / "policies/data-poisoning.yaml").read_text().replace(
        "      - control: label-flip-screen\n", "      - control: label-flip-screen\n        with: {max_poison_fraction: 1.5}\n"))
    result = cli("validate", str(policy))
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "requirements[0].controls[0].with.max_poison_fraction: must be a number in [0, 1]. Got 1.5 instead.")


def test_validate_a_pipeline_with_a_cycle(tmp_path):
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("apiVersion: riskframe/v1\nkind: Pipeline\nmetadata: {name: c}\nstages:\n"
                        "  - {name: a, kind: data-preparation, needs: [b]}\n"
                        "  - {name: b, kind: data-preparation, needs: [a]}\n")
    result = cli("validate", str(pipeline))
    assert result.returncode == 2
    assert result.stderr.strip() == f"{pipeline}:5:47: stages[0].needs[0]: stages form a cycle: a -> b -> a"


def test_unknown_format_is_a_usage_error_before_anything_runs(capsys):
    code = main(["assess", str(ROOT / "examples/poisoned-digits/pipeline.yaml"),
                 "--policy", str(ROOT / "policies/data-poisoning.yaml"), "--format", "json,pdf"])
    assert code == 2
    assert "unknown report format 'pdf'" in capsys.readouterr().err


def test_missing_policy_argument_is_exit_2():
    result = cli("assess", "examples/poisoned-digits/pipeline.yaml")
    assert result.returncode == 2
    assert "the following arguments are required: --policy/-p" in result.stderr


@pytest.mark.parametrize("kind", ["assessment", "pipeline", "policy", "control"])
def test_schema_prints_json_schema(kind, capsys):
    assert main(["schema", kind]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"


def test_public_api_is_lazy_and_complete():
    import riskframe

    assert "assess" in riskframe.__all__ and riskframe.__all__ == sorted(riskframe.__all__)
    for name in riskframe.__all__:
        assert getattr(riskframe, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        riskframe.nope  # noqa: B018


def test_all_names_every_lazy_export():
    import riskframe

    assert set(riskframe.__all__) == {*riskframe._EXPORTS, "__version__"}


def test_out_that_is_a_file_is_a_usage_error_before_anything_runs(tmp_path, capsys):
    out = tmp_path / "report"
    out.write_text("not a folder")
    code = main(["assess", str(ROOT / "examples/poisoned-digits/pipeline.yaml"),
                 "--policy", str(ROOT / "policies/data-poisoning.yaml"), "--out", str(out)])
    assert code == 2
    assert capsys.readouterr().err.strip() == f"--out {out}: is a file; reports go into a folder"


@pytest.mark.parametrize("command", [
    ["assess", str(ROOT / "examples/poisoned-digits/pipeline.yaml"), "--policy", "data-poisoning"],
    ["validate", str(ROOT / "policies/data-poisoning.yaml")],
    ["threat-model", str(ROOT / "examples/poisoned-digits/pipeline.yaml"), "--policy", "data-poisoning"],
])
def test_a_missing_controls_folder_is_a_usage_error_for_every_command(tmp_path, capsys, command):
    assert main([*command, "--controls", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.strip() == f"--controls {tmp_path / 'nope'}: no such folder"
    (tmp_path / "file.yaml").write_text("kind: Control\n")
    assert main([*command, "--controls", str(tmp_path / "file.yaml")]) == 2
    assert capsys.readouterr().err.strip().endswith(f"--controls {tmp_path / 'file.yaml'}: not a folder")


def test_the_bundled_controls_folder_given_again_is_no_duplicate(monkeypatch, capsys):
    """In a checkout ./controls is the bundled folder: docs/ci.md's `--controls controls` must work there."""
    monkeypatch.chdir(ROOT)
    assert main(["validate", "policies/data-poisoning.yaml", "--controls", "controls"]) == 0
    assert capsys.readouterr().out.startswith("ok: policies/data-poisoning.yaml (Policy data-poisoning")


def test_an_os_error_is_one_line_and_exit_2(tmp_path):
    out = tmp_path / "taken"
    out.write_text("x")
    result = cli("threat-model", "examples/poisoned-digits/pipeline.yaml", "--out", str(out))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("riskframe: error: ")


def test_the_summary_names_the_policy_file_a_bare_name_resolved_to(tmp_path, monkeypatch, capsys):
    """A NAME.yaml in the working directory comes before the bundled policy of that name: say which ran."""
    shutil.copytree(ROOT / "tests/reports/fixtures/tiny-pipeline", tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    Path("policy.yaml").rename("supply-chain.yaml")  # shadows the bundled supply-chain policy
    assert main(["assess", "pipeline.yaml", "--policy", "supply-chain", "--out", "out", "-q"]) == 1
    assert capsys.readouterr().out.splitlines()[-2] == "Policies: integrity (supply-chain.yaml)"
