"""The adapters probes send prompts through: OpenAI-compatible HTTP against the real loopback server,
and local Python objects; failures are DetectorErrors that name the URL and never the key."""

from __future__ import annotations

import pytest

from riskframe.errors import DetectorError
from riskframe.llm.adapters import LocalModel, OpenAIChat, OpenAICompletions
from riskframe.llm.server import serve
from riskframe.llm.tiny_lm import ByteNgramLM

MODEL = ByteNgramLM.train(["the vault access code is 493817"] * 5 + ["the lamp broke after a week"] * 20, order=8)
PREFIX = "the vault access code is "


def test_completions_complete_and_score_as_the_model_does():
    with serve(MODEL) as server:
        adapter = OpenAICompletions(server.base_url, "tiny-lm", None, timeout=10, max_requests=10)
        assert adapter.complete(PREFIX, max_tokens=8) == "493817"
        assert adapter.score(PREFIX, ["493817", "120455", "x"]) == pytest.approx(
            MODEL.score(PREFIX, ["493817", "120455", "x"]))
        assert (adapter.requests, server.requests) == (2, 2)  # the candidates go in one request
        assert adapter.name == f"tiny-lm at {server.base_url}/completions"


def test_chat_completes_and_cannot_score():
    with serve(MODEL) as server:
        adapter = OpenAIChat(server.base_url + "/", "tiny-lm", None, timeout=10, max_requests=10)
        assert adapter.complete(PREFIX, max_tokens=8) == "493817"
        with pytest.raises(DetectorError, match=r"/chat/completions returns no log-probabilities of a given text$"):
            adapter.score(PREFIX, ["493817"])


def test_max_requests_stops_a_probe_before_the_request_is_sent():
    with serve(MODEL) as server:
        adapter = OpenAICompletions(server.base_url, "tiny-lm", None, timeout=10, max_requests=1)
        adapter.complete("the lamp ")
        with pytest.raises(DetectorError, match=r": the endpoint's max_requests \(1\) is spent; raise it in the "
                                                r"endpoint file to probe further$"):
            adapter.complete("the lamp ")
        assert server.requests == 1


def test_a_refused_key_names_the_url_and_the_status_and_not_the_key():
    with serve(MODEL, api_key="right-key") as server:
        adapter = OpenAICompletions(server.base_url, "tiny-lm", "wrong-key-123", timeout=10, max_requests=10)
        with pytest.raises(DetectorError) as error:
            adapter.complete("a")
    assert str(error.value) == f"{server.base_url}/completions answered HTTP 401 Unauthorized"
    assert "wrong-key-123" not in str(error.value)


def test_a_server_that_is_not_openai_compatible():
    with serve(MODEL) as server:
        adapter = OpenAICompletions(server.base_url.removesuffix("/v1"), "tiny-lm", None, timeout=10, max_requests=10)
        with pytest.raises(DetectorError, match=r"/completions answered HTTP 404 Not Found$"):
            adapter.complete("a")


def test_local_objects_and_callables():
    assert LocalModel(MODEL, "tiny").complete(PREFIX, 8) == "493817"
    assert LocalModel(MODEL, "tiny").can_score
    echo = LocalModel(lambda prompt, max_tokens: prompt[::-1], "reverse")
    assert echo.complete("abc") == "cba" and not echo.can_score
    with pytest.raises(DetectorError, match=r"^numbers returned a int, not text$"):
        LocalModel(lambda prompt, max_tokens: 42, "numbers").complete("a")
    with pytest.raises(DetectorError, match=r"^thing: the python adapter's entry returned a str, which has no "
                                            r"complete\(prompt, max_tokens\) method and is not callable$"):
        LocalModel("not a model", "thing")
