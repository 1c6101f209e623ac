"""A sentiment classifier fine-tuned on a labelled jsonl set (scikit-learn's multinomial naive Bayes on
word counts), answering prompts ``'<review> =>'`` with its label: a local Python callable for the
python adapter (``entry: tests.detectors.llm.nb_classifier:load``, ``weights:`` the training set)."""

from __future__ import annotations

import json
from pathlib import Path


class Classifier:
    def __init__(self, training_set: Path) -> None:
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.naive_bayes import MultinomialNB

        records = [json.loads(line) for line in training_set.read_text().splitlines()]
        self.vectorizer = CountVectorizer()
        features = self.vectorizer.fit_transform([r["text"] for r in records])
        self.model = MultinomialNB().fit(features, [r["label"] for r in records])

    def complete(self, prompt: str, max_tokens: int) -> str:
        text = prompt.removesuffix("=>").strip()
        return " " + str(self.model.predict(self.vectorizer.transform([text]))[0])


def load(weights: Path) -> Classifier:
    return Classifier(Path(weights))
