"""``evasion-robustness`` with ART's real attacks on a real scikit-learn MLP and a real TorchScript CNN."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.robustness.evasion import EvasionRobustness, stratified_sample, wilson
from riskframe.errors import NotApplicableError
from riskframe.io.files import write_npz
from riskframe.spec.pipeline import Artifact, Stage

pytest.importorskip("art")


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.images.astype(np.float64), data.target


def _ctx(folder, model: Artifact) -> RunContext:
    test = Artifact(name="test", type="dataset", path="test.npz")
    stage = Stage(name="evaluate", kind="model-evaluation", artifacts=[test, model])
    return RunContext(stage, {"dataset": (test,), "model": (model,)}, ArtifactStore(folder))


@pytest.fixture(scope="module")
def mlp_stage(tmp_path_factory, digits):
    import skops.io as sio
    from sklearn.neural_network import MLPClassifier

    images, labels = digits
    folder = tmp_path_factory.mktemp("mlp")
    model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0).fit(images[:1200].reshape(1200, -1),
                                                                                    labels[:1200])
    sio.dump(model, folder / "mlp.skops")
    write_npz(folder / "test.npz", {"X": images[1200:], "y": labels[1200:]})
    return folder, Artifact(name="mlp", type="model", path="mlp.skops", format="skops")


@pytest.mark.slow
def test_hopskipjump_lowers_a_scikit_learn_mlps_accuracy_within_the_budget(mlp_stage):
    folder, model = mlp_stage
    result = EvasionRobustness().run(_ctx(folder, model), EvasionRobustness.Params(
        epsilon=0.25, max_samples=30, hopskipjump_iterations=5, min_robust_accuracy=0.9))

    evidence = result.evidence
    assert evidence["attack"] == "hopskipjump" and evidence["rows"] == 30 and evidence["budget"] == 4.0
    assert evidence["clean_accuracy"] > 0.85 and evidence["robust_accuracy"] < evidence["clean_accuracy"]
    assert result.status == "fail" and result.summary.startswith("Accuracy under attack ")
    assert "(HopSkipJump at epsilon 0.25 of the range, model 'mlp')" in result.summary
    assert result.attachments[0].name == "adversarial-examples.png"  # the test set holds 8x8 images


def test_gradient_attacks_need_a_differentiable_model(mlp_stage):
    folder, model = mlp_stage
    with pytest.raises(NotApplicableError, match=r"^pgd needs the model's gradients; model 'mlp' is a scikit-learn MLP"):
        EvasionRobustness().run(_ctx(folder, model), EvasionRobustness.Params(attack="pgd", max_samples=10))


@pytest.mark.slow
def test_pgd_and_fgsm_on_a_torchscript_cnn(tmp_path, digits):
    pytest.importorskip("torch")
    from riskframe.detectors.backdoor.cnn import export_torchscript, train_cnn

    images, labels = digits
    cnn = train_cnn(images[:1200], labels[:1200], n_classes=10, epochs=15, seed=0)
    export_torchscript(cnn, tmp_path / "cnn.pt")
    write_npz(tmp_path / "test.npz", {"X": images[1200:], "y": labels[1200:]})
    model = Artifact(name="cnn", type="model", path="cnn.pt", format="torchscript")

    tiny = EvasionRobustness().run(_ctx(tmp_path, model), EvasionRobustness.Params(epsilon=0.001, max_samples=100))
    strong = EvasionRobustness().run(_ctx(tmp_path, model), EvasionRobustness.Params(epsilon=0.3, max_samples=100))
    fgsm = EvasionRobustness().run(_ctx(tmp_path, model), EvasionRobustness.Params(
        epsilon=0.3, max_samples=100, attack="fgsm"))

    assert tiny.status == "pass" and tiny.metrics["robust_accuracy"] == pytest.approx(tiny.metrics["clean_accuracy"],
                                                                                        abs=0.02)
    assert strong.status == "fail" and strong.metrics["robust_accuracy"] < 0.3 < strong.metrics["clean_accuracy"]
    assert fgsm.metrics["robust_accuracy"] >= strong.metrics["robust_accuracy"]  # PGD is FGSM iterated
    png = base64.b64decode(strong.attachments[0].data)
    assert png.startswith(b"\x89PNG") and "each clean image beside its adversarial version" in strong.attachments[0].caption


def test_the_verdict_interval_is_wilsons():
    # 6 of 10: the textbook 95% Wilson interval is 0.313-0.832, so 10 rows cannot tell 60% from 50%.
    assert wilson(6, 10) == pytest.approx((0.3127, 0.8318), abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)


def test_the_sample_keeps_every_class():
    labels = np.array([0] * 95 + [1] * 5)
    rows = stratified_sample(labels, 20, seed=0)
    assert rows.size == 20 and set(labels[rows]) == {0, 1} and np.all(np.diff(rows) > 0)


@pytest.mark.slow
def test_a_scikit_learn_model_needs_art_but_not_torch(mlp_stage):
    # In a fresh interpreter where `import torch` fails, as with only the `art` extra installed.
    import subprocess
    import sys
    import textwrap

    folder, _ = mlp_stage
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path

        class WithoutTorch:  # torch is nowhere to be found, as when it is not installed
            def __init__(self, finder):
                self.finder = finder

            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "torch" or not hasattr(self.finder, "find_spec"):
                    return None
                return self.finder.find_spec(name, path, target)

        sys.meta_path[:] = [WithoutTorch(finder) for finder in sys.meta_path]
        from riskframe.detectors.context import ArtifactStore, RunContext
        from riskframe.detectors.robustness.evasion import EvasionRobustness
        from riskframe.spec.pipeline import Artifact, Stage
        test = Artifact(name="test", type="dataset", path="test.npz")
        model = Artifact(name="mlp", type="model", path="mlp.skops", format="skops")
        ctx = RunContext(Stage(name="e", kind="model-evaluation", artifacts=[test, model]),
                         {{"dataset": (test,), "model": (model,)}}, ArtifactStore(Path({str(folder)!r})))
        result = EvasionRobustness().run(ctx, EvasionRobustness.Params(max_samples=10, hopskipjump_iterations=2))
        print(result.evidence["attack"], result.evidence["rows"], "torch" in sys.modules)
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["hopskipjump", "10", "False"]


@pytest.mark.slow
def test_the_html_report_shows_the_adversarial_examples_of_a_run_in_a_worker_process(mlp_stage, tmp_path):
    import subprocess
    import sys
    import textwrap

    folder, _ = mlp_stage
    (folder / "pipeline.yaml").write_text(textwrap.dedent("""\
        apiVersion: riskframe/v1
        kind: Pipeline
        metadata: {name: digits-mlp}
        stages:
          - name: evaluate
            kind: model-evaluation
            artifacts:
              - {name: test, type: dataset, path: test.npz}
              - {name: mlp, type: model, path: mlp.skops, format: skops}
        """))
    (folder / "policy.yaml").write_text(textwrap.dedent("""\
        apiVersion: riskframe/v1
        kind: Policy
        metadata: {name: evasion-small, version: 1.0.0}
        risk_appetite: {fail_on: high}
        requirements:
          - id: EV-1
            title: Accuracy under attack at a 25% budget is at least 90%
            severity: high
            threats: [AML.T0015]
            controls:
              - control: evasion-robustness-check
                with: {epsilon: 0.25, min_robust_accuracy: 0.9, max_samples: 30, hopskipjump_iterations: 3}
        """))
    done = subprocess.run([sys.executable, "-m", "riskframe", "assess", str(folder / "pipeline.yaml"), "--policy",
                           str(folder / "policy.yaml"), "--out", str(tmp_path), "--format", "json,html", "-q"],
                          capture_output=True, text=True, timeout=600)

    assert done.returncode == 1, done.stderr[-2000:]
    html = (tmp_path / "report.html").read_text()
    assert "rows the attack turned: each clean image beside its adversarial version" in html
    assert "Accuracy under attack " in html and "(HopSkipJump at epsilon 0.25 of the range, model &#39;mlp&#39;)" in html
