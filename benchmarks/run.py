"""Run the benchmarks and print their tables: ``python -m benchmarks.run [--json FILE]``.

``make bench`` runs this. ``--quick`` uses small sizes (a smoke test of the
benchmarks themselves, not numbers to quote); ``--only`` picks benchmarks.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import bench_foldin, bench_memory, bench_scoring, bench_training
from .common import machine, write_json

BENCHMARKS = {"scoring": bench_scoring.run, "foldin": bench_foldin.run,
              "memory": bench_memory.run, "training": bench_training.run}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help=f"comma-separated subset of {', '.join(BENCHMARKS)}")
    parser.add_argument("--json", type=Path, default=None, help="also write the tables here")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    info = machine()
    print(f"# hybrid_rec benchmarks ({'quick' if args.quick else 'full'}); machine: {info}")
    tables = []
    for name in names:
        started = time.perf_counter()
        table = BENCHMARKS[name](quick=args.quick)
        tables.append(table)
        print(table.render())
        print(f"({name}: {time.perf_counter() - started:.0f} s)", flush=True)
    if args.json:
        write_json(args.json, tables, {"machine": info, "quick": args.quick})
        print(f"\ntables written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
