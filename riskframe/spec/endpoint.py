"""The endpoint document (``kind: Endpoint``): how riskframe reaches a language model to probe it.

A pipeline declares ``{name: supplier-llm, type: endpoint, path: llm/endpoint.yaml}``; the file
says which adapter talks to the model (:mod:`riskframe.llm.adapters`):

``openai-completions`` / ``openai-chat``
    an OpenAI-compatible HTTP API (``/v1/completions`` or ``/v1/chat/completions``); the base URL
    and the API key are read from the environment variables the file names, never written in it.
``python``
    a local Python callable: ``entry`` names ``package.module:function``; with ``weights:`` it is
    called with that path (relative to the endpoint file) and returns the model, without it the
    function is the model (``(prompt, max_tokens) -> str``). riskframe imports and runs it: name
    only code you trust.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from riskframe.spec.common import Document, Name, Spec

Adapter = Literal["openai-completions", "openai-chat", "python"]
_ENV = r"^[A-Za-z_][A-Za-z0-9_]*$"


class EndpointMetadata(Spec):
    name: Name
    supplier: str = ""
    description: str = ""


class EndpointSpec(Document):
    """A language model riskframe can send prompts to."""

    kind: Literal["Endpoint"]
    metadata: EndpointMetadata
    adapter: Adapter
    model: str = Field(default="", description="the model name sent with each request (openai adapters)")
    base_url_env: str = Field(default="RISKFRAME_LLM_BASE_URL", pattern=_ENV,
                              description="environment variable holding the API's base URL, e.g. "
                                          "http://127.0.0.1:8000/v1 (openai adapters)")
    api_key_env: str | None = Field(default=None, pattern=_ENV,
                                    description="environment variable holding the API key, sent as a bearer token; "
                                                "unset here: no key is sent (openai adapters)")
    entry: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$",
                              description="the callable 'package.module:function' (python adapter)")
    weights: str | None = Field(default=None, min_length=1,
                                description="a file or folder passed to `entry` (python adapter), relative to "
                                            "this file")
    timeout: float = Field(default=30.0, gt=0, le=600, description="seconds per request")
    max_requests: int = Field(default=2000, ge=1, description="requests one detector run may send at most")

    @model_validator(mode="after")
    def _adapter_fields(self) -> EndpointSpec:
        if self.adapter == "python":
            if self.entry is None:
                raise ValueError("the python adapter needs `entry:`, the callable 'package.module:function'")
        else:
            if self.entry is not None or self.weights is not None:
                raise ValueError(f"`entry:` and `weights:` are for the python adapter; {self.adapter} reaches the "
                                 "model over HTTP")
            if not self.model:
                raise ValueError(f"the {self.adapter} adapter needs `model:`, the model name requests carry")
        return self
