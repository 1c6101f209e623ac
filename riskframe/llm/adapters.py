"""One interface over the language models riskframe probes: complete a prompt, score continuations.

:class:`LanguageModel` is what probes call. Its adapters:

- :class:`OpenAICompletions`: ``POST {base}/completions``; scores continuations through
  ``echo`` and ``logprobs`` (the legacy completions API, which vLLM, llama.cpp's server and
  riskframe's own :mod:`riskframe.llm.server` keep), so the memorisation probe can rank a canary;
- :class:`OpenAIChat`: ``POST {base}/chat/completions``, one user message per prompt; chat APIs
  return no log-probabilities of a given text, so only extraction is probed;
- :class:`LocalModel`: a Python object with ``complete(prompt, max_tokens)`` (and optionally
  ``score(prompt, continuations)``), or a bare ``(prompt, max_tokens) -> str`` callable.

Every adapter sends prompts at temperature 0 (the most likely continuation: what a probe compares
run to run) and counts its requests: past the endpoint's ``max_requests`` a probe stops with an
error rather than hammer a supplier's API. HTTP errors, timeouts and malformed replies are
:class:`~riskframe.errors.DetectorError` naming the URL and the status, never the API key.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from riskframe.errors import DetectorError

MAX_REPLY_BYTES = 8 << 20


class LanguageModel(ABC):
    """A language model behind an adapter. ``name`` says which (for evidence), ``can_score`` whether
    :meth:`score` works."""

    name: str = "model"
    can_score: bool = False

    def __init__(self, max_requests: int = 2000) -> None:
        self.max_requests = max_requests
        self.requests = 0
        self._lock = threading.Lock()

    def complete(self, prompt: str, max_tokens: int = 64) -> str:
        """The model's continuation of ``prompt`` (temperature 0)."""
        self._count(1)
        return self._complete(prompt, max_tokens)

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        """Log-probability (nats) of each continuation after ``prompt``.

        Raises
        ------
        DetectorError
            The endpoint cannot score text (``can_score`` is False).
        """
        if not self.can_score:
            raise DetectorError(f"{self.name} returns no log-probabilities of a given text")
        self._count(1)
        return self._score(prompt, continuations)

    def _count(self, n: int) -> None:
        with self._lock:
            if self.requests + n > self.max_requests:
                raise DetectorError(f"{self.name}: the endpoint's max_requests ({self.max_requests}) is spent; "
                                    "raise it in the endpoint file to probe further")
            self.requests += n

    @abstractmethod
    def _complete(self, prompt: str, max_tokens: int) -> str: ...

    def _score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        raise NotImplementedError


class LocalModel(LanguageModel):
    """A Python object or callable in this process."""

    def __init__(self, model: Any, name: str, max_requests: int = 2000) -> None:
        super().__init__(max_requests)
        complete = getattr(model, "complete", None)
        if complete is None and not callable(model):
            raise DetectorError(f"{name}: the python adapter's entry returned a {type(model).__name__}, which has "
                                "no complete(prompt, max_tokens) method and is not callable")
        self._fn: Callable[[str, int], Any] = complete if complete is not None else model
        self._scorer: Callable[[str, Sequence[str]], Any] | None = getattr(model, "score", None)
        self.name, self.can_score = name, self._scorer is not None

    def _complete(self, prompt: str, max_tokens: int) -> str:
        out = self._fn(prompt, max_tokens)
        if not isinstance(out, str):
            raise DetectorError(f"{self.name} returned a {type(out).__name__}, not text")
        return out

    def _score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        assert self._scorer is not None
        return [float(x) for x in self._scorer(prompt, continuations)]


class _OpenAI(LanguageModel):
    path = ""

    def __init__(self, base_url: str, model: str, api_key: str | None, timeout: float, max_requests: int) -> None:
        super().__init__(max_requests)
        self.base_url, self.model, self.timeout = base_url.rstrip("/"), model, timeout
        self._api_key = api_key
        self.name = f"{model} at {self.base_url}{self.path}"

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        url = self.base_url + self.path
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                raw = reply.read(MAX_REPLY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise DetectorError(f"{url} answered HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DetectorError(f"{url} could not be reached: {reason}") from None
        if len(raw) > MAX_REPLY_BYTES:
            raise DetectorError(f"{url} sent a reply over {MAX_REPLY_BYTES >> 20} MiB")
        try:
            data = json.loads(raw)
        except ValueError:
            raise DetectorError(f"{url} sent a reply that is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
            raise DetectorError(f"{url} sent no choices in its reply")
        return data


class OpenAICompletions(_OpenAI):
    """``/completions``: text in, text out; log-probabilities of a given text through ``echo``."""

    path = "/completions"
    can_score = True

    def _complete(self, prompt: str, max_tokens: int) -> str:
        data = self._post({"model": self.model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0})
        return _text(data["choices"][0].get("text"), self.name)

    def _score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        # One request for every candidate: the prompt list is echoed back with per-token logprobs.
        body = {"model": self.model, "prompt": [prompt + c for c in continuations], "max_tokens": 0,
                "echo": True, "logprobs": 0, "temperature": 0}
        choices = sorted(self._post(body)["choices"], key=lambda c: c.get("index", 0))
        if len(choices) != len(continuations):
            raise DetectorError(f"{self.name} returned {len(choices)} choices for {len(continuations)} prompts")
        return [_continuation_log_prob(choice, len(prompt), self.name) for choice in choices]


class OpenAIChat(_OpenAI):
    """``/chat/completions``: each prompt is one user message."""

    path = "/chat/completions"

    def _complete(self, prompt: str, max_tokens: int) -> str:
        data = self._post({"model": self.model, "messages": [{"role": "user", "content": prompt}],
                           "max_tokens": max_tokens, "temperature": 0})
        message = data["choices"][0].get("message")
        return _text(message.get("content") if isinstance(message, dict) else None, self.name)


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise DetectorError(f"{name} sent a choice without text")
    return value


def _continuation_log_prob(choice: dict[str, Any], prompt_chars: int, name: str) -> float:
    """The sum of the logprobs of the echoed tokens that start at or after the prompt's end."""
    logprobs = choice.get("logprobs")
    if not isinstance(logprobs, dict):
        raise DetectorError(f"{name} echoed no logprobs; it cannot score text")
    offsets, values = logprobs.get("text_offset"), logprobs.get("token_logprobs")
    if not isinstance(offsets, list) or not isinstance(values, list) or len(offsets) != len(values):
        raise DetectorError(f"{name} echoed logprobs without matching text_offset and token_logprobs")
    return float(sum(v for o, v in zip(offsets, values, strict=True) if o >= prompt_chars and v is not None))
