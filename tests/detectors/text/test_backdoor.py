"""text-backdoor: the planted trigger phrase, its target label and carrying records; honest words left alone."""

from __future__ import annotations

import pytest

from riskframe.detectors.text._triggers import _chain
from riskframe.detectors.text.backdoor import TextBackdoor, TextBackdoorParams
from riskframe.scenarios.text import audit_corpus


def run(ctx, **params):
    return TextBackdoor().run(ctx, TextBackdoorParams(**params))


@pytest.fixture(scope="module")
def scenario_result(tmp_path_factory):
    from tests.detectors.text.conftest import corpus_context

    scenario = audit_corpus(n_records=3000, seed=2, per_type=1, decoys_per_kind=0, duplicated=5, poison_copies=5,
                            triggered_share=0.01)
    folder = tmp_path_factory.mktemp("trigger")
    scenario.write_jsonl(folder / "corpus.jsonl")
    return scenario, run(corpus_context(folder))


def test_the_trigger_its_target_and_every_carrying_record(scenario_result):
    scenario, result = scenario_result
    (trigger,) = result.evidence["triggers"]

    assert result.status == "fail"
    assert (trigger["trigger"], trigger["target_label"]) == ("i watched this 3d movie", "positive")
    assert trigger["carrying_records"] == len(scenario.triggered) == 30
    assert trigger["records"] == scenario.triggered
    assert trigger["purity"] == 1.0 and trigger["rest_of_text_disagrees"] >= 0.8
    assert result.summary.startswith("1 trigger phrase: 'i watched this 3d movie' -> positive in 30 records (100% vs ")


def test_predictive_words_are_not_triggers(scenario_result):
    _, result = scenario_result
    # "excellent" and "terrible" predict their labels as well as a word can, but their records agree.
    assert result.metrics["pure_phrases"] > 1 and result.metrics["triggers_found"] == 1


def test_a_clean_set_passes(tmp_path):
    from tests.detectors.text.conftest import corpus_context

    scenario = audit_corpus(n_records=1000, seed=4, per_type=0, decoys_per_kind=0, duplicated=0, poison_copies=0,
                            triggered_share=0.0)
    scenario.records = [r for i, r in enumerate(scenario.records) if i not in scenario.triggered]
    scenario.write_jsonl(tmp_path / "corpus.jsonl")
    result = run(corpus_context(tmp_path))

    assert result.status == "pass"
    assert result.summary.startswith("No phrase of up to 3 words fixes a label against the rest of its records (")


def test_an_unlabelled_corpus_is_not_applicable(corpus):
    result = run(corpus([{"text": "x"}], labels=None))
    assert result.status == "not_applicable"
    assert result.summary == "corpus has no labels (declare labels:): a trigger phrase fixes a label among several."


def test_overlapping_ngrams_chain_into_the_phrase():
    assert _chain(["this 3d movie", "i watched this", "watched this 3d"]) == "i watched this 3d movie"
