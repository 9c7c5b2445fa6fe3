"""The ``hybrid-rec`` command line: train, score, evaluate, demo and check-spec.

Exit codes: 0 success; 3 partial success (output written, some input rows
rejected: see the rejects file); 1 failure (nothing written); 2 a usage
error on the command line.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from . import __version__
from .exceptions import HybridRecError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3

logger = logging.getLogger("hybrid_rec")


def _count(low: int):
    """An argparse type: an integer >= low."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value
    return parse


def _shots(text: str) -> tuple[int, ...]:
    """An argparse type: comma-separated non-negative integers."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated integers, got {text!r}"
                                         ) from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return values


def _names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one strategy name")
    return names


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20,
          "gib": 2**30}


def _size(text: str) -> int | None:
    """An argparse type: a byte count such as 64MB or 1GiB; 0 means None (whole files)."""
    number = text.strip().lower().rstrip("kmgib")
    unit = text.strip().lower()[len(number):]
    try:
        value = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(
            f"must be a size such as 64MB, 500KiB or 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return int(value) or None


def _char(text: str) -> str:
    from .csvformat import check_delimiter

    text = "\t" if text in ("\\t", "tab") else text
    if len(text) != 1:
        raise argparse.ArgumentTypeError(f"must be one character, got {text!r}")
    try:
        return check_delimiter(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _encoding(text: str) -> str:
    from .csvformat import check_encoding

    try:
        return check_encoding(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _check_folder(option: str, path: Path | None, is_folder: bool = False) -> None:
    """An output path must name a file (or with ``is_folder``, a folder) in a folder
    that exists; none is created."""
    if path is None:
        return
    if path.is_dir() and not is_folder:
        raise ValueError(f"{option} {path} is a folder; give a file name")
    if not path.parent.is_dir():
        raise ValueError(f"{option} {path}: the folder {path.parent} does not exist; "
                         "create it first")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hybrid-rec",
        description="Hybrid, metadata-aware recommendation with LightFM.",
        epilog="exit codes: 0 success, 3 partial success (rows rejected), 1 failure, "
               "2 usage error")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--no-progress", action="store_true", help="never show progress bars")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train a model and save it")
    p.add_argument("--spec", required=True, type=Path, help="feature spec (TOML)")
    p.add_argument("--data", required=True,
                   help="'100k', 'latest-small', a MovieLens folder, or a folder with "
                        "interactions.csv [users.csv items.csv user_tags.csv item_tags.csv]")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="folder holding ml-100k/ or ml-latest-small/ (default: "
                        "$HYBRID_REC_DATA, then the download cache)")
    p.add_argument("--out", required=True, type=Path, help="model file to write (.npz)")
    p.add_argument("--epochs", type=_count(1), default=30)
    p.add_argument("--no-components", type=_count(1), default=16)
    p.add_argument("--learning-rate", type=float, default=0.05)
    p.add_argument("--loss", default="warp", choices=["warp", "bpr", "warp-kos", "logistic"])
    p.add_argument("--random-state", type=_count(0), default=0)
    p.add_argument("--threads", type=_count(1), default=1,
                   help="training threads; above 1, results vary between runs")

    p = sub.add_parser("score", help="batch-score a CSV of new users")
    p.add_argument("--model", required=True, type=Path)
    p.add_argument("--users", required=True, type=Path,
                   help="CSV of new users: the spec's user id and metadata columns (with "
                        "--engine dask also Parquet, a glob or a folder of partition files)")
    p.add_argument("--ratings", type=Path, default=None,
                   help="CSV of their ratings in long format (user, item, rating); with "
                        "--engine dask as for --users")
    p.add_argument("--k", type=_count(1), default=10, help="list length (default 10)")
    p.add_argument("--out", required=True, type=Path,
                   help="output CSV (with --engine dask: a folder of part files, unless "
                        "--single-file)")
    p.add_argument("--rejects", type=Path, default=None,
                   help="where rejected rows go (default: <out stem>.rejects.csv)")
    p.add_argument("--no-fold-in", action="store_true",
                   help="do not learn from the ratings; only exclude the rated items")
    p.add_argument("--delimiter", type=_char, default=None,
                   help="field delimiter of the input files ('tab' for a tab; default: "
                        "detected from each header among , ; tab |)")
    p.add_argument("--encoding", type=_encoding, default=None,
                   help="text encoding of the input files, e.g. latin-1 (default: UTF-8)")
    p.add_argument("--explain", type=_count(1), nargs="?", const=3, default=0, metavar="N",
                   help="add an explanation column: the N user features and rated items "
                        "that add most to each score (default N: 3)")

    d = p.add_argument_group("Dask engine (--engine dask)")
    d.add_argument("--engine", choices=["local", "dask"], default="local",
                   help="local: one process (default); dask: partitions on a Dask cluster")
    d.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address or scheduler file (default: start a local "
                        "cluster on 127.0.0.1)")
    d.add_argument("--workers", type=_count(1), default=None,
                   help="worker processes of the local cluster (default: one per core)")
    d.add_argument("--partitions", type=_count(1), default=None,
                   help="user partitions and output part files (default: one per block)")
    d.add_argument("--blocksize", type=_size, default="64MB",
                   help="bytes per CSV block (default 64MB; 0 reads each file whole)")
    d.add_argument("--single-file", action="store_true",
                   help="write --out as one CSV in input order instead of a folder of parts")

    p = sub.add_parser("evaluate", help="compare cold-start strategies: CSV, Markdown, plots")
    p.add_argument("--spec", required=True, type=Path, help="feature spec (TOML)")
    p.add_argument("--data", required=True,
                   help="'100k', 'latest-small', a MovieLens folder, or a folder of CSVs "
                        "(as for train)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="folder holding ml-100k/ or ml-latest-small/")
    p.add_argument("--protocol", required=True, choices=["new-users", "new-items", "warm"])
    p.add_argument("--shots", type=_shots, default=(0, 1, 3, 5, 10, 20),
                   help="ratings revealed per new user, comma-separated (default "
                        "0,1,3,5,10,20; new-users only)")
    p.add_argument("--seeds", type=_count(1), default=3,
                   help="seeds 0..N-1, each its own split and training (default 3)")
    p.add_argument("--k", type=_count(1), default=10, help="list length (default 10)")
    p.add_argument("--strategies", type=_names, default=None,
                   help="comma-separated strategy names (default: all for the protocol)")
    p.add_argument("--epochs", type=_count(1), default=None,
                   help="training epochs (default 30; 3 with --fast)")
    p.add_argument("--max-users", type=_count(1), default=None,
                   help="at most this many users per case (default all; 40 with --fast)")
    p.add_argument("--fast", action="store_true",
                   help="a quick run: 3 epochs, at most 40 users per case")
    p.add_argument("--out", required=True, type=Path, help="folder for the report files")

    p = sub.add_parser("demo", help="the main job on MovieLens 100k: new users, end to end")
    p.add_argument("--out", type=Path, default=Path("demo-output"),
                   help="folder for the files it writes (default: demo-output)")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--epochs", type=_count(1), default=30)
    p.add_argument("--random-state", type=_count(0), default=42)

    p = sub.add_parser("check-spec", help="validate a feature spec without training")
    p.add_argument("spec", type=Path)
    return parser


def _setup_logging(args) -> None:
    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("hybrid-rec: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def main(argv=None) -> int:
    """Entry point of the ``hybrid-rec`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    _check_engine(parser, args)
    previous = (list(logger.handlers), logger.level, logger.propagate)
    _setup_logging(args)
    show = False if args.no_progress else None
    on_term = _raise_on_sigterm()
    try:
        return _COMMANDS[args.command](args, show)
    except (HybridRecError, ValueError, OSError) as e:
        print(f"hybrid-rec: error: {e}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("hybrid-rec: interrupted; no output was written", file=sys.stderr)
        return 130
    except _Terminated:
        print("hybrid-rec: terminated; no output was written", file=sys.stderr)
        return 143
    finally:
        logger.handlers[:], logger.level, logger.propagate = previous
        if on_term is not None:
            signal.signal(signal.SIGTERM, on_term)


class _Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C, so temporary files and folders are removed."""


def _raise_on_sigterm():
    """Turn SIGTERM into :class:`_Terminated`; returns the previous handler (None if unset).

    Without this, SIGTERM ends the process at once and leaves the output's
    temporary file and the spill folder behind. SIGKILL cannot be caught.
    """
    def handler(signum, frame):
        raise _Terminated

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        return None


def _check_engine(parser, args) -> None:
    """Options of the Dask engine are usage errors with the local one."""
    if args.command != "score" or args.engine == "dask":
        return
    for option, value in (("--scheduler", args.scheduler), ("--workers", args.workers),
                          ("--partitions", args.partitions), ("--single-file", args.single_file)):
        if value:
            parser.error(f"{option} needs --engine dask")


def _train(args, show) -> int:
    from .model import HybridRecommender
    from .sources import load_training_data

    _check_folder("--out", args.out)
    data = load_training_data(args.data, args.data_dir)
    model = HybridRecommender(args.spec, no_components=args.no_components, loss=args.loss,
                              learning_rate=args.learning_rate, epochs=args.epochs,
                              random_state=args.random_state, num_threads=args.threads,
                              show_progress=show)
    model.fit(data.interactions, data.users, data.items, user_tags=data.user_tags,
              item_tags=data.item_tags)
    model.save(args.out)
    print(f"hybrid-rec: model written to {args.out}", file=sys.stderr)
    return EXIT_OK


def _score(args, show) -> int:
    from .batch import check_output_paths, default_rejects_path, score_files
    from .model import HybridRecommender

    folder = args.engine == "dask" and not args.single_file
    _check_folder("--out", args.out, is_folder=folder)
    _check_folder("--rejects", args.rejects)
    rejects = args.rejects or default_rejects_path(args.out)
    # The engines check the users and ratings files; the model file is the CLI's.
    check_output_paths(args.out, rejects, (args.model,), out_is_folder=folder)
    if args.engine == "dask":
        report = _score_dask(args, rejects, show)
    else:
        model = HybridRecommender.load(args.model)
        report = score_files(model, args.users, args.out, ratings=args.ratings,
                             rejects=rejects, k=args.k, fold_in=not args.no_fold_in,
                             delimiter=args.delimiter, encoding=args.encoding,
                             explain=args.explain, show_progress=show)
    print(f"hybrid-rec: {report.summary()}", file=sys.stderr)
    where = f"part files in {args.out}" if folder else str(args.out)
    print(f"hybrid-rec: recommendations written to {where}", file=sys.stderr)
    if report.partial:
        print(f"hybrid-rec: {report.rows_rejected} rejected row(s) listed in {rejects}",
              file=sys.stderr)
        return EXIT_PARTIAL
    return EXIT_OK


def _score_dask(args, rejects, show):
    try:
        from .distributed import score_dask
    except ImportError as e:
        raise ValueError(f"--engine dask needs the dask extra (pip install "
                         f"'hybrid-rec[dask]'): {e}") from None
    return score_dask(args.model, args.users, args.out, ratings=args.ratings, rejects=rejects,
                      k=args.k, fold_in=not args.no_fold_in, delimiter=args.delimiter,
                      encoding=args.encoding, explain=args.explain, scheduler=args.scheduler,
                      partitions=args.partitions, blocksize=args.blocksize,
                      single_file=args.single_file, n_workers=args.workers, show_progress=show)


def _demo(args, show) -> int:
    from .demo import run_demo

    result = run_demo(args.out, data_dir=args.data_dir, epochs=args.epochs,
                      random_state=args.random_state, show_progress=show)
    table = result.table
    print(f"\nBrand-new MovieLens 100k users: {result.n_new_users} held out, model trained "
          f"on the other {result.n_train_users}.")
    print("Each new user revealed their first 5 ratings; quality is measured on the rest "
          f"(liked = rating >= 4; {table['users'].iloc[0]} users with a liked later item).\n")
    print(f"{'strategy':<16}{'precision@10':>14}{'recall@10':>12}{'NDCG@10':>10}")
    for name, row in table.iterrows():
        print(f"{name:<16}{row['precision']:>14.4f}{row['recall']:>12.4f}{row['ndcg']:>10.4f}")
    print("\nmetadata only: vectors from age, gender, occupation and zip region alone; "
          "the 5 ratings only exclude those items.")
    print("fold-in: the same vectors refined from the 5 ratings, items frozen, no retraining.")
    t = result.timings
    print(f"\ntimes: training {t['train']:.1f} s, scoring {result.n_new_users} users "
          f"{t['score_metadata_only']:.2f} s (metadata only) and {t['score_fold_in']:.2f} s "
          f"(fold-in), total {t['total']:.1f} s")
    print("\nfiles:")
    for name, path in result.files.items():
        print(f"  {name:<10}{path}")
    print(f"\nscore them yourself: hybrid-rec score --model {result.files['model']} "
          f"--users {result.files['users']} --ratings {result.files['ratings']} "
          f"--out recs.csv")
    return EXIT_OK


def _evaluate(args, show) -> int:
    import importlib.util

    from .evaluation import evaluate

    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {args.out} is a file; give a folder")
    missing = [m for m in ("matplotlib", "implicit") if importlib.util.find_spec(m) is None]
    if missing:
        raise ValueError(f"hybrid-rec evaluate needs {' and '.join(missing)}: install the "
                         "eval extra (pip install 'hybrid-rec[eval]')")
    result = evaluate(args.protocol, args.spec, args.data, data_dir=args.data_dir,
                      shots=args.shots, seeds=args.seeds, k=args.k, strategies=args.strategies,
                      fast=args.fast, epochs=args.epochs, max_users=args.max_users,
                      show_progress=show)
    files = result.save(args.out)
    print(f"{args.protocol} on {args.data}, NDCG@{args.k} (mean ± sd over "
          f"{args.seeds} seed(s)):\n")
    print(result.table("ndcg").to_string())
    print(f"\nhybrid-rec: report written to {files['report']} (all numbers in "
          f"{files['results']})", file=sys.stderr)
    return EXIT_OK


def _check_spec(args, show) -> int:
    from .spec import load_spec

    spec = load_spec(args.spec)
    for side in (spec.users, spec.items):
        kinds = ", ".join(f"{f.name} ({f.kind})" for f in side.features) or "none"
        print(f"{side.side}: id {side.id!r}; features: {kinds}")
    print(f"{args.spec}: OK")
    return EXIT_OK


_COMMANDS = {"train": _train, "score": _score, "evaluate": _evaluate, "demo": _demo,
             "check-spec": _check_spec}


if __name__ == "__main__":
    sys.exit(main())
