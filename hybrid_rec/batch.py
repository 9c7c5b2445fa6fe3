"""Batch scoring of new users from CSV files: the job behind ``hybrid-rec score``.

Accounting rule: users read = users scored + users rejected. Every rejected
row (of the users file or the ratings file) is written to the rejects file
with its reason; a rejected rating row does not stop its user being scored.
A user left with nothing to recommend (their ratings cover the catalogue) is
a reject too, so every user is in the output or in the rejects. Both output
files are written completely before either is renamed into place.

Memory stays flat however long the files are, and neither file has to be
sorted: when the two files together exceed ``bucket_bytes``, both are read
in one streaming pass and spilled to temporary hash buckets by user id
(:mod:`hybrid_rec.spill`); each bucket is then checked and scored on its own
(:func:`~hybrid_rec.partition.score_partition`; all records of one user id
share a bucket, so duplicate ids and ratings for unknown users are found
exactly), and the per-bucket results, each sorted by input line, are merged
back into input order while the output is written. Peak memory is then set
by ``bucket_bytes``, not by the input size. Smaller inputs are scored in
one partition without spilling; the output is the same either way.
"""

from __future__ import annotations

import csv
import ctypes
import functools
import gc
import logging
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import atomic_text
from .exceptions import InputDataError
from .inputs import Reject, rating_columns, rating_records, user_columns, user_records
from .partition import RECOMMENDATION_COLUMNS, score_partition, write_recommendations
from .progress import progress
from .spill import BucketSpill, merge_runs, read_bucket

__all__ = ["BUCKET_BYTES", "BatchReport", "check_output_paths", "default_rejects_path",
           "score_files"]

logger = logging.getLogger(__name__)

# Input bytes (users + ratings file) per bucket; sets peak memory of a run.
BUCKET_BYTES = 8 * 2**20
# Most buckets (each has two spill files open while spilling); beyond
# MAX_BUCKETS * BUCKET_BYTES of input, buckets grow instead.
MAX_BUCKETS = 256
# Rejects kept in BatchReport.rejects; the rejects file always has all of them.
KEPT_REJECTS = 1000


@dataclass
class BatchReport:
    """Counts of one batch run.

    ``rejects`` holds the first ``KEPT_REJECTS`` rejected rows (the rejects
    file lists every one); ``rows_rejected`` counts them all.
    """

    users_read: int = 0
    users_scored: int = 0
    users_rejected: int = 0
    ratings_read: int = 0
    ratings_used: int = 0
    ratings_rejected: int = 0
    rejects: list[Reject] = field(default_factory=list)
    seconds: float = 0.0
    buckets: int = 1

    @property
    def rows_rejected(self) -> int:
        return self.users_rejected + self.ratings_rejected

    @property
    def partial(self) -> bool:
        return self.rows_rejected > 0

    def summary(self) -> str:
        text = (f"users read: {self.users_read}, scored: {self.users_scored}, "
                f"rejected: {self.users_rejected}")
        if self.ratings_read:
            text += (f"; rating rows read: {self.ratings_read}, used: {self.ratings_used}, "
                     f"rejected: {self.ratings_rejected}")
        return text

    def add(self, result) -> None:
        """Add the counts of one :class:`~hybrid_rec.partition.PartitionResult`."""
        for name in ("users_read", "users_scored", "users_rejected", "ratings_read",
                     "ratings_used", "ratings_rejected"):
            setattr(self, name, getattr(self, name) + getattr(result, name))
        room = KEPT_REJECTS - len(self.rejects)
        if room > 0:
            self.rejects.extend(result.rejects[:room])


def check_output_paths(out: str | Path, rejects: str | Path, inputs,
                       out_is_folder: bool = False) -> None:
    """Refuse an output that is the other output or one of the ``inputs`` files.

    Either would be overwritten without a word: the rejects lost under the
    recommendations, or an input file replaced by an output. An output
    folder (``out_is_folder``) is replaced whole, so it must not hold an input.
    """
    out_path, rejects_path = Path(os.path.realpath(out)), Path(os.path.realpath(rejects))
    if out_path == rejects_path:
        raise InputDataError(f"the rejects file and the output are the same file ({out}); "
                             "give --rejects another name")
    for source in (s for s in inputs if s is not None):
        source_path = Path(os.path.realpath(source))
        if out_is_folder and source_path.is_relative_to(out_path):
            raise InputDataError(f"the output folder {out} holds the input file {source}, "
                                 "and replacing the folder would delete it")
        for target, option in ((out_path, "the output"), (rejects_path, "the rejects file")):
            if target == source_path:
                raise InputDataError(f"{option} would overwrite the input file {source}")


def default_rejects_path(out: str | Path) -> Path:
    """``recs.csv`` -> ``recs.rejects.csv``, next to the output."""
    out = Path(out)
    return out.with_name(f"{out.stem}.rejects.csv")


def score_files(model, users: str | Path, out: str | Path, ratings: str | Path | None = None,
                rejects: str | Path | None = None, k: int = 10, fold_in: bool = True,
                delimiter: str | None = None, encoding: str | None = None,
                explain: int = 0, *, bucket_bytes: int = BUCKET_BYTES,
                show_progress: bool | None = None) -> BatchReport:
    """Score the new users of a CSV file and write their top-k lists.

    Parameters
    ----------
    model : HybridRecommender
        A fitted (or loaded) model.
    users : path
        CSV with the spec's user id column and user metadata columns.
    out : path
        Output CSV in long format: user_id, rank, item_id, score[, title],
        users in input order.
    ratings : path, optional
        CSV of the new users' ratings in long format (the spec's user, item
        and rating columns), in any order.
    rejects : path, optional
        Where to list rejected rows; default ``<out stem>.rejects.csv``.
    k : int
        Length of each list.
    fold_in : bool
        Use the ratings to refine each user's vector; with False they only
        exclude the rated items.
    delimiter, encoding : str, optional
        Of both input files; None detects the delimiter from each header and
        reads UTF-8 (see :mod:`hybrid_rec.csvformat`).
    explain : int
        With N > 0, add an ``explanation`` column: the N user features and
        rated items that add most to each score (see
        :func:`hybrid_rec.explain.explanation_column`).
    bucket_bytes : int
        Input bytes per temporary bucket: the knob for peak memory.
    show_progress : bool or None
        Progress bar of users scored; None shows it only on a terminal.

    Returns
    -------
    BatchReport
    """
    started = time.perf_counter()
    model._check_fitted()
    rejects = Path(rejects) if rejects is not None else default_rejects_path(out)
    check_output_paths(out, rejects, (users, ratings))
    n_items = len(model.item_ids_)
    if k > n_items:
        logger.warning("k = %d is more than the %d items of the catalogue: each list holds "
                       "every item its user has not rated", k, n_items)
    size = _size(users) + (_size(ratings) if ratings is not None else 0)
    n_buckets = min(MAX_BUCKETS, max(1, math.ceil(size / max(1, bucket_bytes))))
    job = _Job(model, Path(users), None if ratings is None else Path(ratings), k, fold_in,
               delimiter, encoding, explain, show_progress)
    if n_buckets == 1:
        report = job.in_memory(Path(out), rejects)
    else:
        with tempfile.TemporaryDirectory(prefix=".hybrid-rec-spill-",
                                         dir=Path(out).resolve().parent) as folder:
            report = job.bucketed(Path(folder), n_buckets, Path(out), rejects)
    report.seconds = time.perf_counter() - started
    logger.info("scored %d user(s) in %.2f s (%d bucket(s))", report.users_scored,
                report.seconds, report.buckets)
    return report


def _size(path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0  # the reader reports a missing or unreadable file with its name


@dataclass
class _Job:
    model: object
    users: Path
    ratings: Path | None
    k: int
    fold_in: bool
    delimiter: str | None
    encoding: str | None
    explain: int
    show_progress: bool | None

    def _bar(self):
        return progress(enabled=self.show_progress, desc="scoring", unit=" users")

    def in_memory(self, out: Path, rejects: Path) -> BatchReport:
        """Small inputs: one partition, no spill files."""
        spec = self.model.spec_
        users_in = user_records(self.users, spec, self.delimiter, self.encoding)
        ratings_in = (rating_records(self.ratings, spec, self.delimiter, self.encoding)
                      if self.ratings is not None else None)
        with self._bar() as bar:
            result = score_partition(self.model, users_in, ratings_in, k=self.k,
                                     fold_in=self.fold_in, explain=self.explain)
            bar.update(result.users_read)
        report = BatchReport()
        report.add(result)
        # Both files are complete before either is renamed into place.
        with atomic_text(out) as fh, atomic_text(rejects) as bad:
            write_recommendations(fh, result.recommendations)
            writer = csv.writer(bad, lineterminator="\n")
            writer.writerow(Reject.FIELDS)
            writer.writerows(r.row() for r in result.rejects)
        return report

    def bucketed(self, folder: Path, n_buckets: int, out: Path, rejects: Path) -> BatchReport:
        """Large inputs: spill by user id, score bucket by bucket, merge by line."""
        spec = self.model.spec_
        ucols, rcols = user_columns(spec), rating_columns(spec)
        with BucketSpill(folder, "users", n_buckets, ucols, spec.users.id) as spill:
            spill.add(user_records(self.users, spec, self.delimiter, self.encoding))
        user_buckets = spill.paths
        rating_buckets = [None] * n_buckets
        if self.ratings is not None:
            with BucketSpill(folder, "ratings", n_buckets, rcols,
                             spec.interactions.user) as spill:
                spill.add(rating_records(self.ratings, spec, self.delimiter, self.encoding))
            rating_buckets = spill.paths
        logger.debug("spilled the input into %d bucket(s) under %s", n_buckets, folder)
        report = BatchReport(buckets=n_buckets)
        runs = {"recs": [], "user_rejects": [], "rating_rejects": []}
        with self._bar() as bar:
            for b in range(n_buckets):
                users_in = read_bucket(user_buckets[b], str(self.users), ucols)
                ratings_in = (read_bucket(rating_buckets[b], str(self.ratings), rcols)
                              if rating_buckets[b] is not None else None)
                result = score_partition(self.model, users_in, ratings_in, k=self.k,
                                         fold_in=self.fold_in, explain=self.explain)
                report.add(result)
                _write_runs(folder, b, result, runs)
                bar.update(result.users_read)
                del users_in, ratings_in, result
                release_memory()
        columns = list(RECOMMENDATION_COLUMNS[:4])
        if self.model.item_titles_ is not None:
            columns.append(RECOMMENDATION_COLUMNS[4])
        if self.explain:
            columns.append("explanation")
        with atomic_text(out) as fh, atomic_text(rejects) as bad:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows(row[1:] for row in merge_runs(runs["recs"]))
            writer = csv.writer(bad, lineterminator="\n")
            writer.writerow(Reject.FIELDS)
            for kind in ("user_rejects", "rating_rejects"):
                writer.writerows(merge_runs(runs[kind], line_column=1))
        return report


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the operating system.

    A bucket's records and frames are freed before the next bucket is read,
    but glibc's allocator keeps most freed pages mapped, so without this the
    resident size creeps up bucket after bucket (measured: by about a
    quarter over ten buckets) although the live data does not grow. ``malloc_trim``
    is glibc's; elsewhere only the garbage collection runs.
    """
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, TypeError):
        return None


def _write_runs(folder: Path, bucket: int, result, runs: dict) -> None:
    """One bucket's recommendations and rejects as runs sorted by input line."""
    path = folder / f"recs-{bucket:04d}.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        write_recommendations(fh, result.recommendations.assign(line=result.lines)[
            ["line"] + list(result.recommendations.columns)], header=False)
    runs["recs"].append(path)
    for kind in ("user_rejects", "rating_rejects"):
        path = folder / f"{kind}-{bucket:04d}.csv"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(r.row() for r in
                                                            getattr(result, kind))
        runs[kind].append(path)
