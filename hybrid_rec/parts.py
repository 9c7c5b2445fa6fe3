"""The part files of a partitioned output: staged beside the target, then moved or merged.

Workers write one part file per partition into a staging folder beside the
output. When every part is written the folder replaces the output folder
(readers see the old folder or the new one), or the parts, keyed by
(file index, line), are merged into one file in input order.
"""

from __future__ import annotations

import contextlib
import csv
import heapq
import os
import shutil
import uuid
from pathlib import Path

from .atomic import atomic_text
from .exceptions import InputDataError
from .inputs import Reject

__all__ = ["check_out", "install_folder", "merge_parts", "part_name", "staging",
           "write_rejects"]


def part_name(partition: int) -> str:
    return f"part-{partition:05d}.csv"


def write_rejects(path: Path, rejects: list[Reject]) -> None:
    with atomic_text(path) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(Reject.FIELDS)
        writer.writerows(r.row() for r in rejects)


def check_out(out: Path, single_file: bool) -> None:
    if single_file and out.is_dir():
        raise InputDataError(f"{out} is a folder; give a file name for a single output file")
    if not single_file and out.exists() and not out.is_dir():
        raise InputDataError(f"{out} is a file; partitioned output needs a folder (or ask "
                             "for a single file)")


@contextlib.contextmanager
def staging(out: Path):
    """A fresh folder beside ``out`` for the part files; removed unless moved into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.parts-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def install_folder(staging: Path, out: Path) -> None:
    """Replace ``out`` by the finished part folder: readers see the old or the new folder."""
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:12]}"
        os.replace(out, old)
        os.replace(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, out)


def merge_parts(staging: Path, n_parts: int, out: Path) -> None:
    """Merge keyed part files into one CSV in input order, streaming, atomically."""
    with contextlib.ExitStack() as stack:
        readers = []
        for p in range(n_parts):
            fh = stack.enter_context(open(staging / part_name(p), encoding="utf-8",
                                          newline=""))
            reader = csv.reader(fh)
            header = next(reader)
            readers.append(reader)
        rows = heapq.merge(*readers, key=lambda row: (int(row[0]), int(row[1])))
        with atomic_text(out) as dest:
            writer = csv.writer(dest, lineterminator="\n")
            writer.writerow(header[2:])
            writer.writerows(row[2:] for row in rows)
