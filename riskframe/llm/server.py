"""Serve a local language model over an OpenAI-compatible HTTP API, on the loopback interface only.

For rehearsing probes and red-team tools (garak, riskframe's own) against a model you hold, and
for riskframe's tests and examples: ``GET /v1/models``, ``POST /v1/completions`` (a prompt or a
list of prompts; ``echo`` with ``logprobs`` returns each character's log-probability, so a client
can score a given text) and ``POST /v1/chat/completions`` (the last user message is the prompt).
The model is any object with ``complete(prompt, max_tokens)``; scoring needs
``sequence_log_probs(prompt_bytes, continuation_bytes)`` (:class:`~riskframe.llm.tiny_lm.ByteNgramLM`).
With ``api_key`` set, a request without ``Authorization: Bearer <key>`` is refused (401).

It binds 127.0.0.1 (or another loopback address) and refuses any other host.

>>> with serve(model) as server:  # doctest: +SKIP
...     print(server.base_url)
http://127.0.0.1:40123/v1

From the shell: ``python -m riskframe.llm.server WEIGHTS.npz --port 8000`` (a tiny model file).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 4 << 20


@dataclass
class Server:
    """A running server: where to reach it, and how many requests it answered."""

    httpd: ThreadingHTTPServer
    model_name: str

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def requests(self) -> int:
        return int(getattr(self.httpd, "requests_answered", 0))


@contextmanager
def serve(model: Any, *, model_name: str = "tiny-lm", api_key: str | None = None, host: str = "127.0.0.1",
          port: int = 0) -> Iterator[Server]:
    """Serve ``model`` in a background thread until the block ends.

    Raises
    ------
    ValueError
        ``host`` is not a loopback address.
    """
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the model server binds loopback addresses only; got {host}")
    httpd = ThreadingHTTPServer((host, port), _handler(model, model_name, api_key))
    httpd.daemon_threads = True
    # shutdown() waits for serve_forever's next poll: 0.05 s instead of the default 0.5 s per server.
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              name="riskframe-llm-server", daemon=True)
    thread.start()
    try:
        yield Server(httpd, model_name)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _handler(model: Any, model_name: str, api_key: str | None) -> type[BaseHTTPRequestHandler]:
    counting = threading.Lock()  # requests are answered on one thread each

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests and examples read stdout
            return

        def do_GET(self) -> None:
            if not self._authorised():
                return
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": model_name, "object": "model"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            if not self._authorised():
                return
            body = self._body()
            if body is None:
                return
            route = self.path.rstrip("/")
            answer = {"/v1/completions": _completions, "/v1/chat/completions": _chat}.get(route)
            if answer is None:
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                self._send(200, answer(model, model_name, body))
            except (TypeError, ValueError) as exc:  # a field of the wrong type (max_tokens: "many")
                self._send(400, {"error": {"message": f"bad request: {exc}"}})

        def _authorised(self) -> bool:
            if api_key is None or self.headers.get("Authorization") == f"Bearer {api_key}":
                return True
            self._send(401, {"error": {"message": "missing or wrong API key"}})
            return False

        def _body(self) -> dict[str, Any] | None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                self._send(400, {"error": {"message": "Content-Length must be a whole number"}})
                return None
            if length > MAX_BODY:
                self._send(413, {"error": {"message": "request too large"}})
                return None
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                self._send(400, {"error": {"message": "the body must be a JSON object"}})
                return None
            return body

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            raw = json.dumps(payload).encode()
            with counting:  # counted before the reply leaves: a client that has its answer sees the count
                self.server.requests_answered = getattr(self.server, "requests_answered", 0) + 1  # type: ignore[attr-defined]
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    return Handler


def _completions(model: Any, name: str, body: dict[str, Any]) -> dict[str, Any]:
    prompts = body.get("prompt", "")
    prompts = prompts if isinstance(prompts, list) else [prompts]
    max_tokens = int(body.get("max_tokens") or 0) if body.get("max_tokens") is not None else 16
    choices = []
    for index, prompt in enumerate(str(p) for p in prompts):
        text = model.complete(prompt, max_tokens) if max_tokens > 0 else ""
        choice: dict[str, Any] = {"index": index, "text": prompt + text if body.get("echo") else text,
                                  "finish_reason": "length" if len(text.encode()) >= max_tokens else "stop"}
        if body.get("echo") and body.get("logprobs") is not None:
            choice["logprobs"] = _echo_logprobs(model, prompt + text)
        choices.append(choice)
    return {"id": "cmpl-riskframe", "object": "text_completion", "created": int(time.time()), "model": name,
            "choices": choices}


def _chat(model: Any, name: str, body: dict[str, Any]) -> dict[str, Any]:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
    prompt = str(messages[-1].get("content", "")) if messages else ""
    max_tokens = int(body.get("max_tokens") or 64)
    text = model.complete(prompt, max_tokens)
    return {"id": "chatcmpl-riskframe", "object": "chat.completion", "created": int(time.time()), "model": name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}


def _echo_logprobs(model: Any, text: str) -> dict[str, Any]:
    """Per character of ``text``: its log-probability after the characters before it (the first
    has none, as in OpenAI's echo), and its offset."""
    data = text.encode("utf-8")
    values = model.sequence_log_probs(b"", data) if data else []
    tokens, offsets, logprobs = [], [], []
    at = 0
    for offset, char in enumerate(text):
        width = len(char.encode("utf-8"))
        tokens.append(char)
        offsets.append(offset)
        logprobs.append(None if offset == 0 else float(sum(values[at:at + width])))
        at += width
    return {"tokens": tokens, "token_logprobs": logprobs, "text_offset": offsets, "top_logprobs": None}


def main(argv: list[str] | None = None) -> int:
    from pathlib import Path

    from riskframe.llm.tiny_lm import ByteNgramLM

    parser = argparse.ArgumentParser(prog="python -m riskframe.llm.server",
                                     description="Serve a tiny byte-level model over an OpenAI-compatible API on "
                                                 "127.0.0.1 until interrupted.")
    parser.add_argument("weights", help="a model file written by riskframe.llm.tiny_lm")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model-name", default="tiny-lm")
    args = parser.parse_args(argv)
    with serve(ByteNgramLM.load(Path(args.weights)), model_name=args.model_name, port=args.port) as server:
        print(f"serving {args.weights} as {args.model_name!r} at {server.base_url} (Ctrl-C stops)", flush=True)
        with suppress(KeyboardInterrupt):
            while True:  # awake every half second: a Ctrl-C the kernel gave the serving thread is raised here
                time.sleep(0.5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
