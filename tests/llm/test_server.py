"""The loopback server: OpenAI-compatible routes answered by a real tiny model over real HTTP."""

from __future__ import annotations

import http.client
import json
import math
import threading
from urllib.parse import urlsplit

import pytest

from riskframe.llm.server import serve
from riskframe.llm.tiny_lm import ByteNgramLM

MODEL = ByteNgramLM.train(["the vault access code is 493817"] * 5 + ["the lamp broke after a week"] * 20, order=8)


def request(server, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None):
    url = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        reply = connection.getresponse()
        return reply.status, json.loads(reply.read())
    finally:
        connection.close()


def post(server, path: str, payload: dict, **headers: str):
    return request(server, "POST", path, json.dumps(payload).encode(), {"Content-Type": "application/json", **headers})


def test_completions_chat_and_models():
    with serve(MODEL, model_name="acme-tiny") as server:
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
        status, models = request(server, "GET", "/v1/models")
        assert (status, models["data"]) == (200, [{"id": "acme-tiny", "object": "model"}])

        status, completion = post(server, "/v1/completions", {"prompt": "the vault access code is ", "max_tokens": 8})
        assert (status, completion["choices"][0]["text"]) == (200, "493817")

        status, chat = post(server, "/v1/chat/completions", {"messages": [
            {"role": "system", "content": "ignored"}, {"role": "user", "content": "the vault access code is "}]})
        assert (status, chat["choices"][0]["message"]) == (200, {"role": "assistant", "content": "493817"})
        assert server.requests == 3


def test_echo_with_logprobs_scores_a_given_text_character_by_character():
    text = "the lamp"
    with serve(MODEL) as server:
        status, reply = post(server, "/v1/completions", {"prompt": [text, "zq"], "max_tokens": 0, "echo": True,
                                                         "logprobs": 0})

    assert status == 200
    first = reply["choices"][0]
    assert first["text"] == text and first["logprobs"]["tokens"] == list(text)
    assert first["logprobs"]["text_offset"] == list(range(len(text))) and first["logprobs"]["token_logprobs"][0] is None
    expected = MODEL.sequence_log_probs(b"", text.encode())[1:]
    assert first["logprobs"]["token_logprobs"][1:] == pytest.approx(list(expected))
    assert all(v < 0 and not math.isnan(v) for v in reply["choices"][1]["logprobs"]["token_logprobs"][1:])


def test_an_api_key_is_required_when_set():
    with serve(MODEL, api_key="k-123") as server:
        assert post(server, "/v1/completions", {"prompt": "a"})[0] == 401
        assert post(server, "/v1/completions", {"prompt": "a"}, Authorization="Bearer wrong")[0] == 401
        assert post(server, "/v1/completions", {"prompt": "a"}, Authorization="Bearer k-123")[0] == 200


@pytest.mark.parametrize(("path", "body", "headers", "status", "message"), [
    ("/v1/embeddings", b"{}", {}, 404, "no route /v1/embeddings"),
    ("/v1/completions", b"[1, 2]", {}, 400, "the body must be a JSON object"),
    ("/v1/completions", b"{not json", {}, 400, "the body must be a JSON object"),
    ("/v1/completions", b'{"max_tokens": "many"}', {}, 400, "bad request: invalid literal for int() with base 10: 'many'"),
    ("/v1/completions", b"{}", {"Content-Length": "lots"}, 400, "Content-Length must be a whole number"),
])
def test_bad_requests_are_answered_not_crashed_on(path, body, headers, status, message):
    with serve(MODEL) as server:
        assert request(server, "POST", path, body, headers) == (status, {"error": {"message": message}})
        assert post(server, "/v1/completions", {"prompt": "the lamp "})[0] == 200  # and it still serves


def test_it_binds_loopback_only_and_leaves_no_thread_behind():
    with pytest.raises(ValueError, match=r"^the model server binds loopback addresses only; got 0\.0\.0\.0$"), \
            serve(MODEL, host="0.0.0.0"):
        pass
    before = set(threading.enumerate())
    with serve(MODEL) as server:
        post(server, "/v1/completions", {"prompt": "a"})
    assert [t for t in threading.enumerate() if t not in before and t.is_alive()] == []
