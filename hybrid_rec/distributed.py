"""Batch scoring on a Dask cluster: the engine behind ``hybrid-rec score --engine dask``.

The plan, for a users dataset and optionally a ratings dataset (each a CSV or
Parquet file, a glob or a folder of partition files):

1. The client checks every file's header, finds each CSV file's delimiter
   and encoding (given, or detected as by :mod:`hybrid_rec.csvformat`) and
   cuts the files into blocks (:mod:`hybrid_rec.blocks`).
2. The model file's bytes go to every worker once, in a worker plugin that
   loads them with :func:`hybrid_rec.persistence.load_model` (no pickle).
3. Workers read the blocks; the client turns their relative line numbers
   into file line numbers, in file order.
4. Users and ratings are shuffled into the same partitions by a hash of the
   user id (co-partitioning), with Dask's shuffle.
5. Each partition is checked and scored (and, if asked, explained) by
   :func:`hybrid_rec.partition.score_partition` and written as one part file.
6. The client writes the rejects file, then moves the part folder into
   place, or merges the parts into one file in input order.

Lists, scores and rejects equal those of :func:`hybrid_rec.batch.score_files`
on the same rows. Paths must name the same files on the client and on every
worker (a shared filesystem).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from .atomic import atomic_text
from .batch import KEPT_REJECTS, BatchReport, check_output_paths, default_rejects_path
from .blocks import (FILE, LINE, PART, PROBLEM, Block, dataset_files, parquet_columns,
                     plan_blocks, read_block, read_header, reread)
from .csvformat import CsvFormat, detect
from .exceptions import InputDataError
from .inputs import Record, Reject, rating_columns, rating_records, user_columns, user_records
from .partition import score_partition, write_recommendations
from .parts import check_out, install_folder, merge_parts, part_name, staging, write_rejects
from .progress import progress
from .shipping import shipped, worker_model

__all__ = ["DEFAULT_BLOCKSIZE", "score_dask"]

logger = logging.getLogger(__name__)

DEFAULT_BLOCKSIZE = 64_000_000


@dataclass
class _Dataset:
    """The files of one input, their headers and blocks."""

    what: str
    files: list[Path]
    fmt: str
    columns: list[str]
    headers: list[list[str] | None]
    blocks: list[Block]

    @property
    def names(self) -> list[str]:
        return [str(p) for p in self.files]


def score_dask(model, users, out, ratings=None, rejects=None, k: int = 10,
               fold_in: bool = True, delimiter: str | None = None,
               encoding: str | None = None, explain: int = 0, scheduler=None,
               partitions: int | None = None, blocksize: int | None = DEFAULT_BLOCKSIZE,
               single_file: bool = False, n_workers: int | None = None,
               threads_per_worker: int = 1, processes: bool = True,
               show_progress: bool | None = None) -> BatchReport:
    """Score a users dataset on a Dask cluster and write the top-k lists.

    Parameters
    ----------
    model : HybridRecommender or path
        A fitted model, or its model file.
    users, ratings : path or glob
        A CSV or Parquet file, a glob pattern, or a folder of such files.
    out : path
        A folder of part files ``part-00000.csv``, ...; with
        ``single_file=True``, one CSV file in input order.
    rejects : path, optional
        The rejects file (one CSV); default ``<out stem>.rejects.csv``.
    k, fold_in, delimiter, encoding, explain
        As in :func:`hybrid_rec.batch.score_files`: None detects the
        delimiter from each CSV file's header and reads UTF-8; with
        ``explain=N`` every part file (and the single file) gets an
        ``explanation`` column.
    scheduler : str or distributed.Client, optional
        A scheduler address (``tcp://host:8786``), a scheduler file
        (``.json``) or a connected client. None starts a local cluster on
        127.0.0.1 for the duration of the call.
    partitions : int, optional
        Partitions of users (and output part files); default the number of
        users blocks.
    blocksize : int or None
        Bytes per CSV block; None reads each file as one block.
    n_workers, threads_per_worker, processes
        The local cluster's shape (ignored with ``scheduler``).
    show_progress : bool or None
        Progress bar over partitions; None shows it only on a terminal.

    Returns
    -------
    BatchReport
    """
    started = time.perf_counter()
    model, payload = _model_and_bytes(model)
    spec = model.spec_
    how = (delimiter, encoding)
    data = [_dataset(users, "users", user_columns(spec), how, blocksize, spec)]
    if ratings is not None:
        data.append(_dataset(ratings, "ratings", rating_columns(spec), how, blocksize, spec))
    out = Path(out)
    rejects = Path(rejects) if rejects is not None else default_rejects_path(out)
    check_output_paths(out, rejects, [f for d in data for f in d.files],
                       out_is_folder=not single_file)
    check_out(out, single_file)
    n_parts = int(partitions or max(1, len(data[0].blocks)))
    with _connect(scheduler, n_workers, threads_per_worker, processes) as client, \
            shipped(client, payload) as key, staging(out) as folder:
        ids = [spec.users.id, spec.interactions.user]
        frames = [_read(client, d, i, n_parts) for d, i in zip(data, ids)]
        job = _Job(key, k, fold_in, str(folder), single_file,
                   [(d.names, d.columns) for d in data], int(explain or 0))
        results = _score(client, job, frames, show_progress)
        report = _report(results, data)
        write_rejects(rejects, report.rejects)
        del report.rejects[KEPT_REJECTS:]
        if single_file:
            merge_parts(folder, n_parts, out)
        else:
            install_folder(folder, out)
    report.seconds = time.perf_counter() - started
    logger.info("scored %d user(s) in %d partition(s) in %.2f s", report.users_scored,
                n_parts, report.seconds)
    return report


# ----------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------
def _model_and_bytes(model):
    """(loaded model, bytes of its model file)."""
    from .model import HybridRecommender

    if isinstance(model, HybridRecommender):
        with tempfile.TemporaryDirectory() as tmp:
            path = model.save(Path(tmp) / "model.npz")
            return model, path.read_bytes()
    path = Path(model)
    loaded = HybridRecommender.load(path)
    return loaded, path.read_bytes()


def _dataset(source, what, columns, how, blocksize, spec) -> _Dataset:
    """The dataset's files, checked; ``how`` is the (delimiter, encoding) given, or Nones."""
    files, fmt = dataset_files(source, what)
    formats = [_check_header(p, fmt, what, columns, how, spec) for p in files]
    headers = [read_header(p, fmt, f) for p, f in zip(files, formats)]
    blocks = plan_blocks(files, fmt, blocksize, formats if fmt == "csv" else None)
    return _Dataset(what, files, fmt, columns, headers, blocks)


def _check_header(path, fmt, what, columns, how, spec) -> CsvFormat | None:
    """The CSV file's format, after the same checks as the single-process reader."""
    if fmt == "parquet":
        found = parquet_columns(path)
        missing = [c for c in columns if c not in found]
        if missing:
            raise InputDataError(f"{path}: {what} file has no column {missing[0]!r}; required "
                                 f"columns: {', '.join(columns)}; found: {', '.join(found)}")
        return None
    reader = user_records if what == "users" else rating_records
    records = reader(path, spec, *how)  # detects and logs the format, checks the header
    try:
        next(records, None)
    finally:
        records.close()
    with _quiet("hybrid_rec.csvformat"):
        return detect(path, *how)


def _read(client, data: _Dataset, id_column: str, n_parts: int):
    """A Dask DataFrame of the dataset's records with file line numbers, by partition."""
    import dask.dataframe as dd

    kwargs = dict(columns=data.columns, id_column=id_column, partitions=n_parts)
    headers = [data.headers[b.file_index] for b in data.blocks]
    futures = client.map(read_block, data.blocks, headers, pure=False, **kwargs)
    placed = _place(client, data, futures, kwargs)
    pieces = [client.submit(_with_lines, f, offset, pure=False) for f, offset in placed]
    meta = read_block_meta(data.columns)
    with _object_strings():
        frame = dd.from_delayed(pieces, meta=meta, verify_meta=False)
        return frame.set_index(PART, divisions=list(range(n_parts + 1)))


def _place(client, data: _Dataset, futures, kwargs):
    """(future, line offset) of every valid block, in file order.

    A block whose predecessor read on past its end (a quoted line break
    across the boundary) is read again from where the predecessor stopped.
    """
    summaries = client.gather(client.map(_summary, futures, pure=False))
    placed, current, expected, offset = [], None, 0, 0
    again = 0
    for block, future, parsed in zip(data.blocks, futures, summaries):
        if block.file_index != current:
            current, expected, offset = block.file_index, 0, 0
        if block.fmt == "csv" and parsed.start != expected:
            future.release()
            if expected >= parsed.stop:
                continue
            again += 1
            header = data.headers[block.file_index]
            future = client.submit(read_block, reread(block, expected), header, pure=False,
                                   **kwargs)
            parsed = future.result().summary()
        if parsed.error:
            line, message = parsed.error
            raise InputDataError(f"{block.file}: line {offset + line}: {message}")
        placed.append((future, offset))
        offset += parsed.n_lines
        expected = parsed.end
    if again:
        logger.info("%s: %d block(s) read again after a quoted line break across a block "
                    "boundary", data.what, again)
    return placed


def _summary(parsed):
    return parsed.summary()


def _with_lines(parsed, offset: int) -> pd.DataFrame:
    return parsed.frame.assign(**{LINE: parsed.frame[LINE] + offset})


def read_block_meta(columns: list[str]) -> pd.DataFrame:
    """The empty table with the columns and types of a read block."""
    frame = pd.DataFrame({PART: pd.Series([], dtype="int64"), FILE: pd.Series([], dtype="int64"),
                          LINE: pd.Series([], dtype="int64"),
                          PROBLEM: pd.Series([], dtype=object)})
    for c in columns:
        frame[c] = pd.Series([], dtype=object)
    return frame


@contextlib.contextmanager
def _object_strings():
    """Keep text columns as Python objects (None stays None) in the Dask graph."""
    import dask

    with dask.config.set({"dataframe.convert-string": False}):
        yield


# ----------------------------------------------------------------------
# Cluster, model shipping
# ----------------------------------------------------------------------
@contextlib.contextmanager
def _connect(scheduler, n_workers, threads_per_worker, processes):
    """A client of the given scheduler, or of a local cluster bound to 127.0.0.1."""
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler is not None:
        text = str(scheduler)
        if text.endswith(".json") and os.path.isfile(text):
            client = Client(scheduler_file=text)
        else:
            client = Client(text)
        with client:
            logger.info("connected to the Dask scheduler at %s", client.scheduler.address)
            yield client
        return
    with _quiet_shuffle_notes(), \
            LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                         processes=processes, protocol="tcp", host="127.0.0.1",
                         dashboard_address=None) as cluster, Client(cluster) as client:
        logger.info("started a local Dask cluster: %d worker(s)", len(cluster.workers))
        yield client


def _quiet_shuffle_notes():
    """Hide the local scheduler's routine per-shuffle notes, logged at WARNING level."""
    return _quiet("distributed.shuffle._scheduler_plugin")


@contextlib.contextmanager
def _quiet(name: str):
    """Let the logger ``name`` pass only errors for the duration."""
    notes = logging.getLogger(name)
    level = notes.level
    notes.setLevel(logging.ERROR)
    try:
        yield
    finally:
        notes.setLevel(level)


# ----------------------------------------------------------------------
# Scoring partitions
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Job:
    """What every partition task needs besides its rows (small: sent with each task)."""

    key: str
    k: int
    fold_in: bool
    staging: str
    keyed: bool
    data: list  # (file names, columns) of the users and, if given, the ratings
    explain: int = 0


def _score(client, job: _Job, frames, show_progress) -> list[dict]:
    import dask

    parts = [f.to_delayed() for f in frames]
    tasks = [dask.delayed(_score_part, pure=False)(p, job, *rows)
             for p, rows in enumerate(zip(*parts))]
    futures = client.compute(tasks)
    results = []
    bar = progress(total=len(futures), enabled=show_progress, desc="partitions", unit="part")
    with bar:
        for future in _as_completed(futures):
            result = future.result()
            results.append(result)
            bar.update(1)
            bar.set_postfix(users=sum(r["users_scored"] for r in results), refresh=False)
    results.sort(key=lambda r: r["partition"])
    return results


def _as_completed(futures):
    from distributed import as_completed

    return as_completed(futures)


def _score_part(partition: int, job: _Job, users: pd.DataFrame,
                ratings: pd.DataFrame | None = None) -> dict:
    """Check, score and write one partition; return its counts and rejects."""
    model = worker_model(job.key)
    names, columns = job.data[0]
    user_recs = _records(users, names, columns)
    rating_recs = None
    if ratings is not None:
        rating_recs = _records(ratings, *job.data[1])
    result = score_partition(model, user_recs, rating_recs, k=job.k, fold_in=job.fold_in,
                             explain=job.explain)
    first = _first_files(user_recs, columns[0])
    recs = result.recommendations
    if job.keyed:
        index = {name: i for i, name in enumerate(names)}
        recs.insert(0, LINE, result.lines)
        recs.insert(0, FILE, [index[first[u]] for u in recs["user_id"].astype(str)])
    with atomic_text(Path(job.staging) / part_name(partition)) as fh:
        write_recommendations(fh, recs)
    user_rejects, rating_rejects = result.user_rejects, result.rating_rejects
    if len(names) > 1:
        user_rejects = [_name_first_file(r, first) for r in user_rejects]
        rating_rejects = [_name_first_file(r, first) for r in rating_rejects]
    return {"partition": partition, "users_read": result.users_read,
            "users_scored": result.users_scored, "ratings_read": result.ratings_read,
            "ratings_used": result.ratings_used, "user_rejects": user_rejects,
            "rating_rejects": rating_rejects}


def _records(frame: pd.DataFrame, names: list[str], columns: list[str]) -> list[Record]:
    """The partition's rows as records, in file order."""
    frame = frame.sort_values([FILE, LINE], kind="stable")
    out = []
    values = zip(frame[FILE].tolist(), frame[LINE].tolist(), frame[PROBLEM].tolist(),
                 *(frame[c].tolist() for c in columns))
    for file_index, line, problem, *cells in values:
        kept = {c: v for c, v in zip(columns, cells) if isinstance(v, str)}
        out.append(Record(names[file_index], int(line), kept,
                          problem if isinstance(problem, str) else None))
    return out


def _first_files(records: list[Record], id_column: str) -> dict:
    """For each user id, the file of its first usable record (the one that counts)."""
    first = {}
    for record in records:
        uid = record.cells.get(id_column, "")
        if uid and not record.problem:
            first.setdefault(uid, record.file)
    return first


def _name_first_file(reject: Reject, first: dict) -> Reject:
    """With several users files, say which file the line of an earlier record is in."""
    where = first.get(reject.user_id)
    if where is None:
        return reject
    if reject.reason.startswith("user id already given on line") and where != reject.file:
        return replace(reject, reason=f"{reject.reason} of {where}")
    if reject.reason.startswith("the user was rejected on line"):
        return replace(reject, reason=f"{reject.reason} {where}")
    return reject


# ----------------------------------------------------------------------
# Outputs
# ----------------------------------------------------------------------


def _report(results: list[dict], data: list[_Dataset]) -> BatchReport:
    report = BatchReport()
    for name in ("users_read", "users_scored", "ratings_read", "ratings_used"):
        setattr(report, name, sum(r[name] for r in results))
    for i, kind in enumerate(("user_rejects", "rating_rejects")):
        if i >= len(data):
            break
        order = {name: n for n, name in enumerate(data[i].names)}
        found = [x for r in results for x in r[kind]]
        found.sort(key=lambda x: (order.get(x.file, -1), x.line))
        report.rejects.extend(found)
        setattr(report, "users_rejected" if i == 0 else "ratings_rejected", len(found))
    return report
