"""Shared pieces of the benchmarks: timing, tables, test data, a trained model."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "features" / "movielens-100k.toml"


def seconds(fn, repeat: int = 3) -> float:
    """Best wall time of ``repeat`` calls (the least disturbed by a noisy machine)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def seconds_side_by_side(fns: dict, rounds: int = 3) -> dict:
    """Best wall time of each function, the calls interleaved round by round.

    Interleaving spreads a noisy neighbour's load over all the alternatives
    instead of one.
    """
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            started = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


class Table:
    """Rows of one benchmark, printed as an aligned table and kept for JSON."""

    def __init__(self, title: str, columns: list[str]):
        self.title, self.columns, self.rows, self.notes = title, columns, [], []

    def add(self, **row) -> None:
        self.rows.append(row)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def render(self) -> str:
        cells = [[_fmt(r.get(c, "")) for c in self.columns] for r in self.rows]
        widths = [max(len(c), *(len(row[j]) for row in cells)) if cells else len(c)
                  for j, c in enumerate(self.columns)]
        lines = [f"\n## {self.title}", "  ".join(c.ljust(w) for c, w in
                                                  zip(self.columns, widths))]
        lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"title": self.title, "rows": self.rows, "notes": self.notes}


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return str(value)


def write_json(path: Path, tables: list[Table], extra: dict) -> None:
    payload = dict(extra, tables=[t.as_dict() for t in tables])
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")


def machine() -> dict:
    """What the numbers were measured on."""
    from threadpoolctl import threadpool_info

    blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"
            for i in threadpool_info() if i.get("user_api") == "blas"]
    return {"cpus": os.cpu_count(), "blas": blas, "numpy": np.__version__}


def movielens():
    from hybrid_rec import load_movielens

    return load_movielens("100k", os.environ.get("HYBRID_REC_DATA") or None)


def fit(data, epochs: int = 30, **params):
    from hybrid_rec import HybridRecommender

    logging.getLogger("hybrid_rec").setLevel(logging.WARNING)
    model = HybridRecommender(SPEC, epochs=epochs, random_state=0, show_progress=False,
                              **params)
    return model.fit(data.interactions, data.users, data.items)


def new_users_like(users: pd.DataFrame, n: int, seed: int, first_id: int) -> pd.DataFrame:
    """``n`` new users whose metadata is drawn from rows of ``users``."""
    rng = np.random.default_rng(seed)
    picked = users.iloc[rng.integers(0, len(users), size=n)].reset_index(drop=True)
    return picked.assign(user_id=np.arange(first_id, first_id + n))


def first_ratings(users: pd.DataFrame, item_ids: np.ndarray, popularity: np.ndarray,
                  per_user: int, seed: int) -> pd.DataFrame:
    """About ``per_user`` distinct ratings per user, items drawn by popularity."""
    rng = np.random.default_rng(seed)
    p = (popularity + 1.0) / (popularity + 1.0).sum()
    draws = rng.choice(len(item_ids), size=(len(users), 3 * per_user), p=p)
    picks = [list(dict.fromkeys(row.tolist()))[:per_user] for row in draws]
    counts = [len(row) for row in picks]
    return pd.DataFrame({"user_id": np.repeat(users["user_id"].to_numpy(), counts),
                         "item_id": item_ids[np.concatenate(picks)],
                         "rating": rng.integers(1, 6, size=sum(counts)).astype(float)})
