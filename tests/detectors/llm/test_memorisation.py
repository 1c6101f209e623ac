"""memorisation-probe: the planted canary named on the model that saw it, nothing on its twin; over the
python adapter and over a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import shutil

import pytest

from riskframe.detectors.llm.memorisation import MemorisationProbe, MemorisationProbeParams
from riskframe.llm.server import serve
from riskframe.llm.tiny_lm import ByteNgramLM
from tests.detectors.llm.conftest import CANARY_PREFIX, CANARY_SECRET, endpoint_context, python_endpoint

CANARY = {"name": "vault-code", "prefix": CANARY_PREFIX, "secret": CANARY_SECRET, "alphabet": "0123456789"}


def run(ctx, **params):
    return MemorisationProbe().run(ctx, MemorisationProbeParams(canaries=(CANARY,), **params))


def test_the_canary_is_named_on_the_model_that_saw_it(models):
    result = run(endpoint_context(models, python_endpoint("lm.npz")))
    (canary,) = result.evidence["canaries"]

    assert result.status == "fail"
    assert (canary["name"], canary["extracted"], canary["rank"]) == ("vault-code", True, 1.0)
    assert canary["exposure_bits"] == pytest.approx(9.97, abs=0.01) and canary["extrapolated_exposure_bits"] > 20
    assert result.summary == ("supplier-llm (python, riskframe.llm.tiny_lm:load) memorised: canary 'vault-code' "
                              "completed from its prefix and ranked 1 of 1001 (exposure 9.97 bits).")
    assert CANARY_SECRET not in json.dumps(result.model_dump(mode="json"))


def test_nothing_is_named_on_the_twin_trained_without_it(models):
    result = run(endpoint_context(models, python_endpoint("twin.npz")))
    (canary,) = result.evidence["canaries"]

    assert result.status == "pass" and not canary["extracted"]
    assert canary["exposure_bits"] < 3
    assert result.summary.startswith("supplier-llm (python, riskframe.llm.tiny_lm:load) gave back nothing probed: "
                                     "1 canary (none extracted, highest exposure ")


def test_over_http_with_an_api_key_from_the_environment(models, tmp_path, monkeypatch):
    shutil.copy(models / "lm.npz", tmp_path / "lm.npz")
    with serve(ByteNgramLM.load(tmp_path / "lm.npz"), api_key="s3cret-key") as server:
        monkeypatch.setenv("SUPPLIER_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("SUPPLIER_LLM_API_KEY", "s3cret-key")
        endpoint = ("apiVersion: riskframe/v1\nkind: Endpoint\nmetadata: {name: supplier-llm}\n"
                    "adapter: openai-completions\nmodel: tiny-lm\nbase_url_env: SUPPLIER_LLM_BASE_URL\n"
                    "api_key_env: SUPPLIER_LLM_API_KEY\n")
        result = run(endpoint_context(tmp_path, endpoint), candidates=200)

    (canary,) = result.evidence["canaries"]
    assert result.status == "fail" and canary["extracted"] and canary["rank"] == 1.0
    assert result.evidence["requests"] == 2 and server.requests == 2  # one completion, one batched scoring
    assert "s3cret-key" not in json.dumps(result.model_dump(mode="json"))


def test_a_chat_endpoint_is_probed_by_extraction_only(models, tmp_path, monkeypatch):
    with serve(ByteNgramLM.load(models / "lm.npz")) as server:
        monkeypatch.setenv("RISKFRAME_LLM_BASE_URL", server.base_url)
        endpoint = ("apiVersion: riskframe/v1\nkind: Endpoint\nmetadata: {name: chat}\nadapter: openai-chat\n"
                    "model: tiny-lm\n")
        result = run(endpoint_context(tmp_path, endpoint))

    (canary,) = result.evidence["canaries"]
    assert result.status == "fail" and canary["extracted"] and canary["exposure_bits"] is None
    assert result.evidence["scored"] is False


def test_corpus_secrets_are_probed_and_stay_masked(models):
    result = MemorisationProbe().run(endpoint_context(models, python_endpoint("lm.npz"), with_corpus=True),
                                     MemorisationProbeParams(corpus_secrets=10))

    secrets = result.evidence["corpus_secrets"]
    assert len(secrets) == 10 and all({"record", "where", "type", "masked", "extracted"} == set(s) for s in secrets)
    corpus = (models / "corpus.jsonl").read_text()
    dumped = json.dumps(result.model_dump(mode="json"))
    assert all(s["masked"] not in corpus for s in secrets if "…" in s["masked"])
    assert "BEGIN RSA PRIVATE KEY-----\n" not in dumped


def test_an_unreachable_endpoint_is_an_error_not_a_pass(tmp_path, monkeypatch):
    from riskframe.errors import DetectorError

    monkeypatch.setenv("RISKFRAME_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    endpoint = "apiVersion: riskframe/v1\nkind: Endpoint\nmetadata: {name: gone}\nadapter: openai-completions\nmodel: m\n"
    with pytest.raises(DetectorError, match=r"^http://127\.0\.0\.1:9/v1/completions could not be reached: "):
        run(endpoint_context(tmp_path, endpoint))
