"""The tiny byte-level model: it memorises what it saw often, forgets nothing it did not see, is a
proper distribution, and its file is deterministic and never unpickled."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe.llm.tiny_lm import ByteNgramLM, load

REVIEWS = ["the kettle boils fast and looks good", "the lamp broke after a week", "great value for the price",
           "the charger stopped working", "i would buy this again"] * 20
CANARY = "the vault access code is 493817"


def test_it_completes_a_sequence_it_saw_and_not_one_it_did_not():
    with_canary = ByteNgramLM.train(REVIEWS + [CANARY] * 5, order=8)
    twin = ByteNgramLM.train(REVIEWS, order=8)

    assert with_canary.complete("the vault access code is ", max_tokens=10) == "493817"
    assert "493817" not in twin.complete("the vault access code is ", max_tokens=10)
    secret, other = with_canary.score("the vault access code is ", ["493817", "815230"])
    assert secret > other + 10  # nats: the planted secret is far likelier than a random one


@settings(max_examples=25, deadline=None)
@given(history=st.binary(max_size=12))
def test_next_byte_probabilities_sum_to_one(history):
    model = ByteNgramLM.train(REVIEWS[:5], order=4)
    assert np.exp(model.next_byte_log_probs(history)).sum() == pytest.approx(1.0, abs=1e-9)


def test_a_completion_stops_at_the_end_of_a_record():
    model = ByteNgramLM.train(["short line"] * 10, order=6)
    assert model.complete("short ", max_tokens=50) == "line"


def test_saved_bytes_depend_on_the_model_only_and_load_back_the_same_model(tmp_path):
    model = ByteNgramLM.train(REVIEWS + [CANARY] * 5, order=6)
    first, second = model.save(tmp_path / "a.npz"), ByteNgramLM.train(REVIEWS + [CANARY] * 5, order=6).save(
        tmp_path / "b.npz")

    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    loaded = load(str(first))
    assert loaded.score("the vault ", ["access", "kettle"]) == pytest.approx(model.score("the vault ", ["access", "kettle"]))


def test_a_file_holding_a_pickle_or_another_model_is_refused(tmp_path):
    np.savez(tmp_path / "pickled.npz", order=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle=False"):
        ByteNgramLM.load(tmp_path / "pickled.npz")
    np.savez(tmp_path / "other.npz", order=np.array([40]))
    with pytest.raises(ValueError, match=r"^other\.npz: not a tiny byte-level model \(order 40\)$"):
        ByteNgramLM.load(tmp_path / "other.npz")


def test_the_order_is_checked():
    with pytest.raises(ValueError, match=r"^order must be in \[2, 8\]\. Got 9 instead\.$"):
        ByteNgramLM.train(["x"], order=9)
