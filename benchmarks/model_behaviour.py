"""Model behaviour: ``activation-analysis`` and ``evasion-robustness`` on a backdoored CNN and its clean twin.

    nice -n 10 python -W ignore benchmarks/model_behaviour.py [--seed 0]

The digits CNN of ``examples/backdoored-digits`` (5% of the training images carry a 2x2 patch in
the bottom-right corner and are relabelled 0) and the same CNN trained on the clean digits
(``riskframe.scenarios.patch_digits.patch_digits``, as the tests build them), each examined on the held-out
digits by the detectors as the engine runs them:

- ``activation-analysis`` with the trigger given (the planted patch's box) and reverse-engineered
  (Neural Cleanse): the share of stamped images sent to one class, the attribution mass on the
  trigger against the area it covers, the clean images' mass on the same region, the neurons that
  separate stamped from clean images, and the verdict;
- ``evasion-robustness`` (ART's PGD, and FGSM) at budgets of 1%, 5%, 10% and 20% of the pixel range:
  clean accuracy and accuracy under attack, next to the same attack called on ART directly.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.robustness.activations import ActivationAnalysis
from riskframe.detectors.robustness.evasion import EvasionRobustness
from riskframe.io.files import write_npz
from riskframe.scenarios.patch_digits import patch_digits
from riskframe.spec.pipeline import Artifact, Stage

PATCH = (6, 6, 2, 2)


def context(trained: Any) -> RunContext:
    write_npz(trained.folder / "test.npz", {"X": trained.test_images, "y": trained.test_labels})
    test = Artifact(name="test", type="dataset", path="test.npz")
    model = Artifact(name="cnn", type="model", path="model.pt", format="torchscript")
    stage = Stage(name="evaluate", kind="model-evaluation", artifacts=[test, model])
    return RunContext(stage, {"dataset": (test,), "model": (model,)}, ArtifactStore(trained.folder))


def raw_art_pgd(trained: Any, epsilon: float, rows: int, seed: int) -> float:
    """Accuracy under ART's PGD called directly on the same model and rows (the detector's sample)."""
    import torch
    from art.attacks.evasion import ProjectedGradientDescent
    from art.estimators.classification import PyTorchClassifier

    from riskframe.detectors.robustness.evasion import stratified_sample

    model = torch.jit.load(str(trained.model), map_location="cpu")  # type: ignore[no-untyped-call]
    images = trained.test_images.astype(np.float32)[:, None]
    low, high = float(trained.test_images.min()), float(trained.test_images.max())
    chosen = stratified_sample(trained.test_labels, rows, seed)
    classifier = PyTorchClassifier(model, loss=torch.nn.CrossEntropyLoss(), input_shape=images.shape[1:],
                                   nb_classes=10, clip_values=(low, high))
    budget = epsilon * (high - low)
    np.random.seed(seed)
    torch.manual_seed(seed)
    attack = ProjectedGradientDescent(classifier, norm=np.inf, eps=budget, eps_step=budget / 4, max_iter=20,
                                      num_random_init=1, verbose=False)
    adversarial = attack.generate(images[chosen], y=np.eye(10)[trained.test_labels[chosen]])
    return float(np.mean(classifier.predict(adversarial).argmax(axis=1) == trained.test_labels[chosen]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="riskframe-model-behaviour-") as folder:
        run(Path(folder), args.seed)


def run(base: Path, seed: int) -> None:
    twins = {"backdoored": patch_digits(base / "backdoored", share=0.05, seed=seed),
             "clean twin": patch_digits(base / "clean", share=0.0, seed=seed)}
    print("| model | trigger | flip rate | attribution on trigger | trigger area | clean images' attribution there | "
          "separating neurons | verdict | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, trained in twins.items():
        for trigger in ("given", "reverse-engineer"):
            params = ActivationAnalysis.Params(trigger=trigger, trigger_box=PATCH if trigger == "given" else None)
            started = time.perf_counter()
            result = ActivationAnalysis().run(context(trained), params)
            m = result.metrics
            print(f"| {name} | {trigger} | {m['flip_rate']:.0%} | {m['trigger_mass']:.0%} | {m['trigger_area']:.1%} | "
                  f"{m['clean_mass']:.0%} | {int(m['separating_neurons'])} of 64 | {result.status} | "
                  f"{time.perf_counter() - started:.0f} |", flush=True)
    print()
    print("| model | attack | epsilon (share of range) | clean accuracy | accuracy under attack | 95% interval | "
          "raw ART PGD, same rows | verdict at 50% |")
    print("|---|---|---|---|---|---|---|---|")
    for name, trained in twins.items():
        for attack in ("pgd", "fgsm"):
            for epsilon in (0.01, 0.05, 0.1, 0.2):
                params = EvasionRobustness.Params(epsilon=epsilon, attack=attack, max_samples=200)
                result = EvasionRobustness().run(context(trained), params)
                m = result.metrics
                raw = f"{raw_art_pgd(trained, epsilon, 200, 0):.1%}" if attack == "pgd" else "-"
                print(f"| {name} | {attack.upper()} | {epsilon:g} | {m['clean_accuracy']:.1%} | "
                      f"{m['robust_accuracy']:.1%} | {m['robust_accuracy_low']:.1%}-{m['robust_accuracy_high']:.1%} | "
                      f"{raw} | {result.status} |", flush=True)


if __name__ == "__main__":
    main()
