"""Parquet files read without trusting them: the footer checked first, then row groups in batches.

One door for every Parquet reader in riskframe (tables here, text corpora elsewhere): a file must
start and end with Parquet's magic bytes, its footer is parsed by pyarrow (which bounds the
footer's size and refuses malformed metadata), the columns asked for are checked by name against
its schema, and the rows are read in record batches of at most :data:`BATCH_ROWS`, so that what a
batch decodes stays small next to the arrays it fills. Every pyarrow error becomes an
:class:`~riskframe.errors.ArtifactError` that names the file and the error's kind, never the
file's bytes.

pyarrow is the ``parquet`` extra (``pip install 'riskframe[parquet]'``).

>>> with ParquetTable(Path("train.parquet")) as table:  # doctest: +SKIP
...     table.rows, table.names[:3]
(1000000, ['bill_length_mm', 'island', 'species'])
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from riskframe.errors import ArtifactError

MAGIC = b"PAR1"
BATCH_ROWS = 1 << 16


def pyarrow_module(field: str = "format") -> Any:
    """pyarrow, or an error naming the extra that installs it (blamed on the artifact's ``format``)."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ArtifactError("reading Parquet needs pyarrow, which is not installed: pip install "
                            "'riskframe[parquet]' (in a checkout: pip install -e '.[parquet]')", field) from None
    return pyarrow


class ParquetTable:
    """An open Parquet file: its column ``names``, their arrow ``types``, how many ``rows`` its
    footer declares, and its rows in batches. Use as a context manager.

    Raises
    ------
    ArtifactError
        Not a Parquet file (magic bytes), or a footer pyarrow cannot read (damaged, truncated).
    """

    def __init__(self, path: Path, field: str = "path") -> None:
        pa = pyarrow_module()
        self.path, self.field = path, field
        _check_magic(path, field)
        self._handle = path.open("rb")
        try:
            with arrow_errors(path, field):
                self._file = pa.parquet.ParquetFile(self._handle)
                schema = self._file.schema_arrow
        except BaseException:
            self._handle.close()
            raise
        self.names: list[str] = list(schema.names)
        self.types: dict[str, Any] = {f.name: f.type for f in schema}
        self.rows = int(self._file.metadata.num_rows)
        if self.rows < 0:  # a footer's row count is a signed integer the writer chose
            self._handle.close()
            raise ArtifactError(f"{path.name} is damaged: its footer declares {self.rows} rows", field)

    def __enter__(self) -> ParquetTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()

    def batches(self, columns: Sequence[str], batch_rows: int = BATCH_ROWS) -> Iterator[Any]:
        """The named columns, ``batch_rows`` rows at a time, in file order.

        Raises
        ------
        ArtifactError
            A row group cannot be read or decompressed (damaged), or holds more rows than the
            footer declares.
        """
        seen = 0
        with arrow_errors(self.path, self.field):
            for batch in self._file.iter_batches(batch_size=batch_rows, columns=list(columns), use_threads=False):
                seen += batch.num_rows
                if seen > self.rows:
                    raise ArtifactError(f"{self.path.name} is damaged: its row groups hold more rows than its footer "
                                        f"declares ({self.rows})", self.field)
                yield batch


def parquet_names(path: Path, field: str = "path") -> list[str]:
    """The column names of a Parquet file (its footer alone is read)."""
    with ParquetTable(path, field) as table:
        return table.names


def _check_magic(path: Path, field: str) -> None:
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(4)
        handle.seek(max(0, size - 4))
        tail = handle.read(4)
    if size < 12 or head != MAGIC or tail != MAGIC:
        raise ArtifactError(f"{path.name} is not a Parquet file (it does not start and end as one)", field)


@contextmanager
def arrow_errors(path: Path, field: str) -> Iterator[None]:
    """Turn pyarrow's errors while reading ``path`` into ArtifactErrors naming the kind of error."""
    try:
        yield
    except ArtifactError:
        raise
    except MemoryError:
        raise ArtifactError(f"{path.name} is damaged or too large to read: a part of it does not fit in memory",
                            field) from None
    except Exception as exc:  # pyarrow's ArrowInvalid, ArrowIOError, OSError, ValueError... on hostile bytes
        raise ArtifactError(f"{path.name} is damaged or not a Parquet file riskframe reads ({type(exc).__name__})",
                            field) from None
