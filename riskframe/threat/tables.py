"""Which ATLAS techniques a stage's trust and artifacts open, by id, each with its reason.

The third route, a stage's kind, is read from the catalog (the ATLAS lifecycle of the mitigations
that address a technique, see :mod:`riskframe.threat.applicability`); these tables hold what the
catalog cannot say. Every id is checked against the bundled ATLAS release by the tests, and every
id in :data:`UNTRUSTED_SOURCE` belongs to the Initial Access or Resource Development tactic: an
untrusted source is how an attacker gets in, or what the attacker prepared beforehand.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One technique a condition opens. ``needs`` is an artifact type the stage must hold (None: any stage)."""

    technique: str
    reason: str
    needs: str | None = None


# A stage marked `trust: untrusted` receives data, models or code from outside the organisation.
UNTRUSTED_SOURCE: tuple[Rule, ...] = (
    Rule("AML.T0010", "data, models or code from outside the organisation enter the pipeline here"),
    Rule("AML.T0010.002", "a third-party dataset can be altered anywhere between its source and this stage",
         "dataset"),
    Rule("AML.T0010.003", "a third-party model can be altered anywhere between its source and this stage", "model"),
    Rule("AML.T0010.001", "third-party files or code arrive here and run with the pipeline's rights", "files"),
    Rule("AML.T0019", "the supplier (or whoever it copies from) can publish the dataset already poisoned", "dataset"),
    Rule("AML.T0058", "a published pre-trained model can arrive with a backdoor in its weights", "model"),
    Rule("AML.T0020", "whoever supplies the training data can poison it", "dataset"),
)

# Every artifact of a type opens these, whoever supplies it.
ARTIFACT_TYPES: dict[str, tuple[Rule, ...]] = {
    "dataset": (
        Rule("AML.T0020", "samples or labels of this dataset can be poisoned before training reads them"),
        Rule("AML.T0059", "flipped or scrambled labels erode the dataset's integrity"),
    ),
    "model": (
        Rule("AML.T0018", "the model file can be manipulated: weights poisoned or layers added"),
    ),
}

# Model formats that execute code when loaded. skops, ONNX and safetensors do not; TorchScript is
# loaded by torch.jit.load, which does not unpickle arbitrary globals.
MODEL_FORMATS: dict[str, tuple[Rule, ...]] = {
    "pickle": (
        Rule("AML.T0011.000", "unpickling the model runs whatever code the file names: a crafted file runs on load"),
        Rule("AML.T0018.002", "a pickle-format model can carry embedded malware that runs when it is loaded"),
    ),
    "joblib": (
        Rule("AML.T0011.000", "joblib files are pickles: loading one runs whatever code the file names"),
        Rule("AML.T0018.002", "a joblib model can carry embedded malware that runs when it is loaded"),
    ),
}

# A text corpus (documents for training, fine-tuning or retrieval) is what a language model reads:
# it opens the techniques that reach a model through text. Recognised by format or file suffix.
TEXT_FORMATS = frozenset({"jsonl", "text", "txt", "md", "markdown"})
TEXT_SUFFIXES = (".jsonl", ".txt", ".text", ".md", ".markdown")
TEXT_CORPUS: tuple[Rule, ...] = (
    Rule("AML.T0051", "text the model reads can carry instructions that override its own"),
    Rule("AML.T0051.001", "instructions hidden in documents of the corpus reach the model indirectly"),
    Rule("AML.T0070", "documents added to a retrieval corpus steer what the model retrieves and says"),
    Rule("AML.T0071", "false entries injected into the corpus are retrieved as if they were true"),
    Rule("AML.T0066", "an attacker can craft content designed to be retrieved from this corpus"),
    Rule("AML.T0064", "an attacker can find out what the corpus indexes and target it"),
    Rule("AML.T0057", "secrets or personal data in the corpus can be repeated by the model"),
    Rule("AML.T0085.000", "a retrieval database built from the corpus can be queried for its contents"),
    Rule("AML.T0082", "credentials in indexed documents can be harvested through retrieval"),
)

# Techniques that need a language model or an AI agent. Their mitigations' lifecycle lists
# ordinary stage kinds, so the kind route would open them on every pipeline; they apply only
# where a text corpus opens them (agents are not declared in pipelines yet).
# Deepfakes and phishing also need a generative model, or target people rather than the pipeline:
# a digits classifier opens none of them at any stage (AML.T0052, AML.T0052.001, AML.T0088).
GENERATIVE_ONLY: frozenset[str] = frozenset({
    "AML.T0052", "AML.T0052.001", "AML.T0088",
    "AML.T0051", "AML.T0051.000", "AML.T0051.001", "AML.T0051.002", "AML.T0052.000", "AML.T0053",
    "AML.T0054", "AML.T0056", "AML.T0057", "AML.T0061", "AML.T0062", "AML.T0064", "AML.T0065",
    "AML.T0066", "AML.T0067", "AML.T0068", "AML.T0069", "AML.T0069.002", "AML.T0070", "AML.T0071",
    "AML.T0077", "AML.T0080", "AML.T0080.000", "AML.T0081", "AML.T0082", "AML.T0083", "AML.T0084",
    "AML.T0085", "AML.T0085.000", "AML.T0085.001", "AML.T0086", "AML.T0092", "AML.T0093", "AML.T0094",
    "AML.T0098", "AML.T0099", "AML.T0100", "AML.T0101", "AML.T0103", "AML.T0104", "AML.T0108",
    "AML.T0110", "AML.T0011.002", "AML.T0010.005", "AML.T0034.002", "AML.T0112.000", "AML.T0002.002",
})


def all_table_ids() -> set[str]:
    """Every technique id the tables name (for the consistency test against the catalog)."""
    rules = [*UNTRUSTED_SOURCE, *TEXT_CORPUS]
    rules += [r for table in (ARTIFACT_TYPES, MODEL_FORMATS) for group in table.values() for r in group]
    return {r.technique for r in rules} | set(GENERATIVE_ONLY) | set(SERVED_ONLY)


# Techniques that reach a model only through its inference API: they apply where the model is served
# (stage kinds deployment and monitoring), not at every stage whose mitigations they share.
SERVED_ONLY: frozenset[str] = frozenset({
    "AML.T0024", "AML.T0024.000", "AML.T0024.001", "AML.T0024.002", "AML.T0029", "AML.T0034", "AML.T0040",
    "AML.T0046", "AML.T0063",
})
SERVING_KINDS: frozenset[str] = frozenset({"deployment", "monitoring"})
