"""An ``endpoint`` artifact: its endpoint file (:mod:`riskframe.spec.endpoint`), checked and connected.

:func:`load_endpoint` runs when the assessment prepares its artifacts, so that a mistake stops it
with a located message before any probe runs: the file's own problems, a ``weights:`` path outside
the pipeline's folder and ``data_roots``, an unset environment variable, a base URL that is not
http(s). :meth:`Endpoint.connect` builds the adapter a probe sends prompts through; the API key is
read from the environment there and kept only inside the adapter.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from riskframe.data.roots import DataRoots
from riskframe.errors import ArtifactError, DetectorError, DocumentError, Problem
from riskframe.llm.adapters import LanguageModel, LocalModel, OpenAIChat, OpenAICompletions
from riskframe.spec.endpoint import EndpointSpec
from riskframe.spec.pipeline import Artifact


@dataclass(frozen=True)
class Endpoint:
    """A checked endpoint file: ``spec`` as written, ``weights`` resolved inside the roots."""

    artifact: str
    path: Path
    spec: EndpointSpec
    weights: Path | None = None

    @property
    def label(self) -> str:
        """How evidence names the model: ``supplier-llm (openai-completions, tiny-lm)``."""
        what = self.spec.model or self.spec.entry or ""
        return f"{self.spec.metadata.name} ({self.spec.adapter}{', ' + what if what else ''})"

    def connect(self) -> LanguageModel:
        """The adapter for this endpoint, ready to send prompts.

        Raises
        ------
        DetectorError
            The python entry cannot be imported or fails; an environment variable is unset.
        """
        spec = self.spec
        if spec.adapter == "python":
            return LocalModel(self.load_local_model(), self.label, spec.max_requests)
        base_url = os.environ.get(spec.base_url_env, "").strip()
        if not base_url:
            raise DetectorError(f"{spec.base_url_env} is not set: export the base URL of {self.label}")
        key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
        if spec.api_key_env and not key:
            raise DetectorError(f"{spec.api_key_env} is not set: export the API key of {self.label}")
        adapter = OpenAICompletions if spec.adapter == "openai-completions" else OpenAIChat
        return adapter(base_url, spec.model, key, spec.timeout, spec.max_requests)

    def load_local_model(self) -> object:
        """What a python endpoint's ``entry`` gives: the model object or function.

        Raises
        ------
        DetectorError
            The entry cannot be imported, or raises loading the weights.
        """
        assert self.spec.entry is not None
        module_name, _, attr = self.spec.entry.partition(":")
        try:
            function = getattr(importlib.import_module(module_name), attr)
        except ImportError as exc:
            raise DetectorError(f"cannot import {self.spec.entry!r} named by {self.path.name}: {exc}") from exc
        except AttributeError:
            raise DetectorError(f"module {module_name!r} has no {attr!r} ({self.path.name}: entry)") from None
        if self.weights is None:
            return function
        try:
            return function(self.weights)
        except Exception as exc:  # user code: whatever it raises is the endpoint's failure, named
            raise DetectorError(f"{self.spec.entry} raised {type(exc).__name__} loading "
                                f"{self.weights.name}: {exc}") from exc


def load_endpoint(artifact: Artifact, roots: DataRoots | Path) -> Endpoint:
    """Load and check an ``endpoint`` artifact's file.

    Raises
    ------
    riskframe.errors.DocumentError
        The file is not a valid ``kind: Endpoint`` document, its ``weights`` path is outside the
        roots or missing, or (openai adapters) a named environment variable is unset or the base
        URL is not http(s): every problem located in the endpoint file.
    riskframe.errors.ArtifactError
        The endpoint file itself is outside the roots, missing or not a regular file.
    """
    from riskframe.spec.load import load_document  # it imports every document model

    roots = roots if isinstance(roots, DataRoots) else DataRoots(roots)
    path = roots.existing(artifact.path, single="an endpoint file")
    spec = load_document(path, EndpointSpec)
    assert isinstance(spec, EndpointSpec)
    problems: list[Problem] = []
    weights = None
    if spec.weights is not None:
        relative = os.path.relpath(path.parent / spec.weights, roots.base_dir)
        try:
            weights = roots.existing(relative, "weights", folder_ok=True, single="the weights")
        except ArtifactError as exc:
            problems.append(spec.source.problem(("weights",), str(exc), spec.weights))
    if spec.adapter != "python":
        problems += _environment_problems(spec)
    if problems:
        raise DocumentError(problems)
    return Endpoint(artifact.name, path, spec, weights)


def _environment_problems(spec: EndpointSpec) -> list[Problem]:
    problems: list[Problem] = []
    base_url = os.environ.get(spec.base_url_env, "").strip()
    if not base_url:
        problems.append(spec.source.problem(("base_url_env",), f"environment variable {spec.base_url_env} is not "
                                            "set; export the API's base URL, e.g. http://127.0.0.1:8000/v1",
                                            spec.base_url_env))
    elif urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).netloc:
        problems.append(spec.source.problem(("base_url_env",), f"{spec.base_url_env} must hold an http(s) URL "
                                            "such as http://127.0.0.1:8000/v1", spec.base_url_env))
    if spec.api_key_env and not os.environ.get(spec.api_key_env):
        problems.append(spec.source.problem(("api_key_env",), f"environment variable {spec.api_key_env} is not "
                                            "set; export the API key (it is sent as a bearer token, never "
                                            "recorded)", spec.api_key_env))
    return problems
