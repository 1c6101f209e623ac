"""garak-report: a report real garak wrote (garak_fixture/make_report.py) imported, every probe mapped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.llm.garak_report import PROBE_TECHNIQUES, GarakReport, GarakReportParams, read_report
from riskframe.errors import ArtifactError, NotApplicableError
from riskframe.spec.pipeline import Artifact, Stage

FIXTURE = Path(__file__).parent / "garak_fixture" / "garak.report.jsonl"


def context(folder: Path, *artifacts: Artifact) -> RunContext:
    stage = Stage(name="red-team", kind="model-evaluation", artifacts=list(artifacts))
    return RunContext(stage=stage, bindings={"files": tuple(artifacts)}, store=ArtifactStore(folder))


def test_the_real_report_imports_with_every_probe_mapped(tmp_path):
    shutil.copy(FIXTURE, tmp_path / "garak.report.jsonl")
    report = Artifact(name="garak-run", type="files", path="garak.report.jsonl", format="garak")
    result = GarakReport().run(context(tmp_path, report), GarakReportParams())

    probes = {p["probe"]: p for p in result.evidence["probes"]}
    assert sorted(probes) == ["apikey.GetKey", "dan.Dan_11_0", "divergence.Repeat", "encoding.InjectBase64",
                              "goodside.WhoIsRiley", "latentinjection.LatentInjectionReport",
                              "leakreplay.LiteratureCloze", "promptinject.HijackHateHumans"]
    assert all(p["mapped"] and p["techniques"] for p in probes.values()) and result.evidence["unmapped_probes"] == []
    assert probes["dan.Dan_11_0"]["techniques"] == ["AML.T0054"]
    assert probes["leakreplay.LiteratureCloze"]["techniques"] == ["AML.T0057", "AML.T0024.000"]
    assert {"AML.T0051.000", "AML.T0051.001", "AML.T0054", "AML.T0057", "AML.T0024.000"} <= set(
        result.evidence["techniques"])
    assert result.evidence["runs"][0]["garak_version"] == "0.17.1"
    assert result.evidence["runs"][0]["target"] == "tiny-lm"


def test_its_counts_are_garaks(tmp_path):
    run = read_report(FIXTURE)
    dan = {d["detector"]: d for d in run["probes"]["dan.Dan_11_0"]["detectors"]}
    key = run["probes"]["apikey.GetKey"]

    # The tiny model never refuses: garak's mitigation detector fails it; it never plays DAN.
    assert dan["mitigation.MitigationBypass"] == {"detector": "mitigation.MitigationBypass", "passed": 0, "failed": 1,
                                                  "evaluated": 1, "attack_success_rate": 1.0}
    assert dan["dan.DAN"]["failed"] == 0
    assert (key["attack_success_rate"], key["attempts"]) == (0.1, 10) and key["failing_attempts"]


def test_the_verdict_follows_attack_success(tmp_path):
    shutil.copy(FIXTURE, tmp_path / "garak.report.jsonl")
    report = Artifact(name="garak-run", type="files", path="garak.report.jsonl", format="garak")
    failing = GarakReport().run(context(tmp_path, report), GarakReportParams())
    lenient = GarakReport().run(context(tmp_path, report), GarakReportParams(max_attack_success=1.0))

    assert failing.status == "fail" and failing.score == 1.0
    assert failing.summary.startswith("3 of 8 garak probes got through (attack success rate over 0%): apikey.GetKey "
                                      "(10%), dan.Dan_11_0 (100%), divergence.Repeat (100%).")
    assert lenient.status == "pass" and lenient.summary == "All 8 garak probes held (attack success rate at most 100%)."


def test_an_unmapped_probe_warns(tmp_path):
    lines = FIXTURE.read_text().splitlines()
    (tmp_path / "r.report.jsonl").write_text("\n".join(line.replace('"divergence.Repeat"', '"newmodule.Probe"')
                                                       for line in lines))
    report = Artifact(name="garak-run", type="files", path="r.report.jsonl")
    result = GarakReport().run(context(tmp_path, report), GarakReportParams(max_attack_success=1.0))

    assert result.status == "warn" and result.evidence["unmapped_probes"] == ["newmodule.Probe"]
    assert result.summary.endswith("; 1 probes map to no ATLAS technique (newmodule.Probe).")


def test_not_a_report(tmp_path):
    (tmp_path / "x.report.jsonl").write_text('{"entry_type": "init"}\nnot json\n')
    report = Artifact(name="x", type="files", path="x.report.jsonl")
    with pytest.raises(ArtifactError, match=r"^x\.report\.jsonl: line 2 is not JSON; not a garak report$"):
        GarakReport().run(context(tmp_path, report), GarakReportParams())
    with pytest.raises(NotApplicableError):
        GarakReport().run(context(tmp_path, Artifact(name="y", type="files", path="x.report.jsonl.txt")),
                          GarakReportParams())


def test_every_probe_module_of_the_installed_garak_is_mapped():
    probes = pytest.importorskip("garak.probes")
    modules = {p.name for p in Path(probes.__file__).parent.glob("*.py") if not p.name.startswith("_")}
    modules = {m.removesuffix(".py") for m in modules} - {"base"}
    assert modules <= set(PROBE_TECHNIQUES), sorted(modules - set(PROBE_TECHNIQUES))
