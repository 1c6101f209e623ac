"""Run garak against an endpoint and keep its report, for ``garak-report`` to read.

garak (the ``garak`` extra) is started as a subprocess with its ``OpenAICompatible`` generator:
an HTTP endpoint's base URL and key are handed over from the environment; a python-adapter
endpoint is first served on 127.0.0.1 by :mod:`riskframe.llm.server` (chat completions), so
garak reaches every endpoint the same way. garak's data, config and cache folders are a scratch
folder, and Hugging Face is told to stay offline: probes whose detectors need a model download fail
in garak rather than fetch one.

>>> run_garak(endpoint, "dan.Dan_11_0,promptinject", Path("redteam/garak.report.jsonl"))  # doctest: +SKIP
PosixPath('redteam/garak.report.jsonl')

From the shell: ``riskframe garak ENDPOINT.yaml --probes dan,promptinject --out garak.report.jsonl``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from riskframe.errors import MissingDependencyError, UsageError
from riskframe.llm.endpoint import Endpoint

_CONFIG = """---
system: {{verbose: 0, show_z: false}}
run: {{generations: {generations}, soft_probe_prompt_cap: {cap}, seed: {seed}}}
"""


def run_garak(endpoint: Endpoint, probes: str, out: Path, *, prompt_cap: int = 10, generations: int = 1,
              seed: int = 0, max_tokens: int = 64) -> Path:
    """Run garak's ``probes`` (its ``--probes`` spec) against ``endpoint``; write the report to ``out``.

    Raises
    ------
    MissingDependencyError
        garak is not installed.
    UsageError
        garak failed (its exit code), or wrote no report.
    """
    if importlib.util.find_spec("garak") is None:
        raise MissingDependencyError("garak", "garak")
    with tempfile.TemporaryDirectory(prefix="riskframe-garak-") as scratch, _reachable(endpoint) as (url, key):
        home = Path(scratch)
        (home / "config.yaml").write_text(_CONFIG.format(generations=generations, cap=prompt_cap, seed=seed))
        options = {"openai": {"OpenAICompatible": {"uri": url, "model": endpoint.spec.model or "local",
                                                   "api_key": key or "none", "max_tokens": max_tokens,
                                                   "suppressed_params": ["n", "stop"]}}}
        (home / "options.json").write_text(json.dumps(options))
        env = {**os.environ, "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config"),
               "XDG_CACHE_HOME": str(home / "cache"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        command = [sys.executable, "-m", "garak", "--config", str(home / "config.yaml"),
                   "--target_type", "openai.OpenAICompatible", "--target_name", endpoint.spec.model or "local",
                   "--generator_option_file", str(home / "options.json"), "--probes", probes,
                   "--report_prefix", "riskframe"]
        done = subprocess.run(command, env=env, cwd=home, capture_output=True, text=True, check=False)
        report = next((home / "data").rglob("riskframe.report.jsonl"), None)
        if done.returncode != 0 or report is None:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise UsageError(f"garak exited with {done.returncode} and {'no' if report is None else 'a'} report: "
                             + " | ".join(tail))
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(report, out)
    return out


@contextmanager
def _reachable(endpoint: Endpoint) -> Iterator[tuple[str, str | None]]:
    """(base URL, API key) garak can call: the endpoint's own, or a loopback server for a python one."""
    spec = endpoint.spec
    if spec.adapter != "python":
        yield os.environ[spec.base_url_env], os.environ.get(spec.api_key_env) if spec.api_key_env else None
        return
    from riskframe.llm.adapters import LocalModel
    from riskframe.llm.server import serve

    model = LocalModel(endpoint.load_local_model(), endpoint.label, max_requests=1 << 40)  # garak counts its own
    with serve(model, model_name=spec.model or "local") as server:
        yield server.base_url, None
