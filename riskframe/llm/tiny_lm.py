"""A tiny byte-level language model: an interpolated n-gram model over UTF-8 bytes.

It exists so that riskframe's probes can be shown to work on a real language model without
downloading weights: trained on a few thousand records in well under a second on a CPU, it
memorises sequences it saw often enough, the way large models memorise repeated training data
(Carlini et al., "The Secret Sharer", 2019), and forgets nothing it was not shown. The examples,
the tests and the benchmarks train it; it is no model to deploy.

Model: for each context length k = 0..order-1, the counts of (k preceding bytes, next byte),
smoothed by Witten-Bell interpolation with the shorter context, down to add-one unigrams. Each
record is trained on its own (preceded by ``order - 1`` NUL bytes, followed by a newline), so no
context spans two records. Counts are kept as sorted uint64 keys ``context * 256 + byte`` and
looked up with binary search, so scoring thousands of candidates is a handful of numpy calls.

Saved as an ``.npz`` written without timestamps (the same model gives the same bytes, so a
pipeline can pin its digest), and loaded with ``allow_pickle=False``.

>>> model = ByteNgramLM.train(["the vault code is 493817"] * 5 + ["hello world"] * 50, order=8)
>>> model.complete("the vault code is ", max_tokens=10)
'493817'
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_ORDER = 8  # context keys are (order - 1) bytes + 1 byte in a uint64
_PAD = 0  # NUL: never in text, marks the start of a record
_END = ord("\n")


@dataclass(frozen=True)
class _Order:
    """Counts for one context length: sorted keys (context * 256 + byte) and their counts, and per
    context (sorted): its total count and how many distinct bytes follow it."""

    keys: np.ndarray
    counts: np.ndarray
    contexts: np.ndarray
    totals: np.ndarray
    distinct: np.ndarray


class ByteNgramLM:
    """An interpolated (Witten-Bell) byte n-gram language model.

    Parameters
    ----------
    order
        Context length plus one (2..8).
    orders
        Per context length 1..order-1, the count tables; ``unigram`` the byte counts.
    """

    def __init__(self, order: int, unigram: np.ndarray, orders: Sequence[_Order]) -> None:
        self.order = order
        self.unigram = unigram
        self._unigram_p = (unigram + 1.0) / (unigram.sum() + 256.0)
        self._orders = tuple(orders)

    # Training --------------------------------------------------------------------------------

    @classmethod
    def train(cls, texts: Iterable[str], order: int = 8) -> ByteNgramLM:
        """Count every (context, next byte) of ``texts``, each text on its own."""
        if not 2 <= order <= MAX_ORDER:
            raise ValueError(f"order must be in [2, {MAX_ORDER}]. Got {order} instead.")
        pad = bytes([_PAD]) * (order - 1)
        stream = b"".join(pad + text.encode("utf-8") + b"\n" for text in texts)
        data = np.frombuffer(stream, dtype=np.uint8)
        targets = np.flatnonzero(data != _PAD)  # every byte but the padding is predicted
        targets = targets[targets >= order - 1]
        unigram = np.bincount(data[targets], minlength=256).astype(np.float64)
        orders = [_count(data, targets, k) for k in range(1, order)]
        return cls(order, unigram, orders)

    # Inference -------------------------------------------------------------------------------

    def log_probs(self, histories: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Natural-log probability of ``targets[i]`` after ``histories[i]`` ((m, order-1) bytes)."""
        p = self._unigram_p[targets]
        for k, table in enumerate(self._orders, start=1):
            context = _context_ids(histories[:, -k:])
            found, index = _lookup(table.contexts, context)
            total = np.where(found, table.totals[np.minimum(index, len(table.totals) - 1)], 0)
            distinct = np.where(found, table.distinct[np.minimum(index, len(table.distinct) - 1)], 0)
            hit, at = _lookup(table.keys, context * np.uint64(256) + targets.astype(np.uint64))
            count = np.where(hit, table.counts[np.minimum(at, len(table.counts) - 1)], 0)
            mixed = (count + distinct * p) / np.maximum(total + distinct, 1)
            p = np.where(found, mixed, p)
        return np.log(p)  # type: ignore[no-any-return]

    def next_byte_log_probs(self, history: bytes) -> np.ndarray:
        """Log-probabilities of the 256 possible next bytes."""
        row = np.frombuffer(self._history(history), dtype=np.uint8)
        return self.log_probs(np.repeat(row[None, :], 256, axis=0), np.arange(256, dtype=np.uint8))

    def complete(self, prompt: str, max_tokens: int = 64) -> str:
        """Greedy continuation of ``prompt``: up to ``max_tokens`` bytes, stopping at a newline."""
        history = prompt.encode("utf-8")
        out = bytearray()
        for _ in range(max_tokens):
            byte = int(np.argmax(self.next_byte_log_probs(history + bytes(out))))
            if byte in (_END, _PAD):
                break
            out.append(byte)
        return out.decode("utf-8", errors="replace")

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        """Log-probability (nats) of each continuation after ``prompt``, byte by byte."""
        head = prompt.encode("utf-8")
        out = []
        for text in continuations:
            out.append(float(self.sequence_log_probs(head, text.encode("utf-8")).sum()))
        return out

    def sequence_log_probs(self, prompt: bytes, continuation: bytes) -> np.ndarray:
        """Log-probability of each byte of ``continuation`` after ``prompt`` and the bytes before it."""
        full = np.frombuffer(self._history(b"") + prompt + continuation, dtype=np.uint8)
        start = self.order - 1 + len(prompt)
        positions = np.arange(start, len(full))
        windows = np.lib.stride_tricks.sliding_window_view(full, self.order - 1)[positions - (self.order - 1)]
        return self.log_probs(windows, full[positions])

    def _history(self, text: bytes) -> bytes:
        padded = bytes([_PAD]) * (self.order - 1) + text
        return padded[len(padded) - (self.order - 1):]

    # Files -----------------------------------------------------------------------------------

    def save(self, path: Path) -> Path:
        """Write an ``.npz`` whose bytes depend on the model only (no timestamps)."""
        arrays = {"order": np.array([self.order], dtype=np.int64), "unigram": self.unigram}
        for k, table in enumerate(self._orders, start=1):
            arrays[f"keys_{k}"], arrays[f"counts_{k}"] = table.keys, table.counts
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, buffer.getvalue())
        return path

    @classmethod
    def load(cls, path: Path) -> ByteNgramLM:
        """Read a model :meth:`save` wrote (never unpickling anything)."""
        with np.load(path, allow_pickle=False) as arrays:
            order = int(arrays["order"][0])
            if not 2 <= order <= MAX_ORDER:
                raise ValueError(f"{Path(path).name}: not a tiny byte-level model (order {order})")
            tables = [_table(arrays[f"keys_{k}"].astype(np.uint64), arrays[f"counts_{k}"].astype(np.float64))
                      for k in range(1, order)]
            return cls(order, arrays["unigram"].astype(np.float64), tables)


def load(weights: str | Path) -> ByteNgramLM:
    """The python adapter's entry point: ``entry: riskframe.llm.tiny_lm:load``."""
    return ByteNgramLM.load(Path(weights))


def _count(data: np.ndarray, targets: np.ndarray, k: int) -> _Order:
    windows = np.stack([data[targets - k + j] for j in range(k)], axis=1)
    keys = _context_ids(windows) * np.uint64(256) + data[targets].astype(np.uint64)
    unique, counts = np.unique(keys, return_counts=True)
    return _table(unique, counts.astype(np.float64))


def _table(keys: np.ndarray, counts: np.ndarray) -> _Order:
    contexts, first, distinct = np.unique(keys >> np.uint64(8), return_index=True, return_counts=True)
    totals = np.add.reduceat(counts, first) if len(counts) else counts
    return _Order(keys, counts, contexts, totals, distinct.astype(np.float64))


def _context_ids(windows: np.ndarray) -> np.ndarray:
    ids = np.zeros(windows.shape[0], dtype=np.uint64)
    for j in range(windows.shape[1]):
        ids = ids * np.uint64(256) + windows[:, j].astype(np.uint64)
    return ids


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    index = np.searchsorted(sorted_keys, keys)
    inside = index < len(sorted_keys)
    found = inside & (sorted_keys[np.minimum(index, max(len(sorted_keys) - 1, 0))] == keys) if len(sorted_keys) \
        else np.zeros(len(keys), dtype=bool)
    return found, index
