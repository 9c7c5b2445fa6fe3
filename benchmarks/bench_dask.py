"""The Dask engine against the single-process engine on one machine, side by side.

Both score the same CSV files of new users (metadata and 5 ratings each,
MovieLens 100k catalogue): ``score_files`` in this process, ``score_dask``
on a local cluster of worker processes started once beforehand (its start
is timed on its own). Run it with ``python -m benchmarks.bench_dask
[--quick]``. On one machine the Dask engine can only win by using more cores
than the single-process engine does; its purpose is more than one machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from hybrid_rec.batch import score_files
from hybrid_rec.distributed import score_dask

from .common import (Table, first_ratings, fit, machine, movielens, new_users_like,
                     seconds_side_by_side)


def run(quick: bool = False, workers: int = 2) -> Table:
    from distributed import Client, LocalCluster

    n_new = 3_000 if quick else 30_000
    data = movielens()
    model = fit(data, epochs=5 if quick else 30)
    new = new_users_like(data.users, n_new, seed=6, first_id=10**7)
    rated = first_ratings(new, model.item_ids, model.popularity_, 5, seed=7)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        users, ratings, model_file = tmp / "users.csv", tmp / "ratings.csv", tmp / "model.npz"
        new.to_csv(users, index=False)
        rated.to_csv(ratings, index=False)
        model.save(model_file)
        started = time.perf_counter()
        with LocalCluster(n_workers=workers, threads_per_worker=1, protocol="tcp",
                          host="127.0.0.1", dashboard_address=None) as cluster, \
                Client(cluster) as client:
            start_s = time.perf_counter() - started
            blocksize = max(1, os.path.getsize(users) // (4 * workers))
            best = seconds_side_by_side({
                "single": lambda: score_files(model, users, tmp / "a.csv", ratings=ratings),
                "dask": lambda: score_dask(model_file, users, tmp / "b.csv", ratings=ratings,
                                           scheduler=client, blocksize=blocksize,
                                           single_file=True)}, rounds=2)
    table = Table(f"Dask engine on one machine: {n_new} new users x 5 ratings, "
                  f"{workers} local worker processes", ["engine", "seconds", "vs single"])
    rows = (("single process (score_files)", best["single"]),
            ("dask, cluster already started (score_dask)", best["dask"]),
            ("dask, including the cluster's start", best["dask"] + start_s))
    for name, secs in rows:
        table.add(engine=name, seconds=secs, **{"vs single": secs / best["single"]})
    table.note(f"cluster start {start_s:.1f} s; {os.cpu_count()} cores; best of 2 rounds, "
               "interleaved")
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_dask")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes")
    args = parser.parse_args(argv)
    print(f"# machine: {machine()}")
    print(run(quick=args.quick, workers=args.workers).render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
