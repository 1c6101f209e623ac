"""Text datasets: corpora of records streamed in batches, never held in memory whole.

A text dataset is a ``type: dataset`` artifact of format ``jsonl`` (one JSON object per line),
``text`` (one record per non-blank line) or ``parquet`` with a ``text:`` column. Its ``path`` is a
file, or a folder of shards (the files matching ``shards:``, else every file under it with the
format's suffix, in path order; pin them with a ``manifest:``, checked against every shard before
one is parsed, as for any sharded dataset). ``text:`` names the field holding each record's text
(default ``text``), ``labels:`` the one holding its label (optional).

Detectors see a :class:`TextCorpus`: a handle that knows the shards, the number of records and the
label counts (from one validating pass when the assessment prepares its artifacts), and yields
:class:`TextRecord` batches on demand. A record's ``index`` is its position in the corpus (the id
evidence uses), ``source`` and ``line`` where it is written. Every problem is an
:class:`~riskframe.errors.ArtifactError` naming the shard, the line and the artifact field to
blame, never quoting the file's text.

>>> corpus = open_text_corpus(Artifact(name="c", type="dataset", path="c.jsonl"), Path("data"))  # doctest: +SKIP
>>> for batch in corpus.batches(1024):  # doctest: +SKIP
...     for record in batch:
...         print(record.index, record.source, record.line, record.label)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskframe.data.roots import DataRoots
from riskframe.data.shards import check_shard_digests, shard_files
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact

TEXT_FORMATS = ("jsonl", "text", "parquet")
_SUFFIXES = {"jsonl": (".jsonl",), "text": (".txt", ".text"), "parquet": (".parquet",)}
MAX_LINE_BYTES = 16 << 20  # a line past this is no record riskframe reads (a file without line breaks)
DEFAULT_BATCH = 1024


def is_text_dataset(artifact: Artifact) -> bool:
    """A dataset artifact read as records of text: jsonl, plain text, or parquet with ``text:``."""
    if artifact.type != "dataset":
        return False
    fmt = artifact.resolved_format
    return fmt in ("jsonl", "text") or (fmt == "parquet" and artifact.text is not None)


@dataclass(frozen=True, slots=True)
class TextRecord:
    """One record: its position in the corpus, text, label (as text; None when unlabelled), and
    where it is written (shard path relative to the artifact's folder, 1-based line or row)."""

    index: int
    text: str
    label: str | None
    source: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass(frozen=True)
class TextCorpus:
    """A validated text dataset: its shards, size and label counts; records on demand."""

    name: str
    format: str
    root: Path
    shards: tuple[Path, ...]
    text_field: str
    label_field: str | None
    n_records: int
    label_counts: dict[str, int] = field(default_factory=dict)

    @property
    def labelled(self) -> bool:
        return self.label_field is not None

    def shown(self, shard: Path) -> str:
        """A shard's name as evidence shows it: relative to the artifact path's folder."""
        base = self.root if self.root.is_dir() else self.root.parent
        return shard.relative_to(base).as_posix()

    def records(self) -> Iterator[TextRecord]:
        """Every record, in shard order."""
        index = 0
        for shard in self.shards:
            for text, label, line in _read_shard(shard, self.format, self.text_field, self.label_field):
                yield TextRecord(index, text, label, self.shown(shard), line)
                index += 1

    def batches(self, size: int = DEFAULT_BATCH) -> Iterator[list[TextRecord]]:
        """The records in lists of at most ``size``; only one batch is held at a time."""
        batch: list[TextRecord] = []
        for record in self.records():
            batch.append(record)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch


def open_text_corpus(artifact: Artifact, roots: DataRoots | Path) -> TextCorpus:
    """Find a text dataset's shards and validate every record in one streaming pass.

    Raises
    ------
    ArtifactError
        Outside the roots, missing, a folder with no shard, a shard that is not UTF-8 or not the
        declared format, a record without its text (or declared label) or with one of the wrong
        type, or pyarrow missing for parquet.
    """
    roots = roots if isinstance(roots, DataRoots) else DataRoots(roots)
    if not is_text_dataset(artifact):
        raise ArtifactError(f"{artifact.name} is not a text dataset; declare format: jsonl or text, or parquet "
                            "with `text:`", "format")
    fmt = artifact.resolved_format
    root = roots.existing(artifact.path, folder_ok=True)
    shards = _shards(root, fmt, roots, artifact)
    if artifact.manifest is not None and root.is_dir():  # as for any sharded dataset: digests before a byte is parsed
        check_shard_digests(list(shards), roots.existing(artifact.manifest, "manifest", single="a manifest"))
    text_field = artifact.text or "text"
    counts: Counter[str] = Counter()
    n = 0
    for shard in shards:
        for _, label, _ in _read_shard(shard, fmt, text_field, artifact.labels):
            n += 1
            if label is not None:
                counts[label] += 1
    if n == 0:
        raise ArtifactError(f"{artifact.path} holds no record")
    return TextCorpus(artifact.name, fmt, root, shards, text_field, artifact.labels, n, dict(sorted(counts.items())))


def _shards(root: Path, fmt: str, roots: DataRoots, artifact: Artifact) -> tuple[Path, ...]:
    if not root.is_dir():
        return (root,)
    if artifact.shards is not None:  # the declared pattern, as for any sharded dataset
        return tuple(shard_files(root, artifact.shards, roots))
    shards = sorted((p for p in root.rglob("*") if p.name.lower().endswith(_SUFFIXES[fmt])), key=lambda p: p.as_posix())
    if not shards:
        raise ArtifactError(f"{artifact.path} is a folder holding no {fmt} shard (files ending in "
                            f"{', '.join(_SUFFIXES[fmt])})")
    for shard in shards:  # a shard, links resolved, must itself stay inside the roots and be a regular file
        roots.existing(shard.as_posix(), single="a shard")
    return tuple(shards)


def _read_shard(path: Path, fmt: str, text_field: str, label_field: str | None
                ) -> Iterator[tuple[str, str | None, int]]:
    if fmt == "parquet":
        yield from _parquet_rows(path, text_field, label_field)
        return
    for number, line in _lines(path):
        if fmt == "text":
            if line.strip():
                yield line.rstrip("\r\n"), None, number
            continue
        if not line.strip():
            continue
        yield _json_record(line, path.name, number, text_field, label_field)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, decoded line), each line read with a bound on its length."""
    with path.open("rb") as handle:
        number = 0
        while raw := handle.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(raw) > MAX_LINE_BYTES:
                raise ArtifactError(f"{path.name}: line {number} is longer than {MAX_LINE_BYTES} bytes; not a record "
                                    "riskframe reads")
            try:
                yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise ArtifactError(f"{path.name}: line {number} is not UTF-8 ({exc.reason} at byte {exc.start} of "
                                    "the line)") from None


def _json_record(line: str, name: str, number: int, text_field: str, label_field: str | None
                 ) -> tuple[str, str | None, int]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{name}: line {number} is not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ArtifactError(f"{name}: line {number} nests JSON deeper than Python's decoder reads") from None
    if not isinstance(record, dict):
        raise ArtifactError(f"{name}: line {number} is a JSON {type(record).__name__}; each line of a jsonl text "
                            "dataset is an object")
    text = record.get(text_field)
    if not isinstance(text, str):
        what = "has no field" if text_field not in record else "has a non-string value in field"
        raise ArtifactError(f"{name}: line {number} {what} {text_field!r}", "text")
    return text, _label(record, label_field, name, number), number


def _label(record: dict[str, object], label_field: str | None, name: str, number: int) -> str | None:
    if label_field is None:
        return None
    if label_field not in record:
        raise ArtifactError(f"{name}: line {number} has no field {label_field!r}", "labels")
    value = record[label_field]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        kind = "a boolean" if isinstance(value, bool) else f"a JSON {type(value).__name__}"
        raise ArtifactError(f"{name}: line {number}: label {label_field!r} is {kind}; labels are strings or "
                            "integers", "labels")
    return str(value)


def _parquet_rows(path: Path, text_field: str, label_field: str | None) -> Iterator[tuple[str, str | None, int]]:
    parquet = _pyarrow_parquet()
    with path.open("rb") as handle:
        if handle.read(4) != b"PAR1":
            raise ArtifactError(f"{path.name} is not a Parquet file (no PAR1 magic)")
    try:
        reader = parquet.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError...: a damaged file, however it shows
        raise ArtifactError(f"{path.name} is not a readable Parquet file ({type(exc).__name__})") from None
    names = reader.schema_arrow.names
    for column, blame in ((text_field, "text"), (label_field, "labels")):
        if column is not None and column not in names:
            raise ArtifactError(f"{path.name} has no column {column!r} (it has {len(names)} columns)", blame)
    columns = [text_field] + ([label_field] if label_field else [])
    row = 0
    for batch in reader.iter_batches(batch_size=DEFAULT_BATCH, columns=columns):
        texts = batch.column(0).to_pylist()
        labels = batch.column(1).to_pylist() if label_field else [None] * len(texts)
        for text, label in zip(texts, labels, strict=True):
            row += 1
            if not isinstance(text, str):
                raise ArtifactError(f"{path.name}: row {row}: column {text_field!r} is not a string", "text")
            if label_field is not None and (isinstance(label, bool) or not isinstance(label, (str, int))):
                raise ArtifactError(f"{path.name}: row {row}: label column {label_field!r} holds no string or "
                                    "integer", "labels")
            yield text, None if label is None else str(label), row


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise ArtifactError("reading a Parquet text dataset needs pyarrow, which is not installed: install "
                            "riskframe's 'parquet' extra (pip install -e '.[parquet]')", "format") from None
    return parquet
