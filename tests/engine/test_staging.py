"""Staged arrays: the parent's validated arrays, written once and memory-mapped read-only by workers,
with the parent's digests; never the user's files read again, never pickled per run."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from riskframe.detectors.context import ArtifactStore
from riskframe.engine.staging import stage
from riskframe.spec.pipeline import Artifact


@pytest.fixture
def loaded(tmp_path):
    """A store that has loaded a dataset (class codes 0..2 for the labels 3, 5, 9) and its representations."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "train.npz", X=rng.normal(size=(12, 3)), y=np.array([3, 5, 9] * 4))
    np.save(tmp_path / "reps.npy", rng.normal(size=(12, 2)))
    dataset = Artifact(name="train", type="dataset", path="train.npz")
    reps = Artifact(name="reps", type="representations", path="reps.npy", of="train")
    store = ArtifactStore(tmp_path)
    store.dataset(dataset), store.representations(reps), store.digest(dataset)
    return store, dataset, reps


def test_workers_see_the_parents_arrays_mapped_read_only(loaded, tmp_path):
    store, dataset, reps = loaded
    folder = tmp_path / "staged"
    folder.mkdir()

    opened = stage(store, folder).open()

    mine, theirs = store.dataset(dataset), opened.dataset(dataset)
    for field in ("features", "labels", "classes"):
        assert np.array_equal(getattr(mine, field), getattr(theirs, field))
        assert not getattr(theirs, field).flags.writeable
        assert type(getattr(theirs, field)) is np.ndarray  # not np.memmap, whose type leaks into results
    assert theirs.label_of(1) == "5" and theirs.path == mine.path and theirs.images is None
    assert np.array_equal(opened.representations(reps), store.representations(reps))
    assert opened.digest(dataset) == store.digest(dataset)


def test_the_user_files_are_not_read_again(loaded, tmp_path):
    store, dataset, _ = loaded
    folder = tmp_path / "staged"
    folder.mkdir()
    staged = stage(store, folder)
    (tmp_path / "train.npz").write_bytes(b"changed after the parent validated it")

    assert staged.open().dataset(dataset).n_samples == 12
    assert staged.open().digest(dataset) == store.digest(dataset)


def test_what_travels_with_each_job_is_a_few_paths_whatever_the_data(tmp_path):
    np.savez(tmp_path / "big.npz", X=np.zeros((100_000, 10)), y=np.arange(100_000) % 2)
    dataset = Artifact(name="big", type="dataset", path="big.npz")
    store = ArtifactStore(tmp_path)
    store.dataset(dataset)
    folder = tmp_path / "staged"
    folder.mkdir()

    staged = stage(store, folder)

    assert len(pickle.dumps(staged)) < 2_000  # the arrays are 8 MB: they stay on disk
    store.replace(staged.open())
    assert not store.dataset(dataset).features.flags.writeable  # the parent now holds the mapping too


def test_a_text_corpus_travels_as_its_validated_handle_not_its_records(tmp_path):
    lines = [f'{{"text": "review number {i}", "label": "{"pos" if i % 3 else "neg"}"}}' for i in range(5000)]
    (tmp_path / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    corpus = Artifact(name="corpus", type="dataset", path="corpus.jsonl", labels="label")
    store = ArtifactStore(tmp_path)
    validated = store.text(corpus)
    folder = tmp_path / "staged"
    folder.mkdir()

    staged = stage(store, folder)

    assert len(pickle.dumps(staged)) < 2_000 and list(folder.iterdir()) == []
    with (tmp_path / "corpus.jsonl").open("a") as handle:  # a worker that validated again would refuse it
        handle.write("not json\n")
    theirs = staged.open().text(corpus)
    assert theirs == validated and (theirs.n_records, theirs.label_counts) == (5000, {"neg": 1667, "pos": 3333})
    assert next(theirs.records()).text == "review number 0"


def test_a_table_is_staged_as_a_few_arrays_with_its_names_categories_and_gaps(tmp_path):
    rows = ["age,country,income,y", *(f"{20 + i},{'DE' if i % 3 else 'FR'},{'' if i == 4 else i * 1.5},{i % 2}"
                                      for i in range(30))]
    (tmp_path / "new.csv").write_text("\n".join(rows) + "\n")
    artifact = Artifact(name="new", type="dataset", path="new.csv", labels="y")
    store = ArtifactStore(tmp_path)
    mine = store.table(artifact)
    folder = tmp_path / "staged"
    folder.mkdir()

    staged = stage(store, folder)
    (tmp_path / "new.csv").write_text("changed after the parent validated it\n")
    theirs = staged.open().table(artifact)

    assert sorted(p.name for p in folder.iterdir()) == ["table-0-codes.npy", "table-0-labels.npy",
                                                         "table-0-numbers.npy"]
    assert [(c.name, c.categories) for c in theirs.columns] == [(c.name, c.categories) for c in mine.columns]
    assert theirs.column("country").categories is not None and theirs.column("income").missing.sum() == 1
    for a, b in zip(mine.columns, theirs.columns, strict=True):
        assert np.array_equal(a.values, b.values, equal_nan=not a.is_text)
        assert not b.values.flags.writeable and type(b.values) is np.ndarray
    assert np.array_equal(theirs.labels, mine.labels) and (theirs.n_rows, theirs.path) == (30, mine.path)
    assert len(pickle.dumps(staged)) < 2_000
