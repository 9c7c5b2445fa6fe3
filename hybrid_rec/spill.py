"""Temporary hash buckets and sorted runs: how batch scoring keeps memory flat.

Records are spilled to ``n`` bucket files by a stable hash of their user id
(CRC-32 of its UTF-8 text), so every record of one user id, from either
input file, lands in the same bucket and a bucket can be checked and scored
on its own (see :mod:`hybrid_rec.partition`). Results are written per bucket
as runs sorted by input line; :func:`merge_runs` streams them back in input
order. Spill files are CSV text, read back with the ``csv`` module.
"""

from __future__ import annotations

import csv
import heapq
import zlib
from contextlib import ExitStack
from pathlib import Path
from typing import Iterable, Iterator

from .inputs import Record

__all__ = ["BucketSpill", "bucket_of", "merge_runs", "read_bucket"]


def bucket_of(user_id: str, n_buckets: int) -> int:
    """The bucket of a user id: the same on every run, machine and Python."""
    return zlib.crc32(user_id.encode("utf-8")) % n_buckets


class BucketSpill:
    """Writes the records of one input file into ``n_buckets`` files under ``folder``.

    Each spilled row is ``line, problem, cell...`` with the cells of
    ``columns`` in order (a cell the record lacks is written blank).
    """

    def __init__(self, folder: Path, name: str, n_buckets: int, columns: list[str],
                 key: str):
        self.paths = [folder / f"{name}-{b:04d}.csv" for b in range(n_buckets)]
        self.columns, self.key = columns, key
        self._stack = ExitStack()
        self._writers = [csv.writer(self._stack.enter_context(
            open(p, "w", encoding="utf-8", newline="")), lineterminator="\n")
            for p in self.paths]

    def add(self, records: Iterable[Record]) -> int:
        """Spill ``records``; returns how many there were."""
        n = len(self._writers)
        count = 0
        for record in records:
            cells = record.cells
            row = [record.line, record.problem or ""] + [cells.get(c, "") for c in self.columns]
            self._writers[bucket_of(cells.get(self.key, ""), n)].writerow(row)
            count += 1
        return count

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> "BucketSpill":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_bucket(path: Path, file_name: str, columns: list[str]) -> Iterator[Record]:
    """Stream the records spilled to one bucket file, in input order."""
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            yield Record(file_name, int(row[0]), dict(zip(columns, row[2:])), row[1] or None)


def merge_runs(paths: Iterable[Path], line_column: int = 0) -> Iterator[list[str]]:
    """Rows of CSV runs, each sorted by the integer in ``line_column``, merged in order.

    Rows with equal lines keep run order, and within a run their own order.
    """
    with ExitStack() as stack:
        readers = [csv.reader(stack.enter_context(open(p, encoding="utf-8", newline="")))
                   for p in paths]
        yield from heapq.merge(*readers, key=lambda row: int(row[line_column]))
