"""Benchmark 3: peak resident memory of ``score_files`` for N and 10 N new users.

Each run is a fresh process (``python -m benchmarks.bench_memory --child``)
that loads the model, scores the files and reports its own peak RSS. A
baseline process only loads the model, so the table also shows what scoring
adds on top of Python, the libraries and the model.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import ROOT, Table, first_ratings, fit, movielens, new_users_like


def run(quick: bool = False, n: int | None = None, bucket_mb: float = 2.0) -> Table:
    n = n or (5_000 if quick else 20_000)
    data = movielens()
    model = fit(data, epochs=5)
    table = Table(f"memory: peak RSS of score_files, MovieLens 100k model, 5 ratings per "
                  f"user, {bucket_mb:g} MB buckets",
                  ["users", "input MB", "buckets", "seconds", "peak MB", "scoring MB",
                   "peak / peak(N)"])
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        path = folder / "model.npz"
        model.save(path)
        base = _child(path, None, None, folder / "none.csv", 0)
        first = None
        for size in (n, 10 * n):
            users, ratings = _files(folder, data, model, size)
            result = _child(path, users, ratings, folder / f"out{size}.csv",
                            int(bucket_mb * 2**20))
            first = first or result["peak_mb"]
            table.add(**{"users": size, "input MB": result["input_mb"],
                         "buckets": result["buckets"], "seconds": result["seconds"],
                         "peak MB": result["peak_mb"],
                         "scoring MB": result["peak_mb"] - base["peak_mb"],
                         "peak / peak(N)": result["peak_mb"] / first})
    table.note(f"a process that only loads the model peaks at {base['peak_mb']:.0f} MB; "
               "'scoring MB' is the peak above that")
    return table


def _files(folder: Path, data, model, size: int):
    new = new_users_like(data.users, size, seed=6, first_id=10**7)
    rated = first_ratings(new, model.item_ids, model.popularity_, 5, seed=7)
    users, ratings = folder / f"users{size}.csv", folder / f"ratings{size}.csv"
    new.to_csv(users, index=False)
    rated.astype({"rating": int}).to_csv(ratings, index=False)
    return users, ratings


def _child(model: Path, users, ratings, out: Path, bucket_bytes: int) -> dict:
    command = [sys.executable, "-m", "benchmarks.bench_memory", "--child", str(model),
               str(users or ""), str(ratings or ""), str(out), str(bucket_bytes)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _child_main(model: str, users: str, ratings: str, out: str, bucket_bytes: str) -> None:
    from hybrid_rec import HybridRecommender
    from hybrid_rec.batch import score_files

    loaded = HybridRecommender.load(model)
    report, seconds, size = None, 0.0, 0
    if users:
        size = Path(users).stat().st_size + Path(ratings).stat().st_size
        started = time.perf_counter()
        report = score_files(loaded, users, out, ratings=ratings,
                             bucket_bytes=int(bucket_bytes), show_progress=False)
        seconds = time.perf_counter() - started
    print(json.dumps({"peak_mb": _peak_kb() / 1024, "seconds": seconds,
                      "input_mb": size / 2**20,
                      "buckets": report.buckets if report else 0}))


def _peak_kb() -> int:
    """This process's own peak resident size in kB.

    On Linux ``ru_maxrss`` is no good here: a child started by a large parent
    inherits the parent's peak (the kernel keeps the larger of the two across
    ``exec``), so the smaller runs would all report the parent's size. The
    ``VmHWM`` line of /proc/self/status belongs to this process's own memory
    map. Elsewhere ``ru_maxrss`` is all there is.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    _child_main(*sys.argv[2:7])
