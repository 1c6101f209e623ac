"""``riskframe garak``: real garak against a python endpoint served on 127.0.0.1; mistakes are exit 2."""

from __future__ import annotations

import pytest

from riskframe import cli
from riskframe.detectors.llm.garak_report import read_report
from riskframe.llm.tiny_lm import ByteNgramLM

ENDPOINT = """apiVersion: riskframe/v1
kind: Endpoint
metadata: {name: tiny-lm}
adapter: python
model: tiny-lm
entry: riskframe.llm.tiny_lm:load
weights: tiny-lm.npz
"""


@pytest.mark.slow
def test_garak_runs_against_a_python_endpoint_and_its_report_imports(tmp_path, capsys):
    pytest.importorskip("garak")
    ByteNgramLM.train(["the kettle works well", "the lamp is broken"] * 20, order=4).save(tmp_path / "tiny-lm.npz")
    (tmp_path / "endpoint.yaml").write_text(ENDPOINT)

    code = cli.main(["garak", str(tmp_path / "endpoint.yaml"), "--probes", "dan.Dan_11_0", "--root", str(tmp_path), "--out",
                     str(tmp_path / "out" / "garak.report.jsonl")])

    assert code == 0
    shown = capsys.readouterr().out.strip()
    assert shown == f"garak report of tiny-lm (python, tiny-lm): {tmp_path}/out/garak.report.jsonl"
    probes = read_report(tmp_path / "out" / "garak.report.jsonl")["probes"]
    assert list(probes) == ["dan.Dan_11_0"] and probes["dan.Dan_11_0"]["techniques"] == ["AML.T0054"]


def test_a_bad_endpoint_file_is_located(tmp_path, capsys):
    (tmp_path / "endpoint.yaml").write_text(ENDPOINT.replace("adapter: python", "adapter: pyton"))

    code = cli.main(["garak", str(tmp_path / "endpoint.yaml"), "--probes", "dan", "--root", str(tmp_path), "--out",
                     str(tmp_path / "r.jsonl")])

    assert code == 2
    assert capsys.readouterr().err == (f"{tmp_path.resolve()}/endpoint.yaml:4:1: adapter: must be one of openai-completions, "
                                       "openai-chat, python. Got 'pyton' instead (did you mean 'python'?).\n")
