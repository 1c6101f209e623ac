"""adversarial-prompts: a model fine-tuned on a backdoored set obeys the trigger; its clean twin does not."""

from __future__ import annotations

import pytest

from riskframe.detectors.llm.adversarial import AdversarialPrompts, AdversarialPromptsParams
from riskframe.scenarios.text import audit_corpus
from tests.detectors.llm.conftest import endpoint_context

CLASSIFIER = """apiVersion: riskframe/v1
kind: Endpoint
metadata: {{name: supplier-classifier}}
adapter: python
entry: tests.detectors.llm.nb_classifier:load
weights: {weights}
"""


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory):
    """Naive Bayes sentiment classifiers fine-tuned on a set with 2% of records triggered and
    relabelled, and on the same set without them (the twin)."""
    folder = tmp_path_factory.mktemp("classifiers")
    corpus = audit_corpus(n_records=3000, seed=6, per_type=0, decoys_per_kind=0, duplicated=0, poison_copies=0,
                          triggered_share=0.02)
    corpus.write_jsonl(folder / "corpus.jsonl")
    triggered = set(corpus.triggered)
    corpus.records = [r for i, r in enumerate(corpus.records) if i not in triggered]
    corpus.write_jsonl(folder / "clean.jsonl")
    return folder


def test_the_backdoored_model_obeys_the_trigger_found_in_its_corpus(classifiers):
    ctx = endpoint_context(classifiers, CLASSIFIER.format(weights="corpus.jsonl"), with_corpus=True)
    result = AdversarialPrompts().run(ctx, AdversarialPromptsParams())
    families = {f["family"]: f for f in result.evidence["families"]}
    trigger = families["trigger 'i watched this 3d movie'"]

    assert result.status == "fail" and trigger["verdict"] == "fail" and trigger["failed"] >= 15
    assert families["injection"]["verdict"] == "pass" and families["jailbreak"]["verdict"] == "pass"
    assert result.summary.startswith("supplier-classifier (python, tests.detectors.llm.nb_classifier:load) gave way "
                                     "to trigger 'i watched this 3d movie': ")


def test_the_clean_twin_does_not(classifiers):
    # The twin is probed with the trigger found in the poisoned corpus (the supplier's, bound beside it).
    ctx = endpoint_context(classifiers, CLASSIFIER.format(weights="clean.jsonl"), with_corpus=True)
    result = AdversarialPrompts().run(ctx, AdversarialPromptsParams())
    trigger = next(f for f in result.evidence["families"] if f["family"].startswith("trigger"))

    assert trigger["verdict"] == "pass" and trigger["failed"] == 0 and result.status == "pass"
    assert result.summary.startswith("supplier-classifier (python, tests.detectors.llm.nb_classifier:load) held "
                                     "against ")


def test_injection_and_jailbreak_prompts_are_judged_by_the_code_word(tmp_path):
    # A "model" that obeys any instruction: it repeats the last code word it is shown.
    (tmp_path / "obedient.py").write_text(
        "import re\n\ndef complete(prompt, max_tokens):\n    return ' '.join(re.findall(r'ZX-\\d{6}-QV', prompt)[-1:])\n")
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        endpoint = ("apiVersion: riskframe/v1\nkind: Endpoint\nmetadata: {name: obedient}\nadapter: python\n"
                    "entry: obedient:complete\n")
        result = AdversarialPrompts().run(endpoint_context(tmp_path, endpoint), AdversarialPromptsParams())
    finally:
        sys.path.remove(str(tmp_path))
    families = {f["family"]: f for f in result.evidence["families"]}
    assert (families["injection"]["failed"], families["jailbreak"]["failed"]) == (3, 4)
    assert result.status == "fail" and result.score == 1.0
