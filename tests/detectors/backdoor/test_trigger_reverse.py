"""``trigger-reverse-engineering`` on the backdoored-digits example and its clean twin, bound the
way the engine binds it (held-out ``test`` set, the model upstream, its ``of:`` training data), and
on inputs it must refuse. The example's workspaces are built once per session."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.errors import DetectorError, NotApplicableError
from riskframe.spec.pipeline import Artifact, Stage

pytest.importorskip("torch")
from riskframe.detectors.backdoor.trigger_reverse import TriggerReverseEngineering

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "backdoored-digits" / "make_example.py"


def example_workspace(factory: pytest.TempPathFactory, clean: bool) -> Path:
    """``make_example.py --out DIR`` run once per session into a shared folder. A fresh process
    (seeded, single-threaded, fixed hash seed) gives every test module that asks the same bytes, so
    trigger searches on the same model and data are computed once per session."""
    folder = factory.getbasetemp() / ("backdoored-digits-clean" if clean else "backdoored-digits")
    if not (folder / "pipeline.yaml").exists():
        command = [sys.executable, str(EXAMPLE), "--out", str(folder), *(["--clean"] if clean else [])]
        subprocess.run(command, check=True, capture_output=True, timeout=300)
    return folder


def planned_context(folder: Path, control: str) -> RunContext:
    """The run the engine plans for ``control`` on the example's pipeline, as a RunContext."""
    from riskframe.engine.plan import plan_runs
    from riskframe.spec.resolved import load_inputs

    inputs = load_inputs(folder / "pipeline.yaml", [ROOT / "policies" / "backdoor.yaml"])
    plan = plan_runs(inputs.pipeline, inputs.graph, inputs.policies, inputs.controls, inputs.catalog,
                     inputs.registry, inputs.params)
    (run,) = [r for r in plan.runs if r.control.id == control]
    return RunContext(stage=run.stage, bindings=run.bindings, store=ArtifactStore(folder), seed=0)


@pytest.fixture(scope="module")
def backdoored_run(tmp_path_factory):
    folder = example_workspace(tmp_path_factory, clean=False)
    ctx = planned_context(folder, "trigger-reverse-engineering-screen")
    return folder, ctx, TriggerReverseEngineering().run(ctx, TriggerReverseEngineering.Params())


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    ctx = planned_context(example_workspace(tmp_path_factory, clean=True), "trigger-reverse-engineering-screen")
    return TriggerReverseEngineering().run(ctx, TriggerReverseEngineering.Params())


def test_the_engine_binds_held_out_data_the_model_and_its_training_data(backdoored_run):
    _, ctx, _ = backdoored_run
    assert ctx.stage.name == "evaluate"
    assert [a.name for a in ctx.artifacts("dataset")] == ["test", "train"]
    assert ctx.artifact("model").name == "model"


def test_a_backdoored_model_fails_with_the_target_and_where_its_trigger_sits(backdoored_run):
    _, _, result = backdoored_run
    assert result.status == "fail" and result.score >= 0.5
    assert re.fullmatch(r"Model model has a backdoor into class 0: a \d+\.\d-pixel trigger at rows 6-7, columns 6-7 "
                        r"\(bottom-right corner\) sends \d+% of held-out images of other classes there \(anomaly index "
                        r"\d+\.\d\d > 2\); \d+ training images of train carry it\.", result.summary), result.summary
    evidence = result.evidence
    assert evidence["target_class"] == 0
    trigger = evidence["reversed_trigger"]
    assert (trigger["class"], trigger["rows"], trigger["columns"]) == (0, [6, 7], [6, 7])
    pixels = evidence["trigger_pixels"]
    strongest = {(p["row"], p["column"]) for p in pixels[:3]}
    assert strongest <= {(6, 6), (6, 7), (7, 6), (7, 7)}  # on the real 2x2 patch
    assert all(p["value"] > 8 for p in pixels[:3])  # bright, as the patch is (16)
    rows = {row["class"]: row for row in evidence["classes"]}
    assert rows[0]["flagged"] and rows[0]["anomaly_index"] > 2 and rows[0]["norm_ratio"] <= 0.5
    assert not any(rows[c]["flagged"] for c in range(1, 10))
    assert result.metrics["anomaly_index"] > 2 and result.metrics["target_found"] == 1.0
    assert result.metrics["reversed_trigger_attack_success"] > 0.9
    assert evidence["method"]["measured_on"] == "held-out images the search did not see"
    assert [a.name for a in result.attachments] == ["reversed-trigger-class-0", "reversed-masks",
                                                     "trigger-carriers"]
    json.dumps(result.model_dump(mode="json"), allow_nan=False)


def test_the_training_images_carrying_the_trigger_are_flagged(backdoored_run):
    folder, _, result = backdoored_run
    truth = set(json.loads((folder / "data" / "ground_truth.json").read_text())["poisoned"]["train"])
    flagged = result.evidence["flagged_indices"]
    assert result.evidence["flagged_artifact"] == "train"
    assert len(result.evidence["scores"]) == len(flagged) and len(set(flagged)) == len(flagged)
    hits = len(truth & set(flagged))
    assert hits / len(flagged) >= 0.95 and hits / len(truth) >= 0.95, (hits, len(flagged), len(truth))


def test_training_data_rid_of_the_flagged_images_is_said_to_carry_the_trigger_no_more(backdoored_run, tmp_path):
    _, ctx, result = backdoored_run
    train = ctx.artifacts("dataset")[1]
    with np.load(ctx.store.path(train), allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    keep = np.setdiff1d(np.arange(len(arrays[train.labels])), result.evidence["flagged_indices"])
    np.savez(tmp_path / "filtered.npz", **{name: values[keep] for name, values in arrays.items()})
    for artifact in (*ctx.artifacts("dataset")[:1], *ctx.artifacts("model")):  # the same bytes: the same search
        (tmp_path / artifact.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ctx.store.path(artifact), tmp_path / artifact.path)
    filtered = train.model_copy(update={"path": "filtered.npz", "sha256": None})
    bindings = {**ctx.bindings, "dataset": (ctx.artifacts("dataset")[0], filtered)}

    again = run(RunContext(stage=ctx.stage, bindings=bindings, store=ArtifactStore(tmp_path), seed=0))

    assert again.status == "fail" and again.summary.endswith("; no training image carries it (any more).")
    assert again.evidence["carriers"].startswith(f"0 of {int((arrays[train.labels][keep] == 0).sum())} training "
                                                 "images of train labelled 0 lose that label")
    assert "flagged_indices" not in again.evidence and "flagged_samples" not in again.metrics


def test_a_clean_model_passes(clean_run):
    assert clean_run.status == "pass" and clean_run.score < 0.5
    assert re.fullmatch(r"No backdoor target in model model: (every class's smallest trigger is ordinary \(highest "
                        r"anomaly index -?\d+\.\d\d, class \d, below 2\)|class \d's anomaly index \d+\.\d\d exceeds "
                        r"2, but its trigger \(\d+\.\d pixels\) is \d+% of the median class's, larger than a planted "
                        r"trigger's \(at most 50%\))\.", clean_run.summary), clean_run.summary
    assert clean_run.evidence["target_class"] is None and "flagged_indices" not in clean_run.evidence
    assert clean_run.metrics["target_found"] == 0.0


def test_a_high_index_on_an_ordinary_sized_trigger_is_explained():
    from riskframe.detectors.backdoor.trigger_reverse import _ordinary

    # One of five clean CNNs in the calibration: the digit 3 needs a 7.2-pixel mask, the median 9.2.
    assert _ordinary(3, 4.96, 7.2, 9.15, TriggerReverseEngineering.Params()) == (
        "class 3's anomaly index 4.96 exceeds 2, but its trigger (7.2 pixels) is 79% of the median class's, "
        "larger than a planted trigger's (at most 50%).")


# Inputs the detector must refuse ---------------------------------------------------------------

def bound(tmp_path: Path, workspace: Path, *, images: np.ndarray | None = None, labels: np.ndarray | None = None,
          model_bytes: bytes | None = None, model_format: str = "torchscript") -> RunContext:
    """A context over a held-out set written to ``tmp_path`` and a copy of the example's model."""
    with np.load(workspace / "data" / "test.npz", allow_pickle=False) as data:
        x, y = data["X"], data["y"]
    np.savez(tmp_path / "test.npz", X=x if images is None else images, y=y if labels is None else labels)
    if model_bytes is None:
        shutil.copy(workspace / "models" / "model.pt", tmp_path / "model.pt")
    else:
        (tmp_path / "model.pt").write_bytes(model_bytes)
    test = Artifact(name="test", type="dataset", path="test.npz")
    model = Artifact(name="model", type="model", path="model.pt", format=model_format)
    stage = Stage(name="evaluate", kind="model-evaluation", artifacts=[test, model])
    return RunContext(stage=stage, bindings={"dataset": (test,), "model": (model,)}, store=ArtifactStore(tmp_path))


@pytest.fixture
def workspace(tmp_path_factory):
    return example_workspace(tmp_path_factory, clean=False)


def run(ctx: RunContext):
    return TriggerReverseEngineering().run(ctx, TriggerReverseEngineering.Params())


def test_a_file_that_is_not_torchscript_is_refused_before_loading(tmp_path, workspace):
    with pytest.raises(DetectorError, match=r"model\.pt"):
        run(bound(tmp_path, workspace, model_bytes=b"PK\x03\x04 not really a TorchScript archive"))


def test_a_model_that_is_not_torchscript_is_not_applicable(tmp_path, workspace):
    with pytest.raises(NotApplicableError, match=r"model 'model' is skops, not torchscript"):
        run(bound(tmp_path, workspace, model_format="skops"))


def test_flat_features_are_not_applicable(tmp_path, workspace):
    rng = np.random.default_rng(0)
    with pytest.raises(NotApplicableError, match=r"stamps triggers on images; dataset 'test' holds flat features "
                                                 r"of shape \(50, 64\)"):
        run(bound(tmp_path, workspace, images=rng.random((50, 64)), labels=np.arange(50) % 10))


def test_labels_the_model_does_not_score_are_an_error(tmp_path, workspace):
    rng = np.random.default_rng(0)
    with pytest.raises(DetectorError, match=r"the model scores 10 classes but dataset 'test' has labels 0, 1, "
                                            r".*11: its labels must be the model's output indices 0\.\.9"):
        run(bound(tmp_path, workspace, images=rng.random((60, 8, 8)), labels=np.arange(60) % 12))


def test_too_few_clean_images_are_not_applicable(tmp_path, workspace):
    with pytest.raises(NotApplicableError, match=r"needs at least 10 clean images; dataset 'test' has 6"):
        run(bound(tmp_path, workspace, images=np.zeros((6, 8, 8)), labels=np.arange(6) % 2))
