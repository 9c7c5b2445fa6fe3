"""Cutting CSV and Parquet datasets into blocks that are read independently.

A dataset is one file, a glob pattern or a folder of partition files, all
CSV or all Parquet. A CSV file is cut into byte ranges of about
``blocksize`` bytes, each ending just after a ``\\n``; a Parquet file into its
row groups. Blocks are read on their own (on any machine) into
:class:`Parsed` tables of text cells, ready to be shuffled by user id.

Line numbers are exact. A CSV block counts its lines the way the ``csv``
module does (``\\n``, ``\\r\\n`` or a lone ``\\r`` ends a line), reports them
relative to its start, and the caller adds the lines of the blocks before
it. A quoted field may hold line breaks, so a block boundary can fall
inside a record. Read from a true record start, a block sees this: its
last record is still open at the boundary. It then reads on past its end
until the record closes and reports where it stopped (``end``); the next
block, which began at a wrong place, is read again from there
(:func:`reread`). Rows of a Parquet file are numbered from 1 in file order;
there is no header line.

Each CSV block carries its file's delimiter and text encoding (given, or
detected from the header by :mod:`hybrid_rec.csvformat`). Cutting at a
``\\n`` byte is safe only where that byte is always a line break: UTF-8 and
the encodings that keep ASCII as it is (Latin-1, cp1252, ...). A file in
any other encoding (UTF-16, ...) is read as one block.
"""

from __future__ import annotations

import codecs
import csv
import glob
import io
import itertools
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .csvformat import CsvFormat
from .exceptions import InputDataError

__all__ = ["Block", "Parsed", "dataset_files", "plan_blocks", "read_block", "reread"]

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
PROBLEM = "_problem"
FILE = "_file"
LINE = "_line"
PART = "_part"
_SCAN = 1 << 16


@dataclass(frozen=True)
class Block:
    """One independently readable piece of a dataset file.

    For CSV, ``start`` and ``stop`` are byte offsets; unless ``exact``, each
    is moved forward to just after the next ``\\n``, and ``csv_format`` says how to
    read the file. For Parquet, ``start`` is the row group and
    ``rows_before`` the rows of the groups before it.
    """

    file: str
    file_index: int
    fmt: str
    start: int
    stop: int
    exact: bool = False
    rows_before: int = 0
    csv_format: CsvFormat = field(default_factory=CsvFormat)


@dataclass
class Parsed:
    """A block read into a table: one row per non-blank record.

    ``frame`` has the partition number, the file index, the line (relative
    to the block for CSV: add the lines of the blocks before it), the
    problem of a record with the wrong number of fields, and one text
    column per needed input column (None where a short record has no
    value). ``error`` is (relative line, message) when the block cannot be
    used; ``n_lines`` counts the lines read, ``start`` and ``end`` the bytes.
    """

    start: int
    stop: int
    end: int
    n_lines: int
    error: tuple[int, str] | None = None
    frame: pd.DataFrame | None = field(default=None, repr=False)

    def summary(self) -> "Parsed":
        """The same without the table (cheap to send back to the client)."""
        return replace(self, frame=None)


def dataset_files(source: str | Path, what: str) -> tuple[list[Path], str]:
    """The files of a dataset and their format ("csv" or "parquet").

    ``source`` is a file, a glob pattern or a folder (searched recursively;
    names starting with ``.`` or ``_`` are skipped, as are files of other
    formats). Files are taken in sorted order: that order is the dataset's.
    """
    text = str(source)
    path = Path(text)
    if path.is_dir():
        files = [p for p in sorted(path.rglob("*")) if p.is_file() and _is_data(p, path)]
        if not files:
            raise InputDataError(f"{path}: the {what} folder holds no .csv or .parquet files")
    elif glob.has_magic(text):
        files = [Path(p) for p in sorted(glob.glob(text, recursive=True)) if Path(p).is_file()]
        if not files:
            raise InputDataError(f"{text}: no {what} file matches this pattern")
    elif path.is_file():
        files = [path]
    else:
        raise InputDataError(f"{path}: file not found")
    formats = {_format(p) for p in files}
    if len(formats) > 1:
        raise InputDataError(f"{text}: the {what} dataset mixes CSV and Parquet files; "
                             "give one format")
    return files, formats.pop()


def _is_data(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    if any(p.startswith((".", "_")) for p in parts):
        return False
    return path.suffix.lower() in CSV_SUFFIXES + PARQUET_SUFFIXES


def _format(path: Path) -> str:
    return "parquet" if path.suffix.lower() in PARQUET_SUFFIXES else "csv"


def plan_blocks(files: list[Path], fmt: str, blocksize: int | None,
                formats: list[CsvFormat] | None = None) -> list[Block]:
    """Blocks of every file, in dataset order; ``blocksize=None`` keeps files whole.

    ``formats`` gives each CSV file's delimiter and encoding (default: ``,``
    and UTF-8); a file whose encoding does not keep ASCII bytes as they are
    is one block.
    """
    blocks = []
    for index, path in enumerate(files):
        if fmt == "parquet":
            blocks.extend(_parquet_blocks(path, index))
            continue
        how = formats[index] if formats is not None else CsvFormat()
        size = os.path.getsize(path)
        whole = not blocksize or not _keeps_ascii(how.encoding)
        step = size if whole else int(blocksize)
        starts = list(range(0, size, max(step, 1))) or [0]
        for start in starts:
            blocks.append(Block(str(path), index, fmt, start, min(start + step, size),
                                csv_format=how))
    return blocks


def _keeps_ascii(encoding: str) -> bool:
    """Whether ``encoding`` writes every ASCII character as its one ASCII byte."""
    text = "".join(map(chr, range(128)))
    try:
        encoder = codecs.getincrementalencoder(encoding)()
        encoder.encode(" ")  # past a byte-order mark, which only starts a file
        return encoder.encode(text) == text.encode("ascii")
    except (UnicodeError, LookupError):
        return False


def _parquet_blocks(path: Path, index: int) -> list[Block]:
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    blocks, before = [], 0
    for group in range(meta.num_row_groups):
        blocks.append(Block(str(path), index, "parquet", group, group + 1, rows_before=before))
        before += meta.row_group(group).num_rows
    return blocks


def read_block(block: Block, header: list[str] | None, columns: list[str], id_column: str,
               partitions: int) -> Parsed:
    """Read one block into a :class:`Parsed` table.

    Parameters
    ----------
    block : Block
    header : list of str or None
        The CSV file's header (stripped); None for Parquet.
    columns : list of str
        The input columns to keep.
    id_column : str
        The user id column; rows are assigned to one of ``partitions``
        partitions by a hash of its text, the same on every machine.

    A CSV block is read in the delimiter and encoding of ``block.csv_format``.
    """
    if block.fmt == "parquet":
        return _read_parquet(block, columns, id_column, partitions)
    return _read_csv(block, header, columns, id_column, partitions)


def reread(block: Block, start: int) -> Block:
    """The rest of ``block`` from ``start``, a known record start."""
    return replace(block, start=start, exact=True)


def _snap(fh, pos: int, size: int) -> int:
    """The offset just after the first ``\\n`` at or after ``pos - 1`` (or the file's end)."""
    if pos <= 0 or pos >= size:
        return max(0, min(pos, size))
    fh.seek(pos - 1)
    while True:
        chunk = fh.read(_SCAN)
        if not chunk:
            return size
        at = chunk.find(b"\n")
        if at >= 0:
            return fh.tell() - len(chunk) + at + 1


def _read_csv(block, header, columns, id_column, partitions) -> Parsed:
    size = os.path.getsize(block.file)
    how = block.csv_format
    with open(block.file, "rb") as fh:
        start = block.start if block.exact else _snap(fh, block.start, size)
        stop = max(start, _snap(fh, block.stop, size))
        fh.seek(start)
        data = fh.read(stop - start)
        try:
            text = data.decode(_codec(how.encoding, start))
        except UnicodeDecodeError as e:
            line = _count_lines(data[:e.start]) + 1
            return Parsed(start, stop, stop, 0, (line, _not_decodable(how.encoding, e.reason)))
        lines = io.StringIO(text, newline="").readlines()
        extra = _Following(fh, stop, _codec(how.encoding, stop))
        records, n_lines, error = _records(lines, extra, header, start == 0, how)
    if extra.bad:
        error = (n_lines + 1, _not_decodable(how.encoding, extra.bad))
    frame = _frame(records, header, columns, id_column, partitions, block.file_index)
    return Parsed(start, stop, stop + extra.consumed, n_lines, error, frame)


def _codec(encoding: str, at: int) -> str:
    """The codec for bytes from offset ``at``: a UTF-8 byte-order mark only at the start."""
    return "utf-8" if encoding == "utf-8-sig" and at > 0 else encoding


def _not_decodable(encoding: str, reason: str) -> str:
    """Why bytes that ``encoding`` cannot decode stop the read, as the file reader says it."""
    if encoding == "utf-8-sig":
        return (f"not valid UTF-8 ({reason}); save the file as UTF-8 or give its encoding "
                "(--encoding latin-1)")
    return f"not valid {encoding} ({reason}); give the file's real encoding"


def _count_lines(data: bytes) -> int:
    """Line breaks in ``data`` as the ``csv`` module counts them."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


class _Following:
    """Lines after a block's end, read only while its last record is still open."""

    def __init__(self, fh, stop: int, codec: str):
        self.fh, self.stop, self.consumed, self.codec = fh, stop, 0, codec
        self.bad = None
        self._text = None

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self._text is None:
            self.fh.seek(self.stop)
            self._text = io.TextIOWrapper(self.fh, encoding=self.codec, newline="")
        try:
            line = self._text.readline()
        except UnicodeDecodeError as e:
            self.bad = e.reason
            raise StopIteration from None
        if not line:
            raise StopIteration
        self.consumed += len(line.encode(self.codec))
        return line


def _records(lines, extra, header, has_header, how: CsvFormat):
    """(records as (relative line, fields), lines read, error) of one CSV block."""
    n_block = len(lines)
    records, error = [], None
    if n_block == 0:
        return records, 0, None
    reader = how.reader(itertools.chain(lines, extra))
    line, skip = 1, has_header
    try:
        for fields in reader:
            if skip:
                skip = False
            elif any(f.strip() for f in fields):
                records.append((line, fields))
            line = reader.line_num + 1
            if reader.line_num >= n_block:
                break
    except csv.Error as e:
        error = (reader.line_num, f"malformed CSV: {e}")
    return records, max(n_block, reader.line_num), error


def _frame(records, header, columns, id_column, partitions, file_index) -> pd.DataFrame:
    """The table of a block's records: the same cells and problems as the file reader."""
    width = len(header)
    where = {c: header.index(c) for c in columns}
    data = {c: [] for c in columns}
    problems, lines = [], []
    for line, fields in records:
        lines.append(line)
        n = len(fields)
        problems.append(None if n == width else f"expected {width} fields, found {n}")
        for c, i in where.items():
            data[c].append(fields[i].strip() if i < n else None)
    return _table(data, problems, lines, columns, id_column, partitions, file_index)


def _table(data, problems, lines, columns, id_column, partitions, file_index):
    ids = np.array([v or "" for v in data[id_column]], dtype=object)
    frame = pd.DataFrame({
        PART: partition_of(ids, partitions),
        FILE: np.full(len(lines), file_index, dtype=np.int64),
        LINE: np.asarray(lines, dtype=np.int64),
        PROBLEM: pd.Series(problems, dtype=object),
    })
    for c in columns:
        frame[c] = pd.Series(data[c], dtype=object)
    return frame


def partition_of(ids: np.ndarray, partitions: int) -> np.ndarray:
    """The partition of each user id (text): a fixed hash, the same in every process."""
    if len(ids) == 0:
        return np.zeros(0, dtype=np.int64)
    hashes = pd.util.hash_array(np.asarray(ids, dtype=object), categorize=False)
    return (hashes % np.uint64(partitions)).astype(np.int64)


def _read_parquet(block, columns, id_column, partitions) -> Parsed:
    import pyarrow.parquet as pq

    table = pq.ParquetFile(block.file).read_row_group(block.start, columns=columns)
    n = table.num_rows
    data = {c: [_text(v) for v in table.column(c).to_pylist()] for c in columns}
    lines = np.arange(block.rows_before + 1, block.rows_before + n + 1)
    frame = _table(data, [None] * n, lines, columns, id_column, partitions, block.file_index)
    return Parsed(block.start, block.stop, block.stop, 0, None, frame)


def _text(value) -> str:
    """A Parquet cell as the text a CSV file would hold (missing values blank)."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def read_header(path: Path, fmt: str, how: CsvFormat | None = None) -> list[str] | None:
    """The stripped header of a CSV file (None for Parquet), read as ``how`` says."""
    if fmt == "parquet":
        return None
    how = how or CsvFormat()
    with how.open(path) as fh:
        return [h.strip() for h in next(how.reader(fh))]


def parquet_columns(path: Path) -> list[str]:
    """The column names of a Parquet file."""
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)
