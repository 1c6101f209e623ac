"""Findings: a structural finding says what it is in a title of its own, given where it is made."""

from __future__ import annotations

import pickle

import pytest

from riskframe.scanning import scan_file
from riskframe.scanning.findings import Finding


def test_a_structural_finding_without_a_title_is_refused_when_it_is_made():
    with pytest.raises(TypeError, match=r"^a structural finding \(no global\) needs a title: 'corrupt: x'$"):
        Finding(None, 0, "medium", "corrupt: x")


def test_the_title_is_written_beside_the_reason_and_a_global_finding_needs_none():
    structural = Finding(None, 4, "low", "not well-formed ONNX: bad field", title="not well-formed ONNX")
    named = Finding("os.system", 2, "critical", "runs operating-system commands")

    assert structural.to_dict() == {"global": None, "offset": 4, "severity": "low",
                                    "reason": "not well-formed ONNX: bad field", "title": "not well-formed ONNX"}
    assert "title" not in named.to_dict()
    assert structural.within("archive/data.pkl").title == "not well-formed ONNX"


def test_the_scanner_titles_the_structural_findings_it_makes(tmp_path):
    (tmp_path / "cut.pkl").write_bytes(pickle.dumps({"w": [1.0, 2.0]})[:-3])

    [finding] = scan_file(tmp_path / "cut.pkl").findings

    assert (finding.global_, finding.title) == (None, "truncated pickle")
    assert finding.reason.startswith("truncated pickle: ")
