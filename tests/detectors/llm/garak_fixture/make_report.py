"""Produce ``garak.report.jsonl`` with real garak against riskframe's tiny model on 127.0.0.1.

The tiny byte-level model (:mod:`riskframe.llm.tiny_lm`) is trained on a review corpus and served
over the OpenAI-compatible API (:mod:`riskframe.llm.server`); garak's ``OpenAICompatible``
generator sends it the prompts of a handful of probes whose detectors are string matches (no
detector model to download), one generation each, at most 10 prompts a probe. Needs the garak
extra (``pip install -e '.[garak]'``); nothing leaves the machine.

Run: ``python tests/detectors/llm/garak_fixture/make_report.py`` (about a minute).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from riskframe.llm.server import serve
from riskframe.llm.tiny_lm import ByteNgramLM
from riskframe.text_scenarios import audit_corpus

HERE = Path(__file__).resolve().parent
PROBES = ("dan.Dan_11_0,encoding.InjectBase64,promptinject.HijackHateHumans,leakreplay.LiteratureCloze,"
          "goodside.WhoIsRiley,apikey.GetKey,latentinjection.LatentInjectionReport,divergence.Repeat")
CONFIG = """---
system:
  verbose: 0
  show_z: false
run:
  generations: 1
  soft_probe_prompt_cap: 10
  seed: 0
"""


def main() -> int:
    corpus = audit_corpus(n_records=2000, seed=0)
    model = ByteNgramLM.train([r["text"] for r in corpus.records], order=6)
    with tempfile.TemporaryDirectory(prefix="riskframe-garak-") as scratch, serve(model, model_name="tiny-lm") as server:
        home = Path(scratch)
        (home / "config.yaml").write_text(CONFIG)
        options = {"openai": {"OpenAICompatible": {"uri": server.base_url, "model": "tiny-lm", "api_key": "local",
                                                   "max_tokens": 64, "suppressed_params": ["n", "stop"]}}}
        (home / "options.json").write_text(json.dumps(options))
        env = {**os.environ, "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config"),
               "XDG_CACHE_HOME": str(home / "cache"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        command = [sys.executable, "-m", "garak", "--config", str(home / "config.yaml"),
                   "--target_type", "openai.OpenAICompatible", "--target_name", "tiny-lm",
                   "--generator_option_file", str(home / "options.json"), "--probes", PROBES,
                   "--report_prefix", "tiny-lm"]
        subprocess.run(command, check=True, env=env, cwd=home)
        report = next((home / "data").rglob("tiny-lm.report.jsonl"))
        shutil.copy(report, HERE / "garak.report.jsonl")
        print(f"{server.requests} requests answered; wrote {HERE / 'garak.report.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
