"""The third-party-model example: the gate fails for the unsafe model and only for it, the payload
is real yet never runs, and tampering with the DVC-tracked data is caught."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from riskframe.engine.assess import assess
from riskframe.reports.cyclonedx import build_bom

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "third-party-model"
CANARY = "THIRD_PARTY_MODEL_PAYLOAD_RAN"



def test_the_payload_is_real_when_the_checkpoint_is_unpickled(tmp_path):
    # The positive control: what a victim's torch.load would do, reproduced with plain pickle in a
    # separate process whose working directory is a scratch folder. Only the canary is touched.
    code = textwrap.dedent(f"""
        import pickle, zipfile
        data = zipfile.ZipFile({str(EXAMPLE / 'models/digits-cnn.pt')!r}).read('archive/data.pkl')
        class Victim(pickle.Unpickler):
            def persistent_load(self, pid):
                return None
            def find_class(self, module, name):
                if module == 'posix' and name == 'system':
                    return super().find_class(module, name)
                raise pickle.UnpicklingError('stop after the payload')
        try:
            Victim(__import__('io').BytesIO(data)).load()
        except pickle.UnpicklingError:
            pass
        """)
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, timeout=60)

    assert (tmp_path / CANARY).exists()


def test_assessing_the_example_fails_the_gate_for_the_unsafe_model_and_never_runs_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    assessment = assess(EXAMPLE / "pipeline.yaml", [ROOT / "policies/supply-chain.yaml"])

    assert not (tmp_path / CANARY).exists() and not (EXAMPLE / CANARY).exists()
    assert assessment.gate.decision == "fail"
    assert assessment.gate.reasons == ["SC-1 at stage adopt-models: unsafe-model-file-scan failed with critical "
                                       "residual risk (1.00), at or above fail_on: high",
                                       "SC-5 at stage adopt-models: model-signature on digits-cnn failed with high "
                                       "residual risk (0.75), at or above fail_on: high"]
    failing = {(r.requirement, r.stage, r.artifact) for r in assessment.results if r.status in ("fail", "error", "warn")}
    # The CNN carries the payload, no publisher's signature and no registered lineage.
    assert failing == {("SC-1", "adopt-models", None), ("SC-5", "adopt-models", "digits-cnn"),
                       ("SC-4", "adopt-models", "digits-cnn")}
    scan = next(r for r in assessment.results if r.requirement == "SC-1" and r.stage == "adopt-models")
    assert scan.summary == ("1 of 2 scanned files would not load safely: models/digits-cnn.pt names posix.system "
                            "(critical).")
    verdicts = {f["artifact"]: (f["verdict"], f["severity"]) for f in scan.evidence["files"]}
    assert verdicts == {"digits-logreg": ("safe", None), "digits-cnn": ("unsafe", "critical")}
    assert {r.status for r in assessment.results if r.requirement in ("SC-2", "SC-3")} == {"pass"}
    assert {r.summary for r in assessment.results if r.requirement in ("SC-4", "SC-5") and r.status == "pass"} >= {
        "models/digits-logreg.joblib verifies against its signature models/digits-logreg.joblib.sig "
        "(models/vendor.pub): 1 file, every sha256 digest as signed."}
    cards = {c["bom-ref"]: c["modelCard"]["considerations"]["technicalLimitations"]
             for c in build_bom(assessment)["components"] if "modelCard" in c}
    assert cards["model:digits-cnn"][0] == (f"FAIL (critical) SC-1 unsafe-model-file-scan at stage adopt-models "
                                            f"[{', '.join(scan.atlas)}]: {scan.summary}")
    assert [line.split(" at stage")[0] for line in cards["model:digits-cnn"][1:]] == [
        "WARN (high) SC-4 mlflow-lineage", "FAIL (high) SC-5 model-signature"]
    assert cards["model:digits-logreg"][0].startswith("riskframe found no failing, erroring or warning control")


PROVENANCE_POLICY = """\
apiVersion: riskframe/v1
kind: Policy
metadata: {name: provenance}
requirements:
  - id: SC-2
    title: Data is the data DVC recorded
    severity: high
    controls: [{control: dvc-lock-integrity}]
    scope: {kinds: [data-understanding, data-preparation]}
  - id: SC-3
    title: Third-party artifacts match their pins
    severity: high
    controls: [{control: artifact-integrity, with: {require_digest: true}}]
    scope: {trust: untrusted}
"""


@pytest.fixture
def copy(tmp_path) -> Path:
    shutil.copytree(EXAMPLE, tmp_path / "example")
    (tmp_path / "provenance.yaml").write_text(PROVENANCE_POLICY)
    return tmp_path / "example"


def test_the_untouched_example_has_verified_provenance_and_lineage(copy):
    assessment = assess(copy / "pipeline.yaml", [copy.parent / "provenance.yaml"])

    assert assessment.gate.decision == "pass"
    lineage = {entry.artifact: entry for entry in assessment.lineage}
    assert [o.dvc_stage for o in lineage["train"].origins] == ["prepare"]
    assert lineage["train"].origins[0].relation == "out"
    assert [(d["path"], d["status"]) for d in lineage["train"].origins[0].deps] == [
        ("data/raw", "match"), ("src/prepare.py", "match")]
    assert lineage["raw"].digest_status == "match" and lineage["raw"].origins[0].relation == "dep"
    assert lineage["digits-cnn"].trained_on == "train" and lineage["digits-cnn"].origins == []


def test_a_byte_changed_in_the_vendor_data_fails_provenance_and_pinning(copy):
    digits = copy / "data/raw/digits.npz"
    data = bytearray(digits.read_bytes())
    data[len(data) // 2] ^= 0x01
    digits.write_bytes(bytes(data))

    assessment = assess(copy / "pipeline.yaml", [copy.parent / "provenance.yaml"])

    assert assessment.gate.decision == "fail"
    failing = {(r.requirement, r.stage) for r in assessment.results if r.status == "fail"}
    assert failing == {("SC-2", "acquire-data"), ("SC-2", "prepare"), ("SC-3", "acquire-data")}
    dvc = next(r for r in assessment.results if r.requirement == "SC-2" and r.stage == "prepare")
    assert "data/raw (prepare): md5 recorded f331c211..., found" in dvc.summary
    assert next(e for e in assessment.lineage if e.artifact == "raw").digest_status == "mismatch"


def _swap_the_logreg_and_rewrite_the_vendor_sums(example: Path) -> None:
    """The security review's attack: a changed model, and the SHA256SUMS shipped beside it rewritten."""
    import hashlib

    models = example / "models"
    model = models / "digits-logreg.joblib"
    model.write_bytes(model.read_bytes() + b"\x00")
    sums = "".join(f"{hashlib.sha256((models / n).read_bytes()).hexdigest()}  {n}\n"
                   for n in ("digits-cnn.pt", "digits-logreg.joblib"))
    (models / "SHA256SUMS").write_text(sums)


def test_a_swapped_model_with_rewritten_vendor_sums_fails_the_pinned_manifest(copy):
    _swap_the_logreg_and_rewrite_the_vendor_sums(copy)

    assessment = assess(copy / "pipeline.yaml", [copy.parent / "provenance.yaml"])

    sc3 = next(r for r in assessment.results if r.requirement == "SC-3" and r.stage == "adopt-models")
    assert sc3.status == "fail"
    assert sc3.summary.startswith("0 of 2 artifacts match their declared sha256; models/digits-logreg.joblib's "
                                  "manifest models/SHA256SUMS is not the pinned one (declared 2872b11b..., found ")


def test_without_the_manifest_pin_the_same_attack_is_no_longer_called_a_match(copy):
    pipeline = copy / "pipeline.yaml"
    text = pipeline.read_text()
    pin = 'manifest_sha256:\n           "2872b11b0b3b5fa70259aad96cfd8215c7e05b63dd229954f7ed800940bfb0b2"'
    assert text.count(pin) == 2
    pipeline.write_text(text.replace(", " + pin, ""))
    _swap_the_logreg_and_rewrite_the_vendor_sums(copy)

    assessment = assess(pipeline, [copy.parent / "provenance.yaml"])

    sc3 = next(r for r in assessment.results if r.requirement == "SC-3" and r.stage == "adopt-models")
    assert sc3.status == "fail"  # require_digest: an unpinned manifest is no pin
    assert [a["status"] for a in sc3.evidence["artifacts"]] == ["undeclared", "undeclared"]
    assert "models/digits-logreg.joblib matches its manifest models/SHA256SUMS, which is not pinned" in sc3.summary


def test_the_registered_lineage_is_recorded_and_the_tampered_mirror_copy_is_named(copy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    assessment = assess(copy / "pipeline.yaml", [ROOT / "policies/model-promotion.yaml"])

    by_artifact = {e.artifact: e for e in assessment.lineage}
    registry = by_artifact["digits-logreg"].registry
    assert (registry.model_uri, registry.status, registry.params["max_iter"]) == ("models:/digits-logreg/1", "pass",
                                                                                 "2000")
    assert [(i["name"], i["context"], i["outcome"]) for i in registry.inputs] == [("train", "training", "match")]
    assert by_artifact["digits-logreg-served"].registry.run_id == registry.run_id
    results = {(r.requirement, r.stage): r for r in assessment.results}
    served = results[("PROMO-2", "deploy")]
    assert served.status == "fail"
    assert served.summary.startswith("models/mirror/digits-logreg.joblib does not match its signature "
                                     "models/mirror/digits-logreg.joblib.sig: digits-logreg.joblib changed (signed ")
    assert results[("PROMO-1", "deploy")].summary == (
        "models:/digits-logreg/1 carries no riskframe assessment: nothing approves deploying it (assess it, then "
        "riskframe mlflow tag it).")
