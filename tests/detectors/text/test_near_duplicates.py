"""near-duplicates: exact copies, reworded copies and an injected phrase clustered; limits; budget."""

from __future__ import annotations

import json
import re

import pytest

from riskframe.data.budget import Budget
from riskframe.detectors.text.near_duplicates import NearDuplicates, NearDuplicatesParams, normalise
from riskframe.errors import ArtifactError
from riskframe.scenarios.text import audit_corpus

pytest.importorskip("datasketch")


def run(ctx, **params):
    return NearDuplicates().run(ctx, NearDuplicatesParams(**params))


@pytest.fixture(scope="module")
def scenario_result(tmp_path_factory):
    from tests.detectors.text.conftest import corpus_context

    scenario = audit_corpus(n_records=1500, seed=1, per_type=1, decoys_per_kind=0, duplicated=40, poison_copies=25)
    folder = tmp_path_factory.mktemp("dups")
    scenario.write_jsonl(folder / "corpus.jsonl")
    return scenario, run(corpus_context(folder))


def test_planted_copies_join_their_originals(scenario_result):
    scenario, result = scenario_result
    clusters = result.evidence["largest_clusters"]
    poison = clusters[0]

    assert result.status == "fail" and poison["size"] == 25
    assert set(poison["records"]) <= set(scenario.poison_cluster)
    assert poison["excerpt"].lower().startswith("visit cheap-meds.example")
    planted = len(scenario.duplicates) + len(scenario.poison_cluster) - 1
    copies = int(result.metrics["duplicate_records"])
    assert planted - 2 <= copies <= planted  # (nearly) every planted copy, and nothing else
    assert result.summary == (f"{copies} of 1,500 records duplicate or nearly duplicate another, in 41 clusters (the "
                              f"largest 25): a cluster of 25 records reaches the limit of 20; {copies / 1500:.1%} of "
                              "records are copies, over the 5.0% allowed.")


def test_recall_of_planted_copies(scenario_result, tmp_path):
    from riskframe.detectors.text.near_duplicates import find_clusters
    from tests.detectors.text.conftest import corpus_context

    scenario, _ = scenario_result
    scenario.write_jsonl(tmp_path / "corpus.jsonl")
    roots = find_clusters(corpus_context(tmp_path).text(), NearDuplicatesParams())
    found = sum(roots[a] == roots[b] for a, b in scenario.duplicates)

    assert found / len(scenario.duplicates) >= 0.95


def test_within_the_limits_it_passes_and_still_lists_the_clusters(corpus):
    records = [{"text": "the kettle arrived early and the lid works very well indeed", "label": "a"},
               {"text": "THE kettle  arrived early and the lid works very well indeed", "label": "a"},
               {"text": "a completely different review of a tent that leaked in the rain", "label": "b"}]
    result = run(corpus(records), max_duplicate_share=0.5)

    assert result.status == "pass" and result.score == 0.0
    assert result.evidence["largest_clusters"][0]["records"] == [0, 1]
    assert result.evidence["largest_clusters"][0]["identical"] is True
    assert result.summary == "1 of 3 records duplicate or nearly duplicate another, in 1 clusters (the largest 2): " \
                             "within the limits."


def test_the_duplicate_share_limit(corpus):
    records = [{"text": f"review number {['one', 'two', 'three', 'four', 'five', 'six'][i % 6]} of the blender that broke",
                "label": "a"} for i in range(12)]
    result = run(corpus(records), max_duplicate_share=0.5)

    assert result.status == "fail" and "of records are copies, over the 50.0% allowed" in result.summary


def test_excerpts_mask_personal_data(corpus):
    text = "refund my card 4111 1111 1111 1111 to the address on file please, thanks a lot"
    result = run(corpus([{"text": text, "label": "a"}] * 2))

    excerpt = result.evidence["largest_clusters"][0]["excerpt"]
    assert "4111 1111 1111 1111" not in json.dumps(result.model_dump(mode="json"))
    assert "[CREDIT_CARD: ************1111]" in excerpt


def test_short_records_are_compared_exactly_only(corpus):
    result = run(corpus([{"text": "ok thanks", "label": "a"}, {"text": "ok thanks!", "label": "a"}]))
    assert result.evidence["clusters"] == 0


def test_signatures_beyond_the_memory_budget_are_refused(corpus):
    ctx = corpus([{"text": "x" * 40, "label": "a"}] * 10)
    ctx.store.budget = Budget(1000)

    with pytest.raises(ArtifactError, match=re.escape("corpus: MinHash signatures of 10 records would take 10.0 KiB "
                                                      "in memory once loaded, more than the dataset memory budget")):
        run(ctx)


def test_normalise():
    assert normalise("  Ｔhe\tKETTLE \n works ") == "the kettle works"
