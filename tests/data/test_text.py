"""Text datasets: jsonl, plain text and parquet corpora, sharded folders, streamed in batches; every
bad record refused with its shard, line and field, never its text."""

from __future__ import annotations

import hashlib
import json
import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe.data.text import is_text_dataset, open_text_corpus
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact


def artifact(**fields) -> Artifact:
    return Artifact(**{"name": "corpus", "type": "dataset", **fields})


def write_jsonl(path, records) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_a_jsonl_corpus_is_read_in_batches_with_where_each_record_is(tmp_path):
    write_jsonl(tmp_path / "c.jsonl", [{"text": f"record {i}", "label": i % 2} for i in range(5)])

    corpus = open_text_corpus(artifact(path="c.jsonl", labels="label"), tmp_path)
    batches = list(corpus.batches(2))

    assert (corpus.n_records, corpus.label_counts, corpus.labelled) == (5, {"0": 3, "1": 2}, True)
    assert [len(b) for b in batches] == [2, 2, 1]
    last = batches[-1][0]
    assert (last.index, last.text, last.label, last.where) == (4, "record 4", "0", "c.jsonl:5")


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path):
    (tmp_path / "c.jsonl").write_text('{"body": "a"}\n\n   \n{"body": "b"}\n', encoding="utf-8")

    records = list(open_text_corpus(artifact(path="c.jsonl", text="body"), tmp_path).records())

    assert [(r.text, r.line, r.label) for r in records] == [("a", 1, None), ("b", 4, None)]


def test_plain_text_has_one_record_per_non_blank_line(tmp_path):
    (tmp_path / "c.txt").write_text("first line\n\nsecond line\r\n", encoding="utf-8")

    corpus = open_text_corpus(artifact(path="c.txt"), tmp_path)

    assert corpus.format == "text"
    assert [(r.text, r.line) for r in corpus.records()] == [("first line", 1), ("second line", 3)]


def test_a_folder_of_shards_is_read_in_path_order(tmp_path):
    write_jsonl(tmp_path / "shards" / "part-1.jsonl", [{"text": "b"}])
    write_jsonl(tmp_path / "shards" / "part-0.jsonl", [{"text": "a"}, {"text": "a2"}])
    (tmp_path / "shards" / "SHA256SUMS").write_text("not a shard\n")

    corpus = open_text_corpus(artifact(path="shards", format="jsonl"), tmp_path)

    assert [r.where for r in corpus.records()] == ["part-0.jsonl:1", "part-0.jsonl:2", "part-1.jsonl:1"]
    assert [r.index for r in corpus.records()] == [0, 1, 2]


def test_parquet_with_a_text_column(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"body": ["x", "y", "z"], "y": ["spam", "ham", "spam"]}), tmp_path / "c.parquet")

    corpus = open_text_corpus(artifact(path="c.parquet", text="body", labels="y"), tmp_path)

    assert corpus.label_counts == {"ham": 1, "spam": 2}
    assert [(r.text, r.label, r.where) for r in corpus.records()][1] == ("y", "ham", "c.parquet:2")


def test_which_datasets_are_text():
    assert is_text_dataset(artifact(path="c.jsonl"))
    assert is_text_dataset(artifact(path="c.txt"))
    assert is_text_dataset(artifact(path="c.parquet", text="body"))
    assert not is_text_dataset(artifact(path="t.parquet"))  # a table of features, not a corpus
    assert not is_text_dataset(artifact(path="raw.npz"))
    assert not is_text_dataset(Artifact(name="f", type="files", path="notes.txt"))


def test_a_shards_pattern_selects_the_files_of_the_folder(tmp_path):
    write_jsonl(tmp_path / "shards" / "part-0.jsonl", [{"text": "a"}])
    write_jsonl(tmp_path / "shards" / "held-out.jsonl", [{"text": "not this one"}])
    write_jsonl(tmp_path / "shards" / "2024" / "part-1.jsonl", [{"text": "b"}])

    corpus = open_text_corpus(artifact(path="shards", format="jsonl", shards="**/part-*.jsonl"), tmp_path)

    assert [r.where for r in corpus.records()] == ["2024/part-1.jsonl:1", "part-0.jsonl:1"]
    with pytest.raises(ArtifactError, match=r"none of its files matches 'part-\*\.txt'$"):
        open_text_corpus(artifact(path="shards", format="text", shards="part-*.txt"), tmp_path)


def test_a_manifest_is_checked_before_a_shard_is_parsed(tmp_path):
    write_jsonl(tmp_path / "shards" / "part-0.jsonl", [{"text": "a"}])
    (tmp_path / "shards" / "part-1.jsonl").write_bytes(b"not json, never parsed\n")
    digest = hashlib.sha256((tmp_path / "shards" / "part-0.jsonl").read_bytes()).hexdigest()
    (tmp_path / "shards" / "SHA256SUMS").write_text(f"{digest}  part-0.jsonl\n")

    with pytest.raises(ArtifactError, match=r"^shard part-1.jsonl is not listed in SHA256SUMS"):
        open_text_corpus(artifact(path="shards", format="jsonl", manifest="shards/SHA256SUMS"), tmp_path)


def test_the_declaration_is_checked():
    with pytest.raises(ValueError, match="a plain-text dataset has one record per line and no labels"):
        artifact(path="c.txt", labels="label")
    with pytest.raises(ValueError, match="`text:` names the text field of a text dataset; a model artifact has none"):
        Artifact(name="m", type="model", path="m.onnx", text="body")


SECRET = "sk_live_do_not_print_me"


@pytest.mark.parametrize(("content", "field", "message"), [
    (b'{"text": "ok"}\nnot json ' + SECRET.encode() + b"\n", "path",
     "c.jsonl: line 2 is not JSON (Expecting value at column 1)"),
    (b'["a list"]\n', "path", "c.jsonl: line 1 is a JSON list; each line of a jsonl text dataset is an object"),
    (b'{"body": "' + SECRET.encode() + b'"}\n', "text", "c.jsonl: line 1 has no field 'text'"),
    (b'{"text": 42}\n', "text", "c.jsonl: line 1 has a non-string value in field 'text'"),
    (b'{"text": "ok"}\n\xff\xfe' + SECRET.encode() + b"\n", "path",
     "c.jsonl: line 2 is not UTF-8 (invalid start byte at byte 0 of the line)"),
    (b"[" * 100_000 + b"\n", "path", "c.jsonl: line 1 nests JSON deeper than Python's decoder reads"),
    (b"\n\n", "path", "c.jsonl holds no record"),
])
def test_bad_records_are_located_and_never_quoted(tmp_path, content, field, message):
    (tmp_path / "c.jsonl").write_bytes(content)

    with pytest.raises(ArtifactError, match=f"^{re.escape(message)}$") as info:
        open_text_corpus(artifact(path="c.jsonl"), tmp_path)

    assert info.value.field == field and SECRET not in str(info.value)


@pytest.mark.parametrize(("label", "message"), [
    (None, "c.jsonl: line 1: label 'label' is a JSON NoneType; labels are strings or integers"),
    (True, "c.jsonl: line 1: label 'label' is a boolean; labels are strings or integers"),
    (0.5, "c.jsonl: line 1: label 'label' is a JSON float; labels are strings or integers"),
])
def test_labels_are_strings_or_integers(tmp_path, label, message):
    write_jsonl(tmp_path / "c.jsonl", [{"text": "a", "label": label}])

    with pytest.raises(ArtifactError, match=f"^{re.escape(message)}$") as info:
        open_text_corpus(artifact(path="c.jsonl", labels="label"), tmp_path)
    assert info.value.field == "labels"


def test_a_missing_label_field(tmp_path):
    write_jsonl(tmp_path / "c.jsonl", [{"text": "a", "label": "x"}, {"text": "b"}])

    with pytest.raises(ArtifactError, match=r"^c\.jsonl: line 2 has no field 'label'$"):
        open_text_corpus(artifact(path="c.jsonl", labels="label"), tmp_path)


def test_a_line_past_the_bound_is_refused_without_reading_it_whole(tmp_path, monkeypatch):
    monkeypatch.setattr("riskframe.data.text.MAX_LINE_BYTES", 64)
    (tmp_path / "c.txt").write_bytes(b"short\n" + b"x" * 500)

    with pytest.raises(ArtifactError, match=r"^c\.txt: line 2 is longer than 64 bytes; not a record riskframe reads$"):
        open_text_corpus(artifact(path="c.txt"), tmp_path)


def test_a_folder_without_shards(tmp_path):
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "notes.md").write_text("x")

    with pytest.raises(ArtifactError, match=r"^shards is a folder holding no jsonl shard \(files ending in \.jsonl\)$"):
        open_text_corpus(artifact(path="shards", format="jsonl"), tmp_path)


def test_a_shard_linking_out_of_the_roots_is_refused(tmp_path):
    outside = tmp_path / "outside"
    write_jsonl(outside / "secret.jsonl", [{"text": "x"}])
    write_jsonl(tmp_path / "p" / "shards" / "part-0.jsonl", [{"text": "a"}])
    os.symlink(outside / "secret.jsonl", tmp_path / "p" / "shards" / "part-1.jsonl")

    with pytest.raises(ArtifactError, match="outside the pipeline's folder"):
        open_text_corpus(artifact(path="shards", format="jsonl"), tmp_path / "p")


def test_parquet_errors(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"body": ["x", None]}), tmp_path / "c.parquet")
    (tmp_path / "fake.parquet").write_bytes(b"PAR1 but nothing else")

    with pytest.raises(ArtifactError, match=r"^c\.parquet has no column 'text' \(it has 1 columns\)$"):
        open_text_corpus(artifact(path="c.parquet", text="text"), tmp_path)
    with pytest.raises(ArtifactError, match=r"^c\.parquet: row 2: column 'body' is not a string$"):
        open_text_corpus(artifact(path="c.parquet", text="body"), tmp_path)
    with pytest.raises(ArtifactError, match=r"^fake\.parquet is not a readable Parquet file \(\w+\)$"):
        open_text_corpus(artifact(path="fake.parquet", text="body"), tmp_path)


records = st.lists(st.fixed_dictionaries({"text": st.text(), "label": st.sampled_from(["a", "b", 3])}), min_size=1,
                   max_size=30)


@settings(max_examples=60, deadline=None)
@given(records=records, size=st.integers(1, 7))
def test_property_every_record_comes_back_once_in_order(tmp_path_factory, records, size):
    folder = tmp_path_factory.mktemp("jsonl")
    write_jsonl(folder / "c.jsonl", records)

    corpus = open_text_corpus(artifact(path="c.jsonl", labels="label"), folder)
    read = [r for batch in corpus.batches(size) for r in batch]

    assert [(r.text, r.label) for r in read] == [(r["text"], str(r["label"])) for r in records]
    assert [r.index for r in read] == list(range(len(records))) and corpus.n_records == len(records)


@settings(max_examples=150, deadline=None)
@given(content=st.binary(max_size=300))
def test_property_random_bytes_are_read_or_refused_never_a_crash(tmp_path_factory, content):
    folder = tmp_path_factory.mktemp("bytes")
    (folder / "c.jsonl").write_bytes(content)
    (folder / "c.txt").write_bytes(content)

    for path in ("c.jsonl", "c.txt"):
        try:
            corpus = open_text_corpus(artifact(path=path), folder)
        except ArtifactError:
            continue
        assert sum(len(b) for b in corpus.batches(3)) == corpus.n_records
