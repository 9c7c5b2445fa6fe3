"""The main job: brand-new MovieLens 100k users, scored in batch from sign-up files.

1. Load MovieLens 100k and hold out a seeded share of users as brand-new.
2. Train on the other users.
3. Write the new users' metadata and their first ratings by time as CSV
   files, the way a sign-up export would look, and save the model.
4. Score those files with :func:`~hybrid_rec.batch.score_files`, the code
   path of ``hybrid-rec score``: once from metadata alone (the ratings only
   exclude the rated items) and once with fold-in.
5. Compare with popularity on each user's later ratings.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_text
from .batch import score_files
from .datasets import load_movielens
from .evaluation.metrics import ranking_metrics
from .evaluation.strategies import popular_items
from .model import HybridRecommender
from .spec import load_spec

__all__ = ["DemoResult", "bundled_spec", "run_demo", "split_new_users"]

logger = logging.getLogger(__name__)


def bundled_spec(name: str) -> Path:
    """Path of a spec from ``features/``: installed with the package, or in the checkout."""
    here = Path(__file__).resolve().parent
    for folder in (here / "specs", here.parent / "features"):
        if (folder / f"{name}.toml").is_file():
            return folder / f"{name}.toml"
    raise FileNotFoundError(f"no bundled spec {name!r}: looked in {here / 'specs'} and "
                            f"{here.parent / 'features'}")


@dataclass
class DemoResult:
    """The metrics table, where the files went, and how long the steps took."""

    table: pd.DataFrame
    files: dict[str, Path]
    timings: dict[str, float] = field(default_factory=dict)
    n_train_users: int = 0
    n_new_users: int = 0


def split_new_users(user_ids, fraction: float, random_state: int) -> np.ndarray:
    """A seeded share of users to treat as brand-new."""
    ids = np.sort(np.unique(np.asarray(user_ids)))
    rng = np.random.default_rng(random_state)
    n_new = int(round(fraction * len(ids)))
    return np.sort(rng.choice(ids, size=n_new, replace=False))


def run_demo(out_dir: str | Path = "demo-output", data_dir=None, spec=None,
             new_fraction: float = 0.2, revealed: int = 5, k: int = 10, epochs: int = 30,
             random_state: int = 42, show_progress=None) -> DemoResult:
    """Run the main job; see the module docstring."""
    out_dir = Path(out_dir)
    timings = {}
    started = time.perf_counter()
    spec = load_spec(spec or bundled_spec("movielens-100k"))
    data = load_movielens("100k", data_dir)
    inter = spec.interactions

    new_ids = split_new_users(data.users["user_id"], new_fraction, random_state)
    is_new = data.interactions["user_id"].isin(new_ids)
    train = data.interactions[~is_new]
    history = data.interactions[is_new].sort_values(["user_id", "timestamp", "item_id"],
                                                    kind="stable")
    rank = history.groupby("user_id").cumcount()
    first, later = history[rank < revealed], history[rank >= revealed]
    new_users = data.users[data.users["user_id"].isin(new_ids)]
    logger.info("%d training users, %d brand-new users (%d ratings revealed each)",
                data.users["user_id"].nunique() - len(new_ids), len(new_ids), revealed)

    model = HybridRecommender(spec, epochs=epochs, random_state=random_state,
                              show_progress=show_progress)
    t = time.perf_counter()
    model.fit(train, data.users[~data.users["user_id"].isin(new_ids)], data.items)
    timings["train"] = time.perf_counter() - t

    files = {
        "model": out_dir / "model.npz",
        "users": out_dir / "new_users.csv",
        "ratings": out_dir / "new_ratings.csv",
        "metadata": out_dir / "recs_metadata_only.csv",
        "fold_in": out_dir / "recs_fold_in.csv",
    }
    model.save(files["model"])
    columns = [spec.users.id] + spec.users.metadata_columns
    with atomic_text(files["users"]) as fh:
        new_users[columns].to_csv(fh, index=False, lineterminator="\n")
    with atomic_text(files["ratings"]) as fh:
        first[[inter.user, inter.item, inter.rating]].to_csv(
            fh, index=False, lineterminator="\n", float_format="%g")

    t = time.perf_counter()
    score_files(model, files["users"], files["metadata"], ratings=files["ratings"], k=k,
                fold_in=False)
    timings["score_metadata_only"] = time.perf_counter() - t
    t = time.perf_counter()
    score_files(model, files["users"], files["fold_in"], ratings=files["ratings"], k=k)
    timings["score_fold_in"] = time.perf_counter() - t

    relevant = later[later[inter.rating] >= inter.positive_threshold]
    relevant = relevant.rename(columns={inter.user: "user_id", inter.item: "item_id"})
    recs = {
        "popularity": popular_items(model.popularity_, model.item_ids_,
                                    new_users["user_id"].to_numpy(), first, k),
        "metadata only": pd.read_csv(files["metadata"]),
        "fold-in": pd.read_csv(files["fold_in"]),
    }
    rows = [{"strategy": name, **ranking_metrics(r, relevant, k)} for name, r in recs.items()]
    table = pd.DataFrame(rows).set_index("strategy")
    timings["total"] = time.perf_counter() - started
    return DemoResult(table=table, files=files, timings=timings,
                      n_train_users=int(train["user_id"].nunique()), n_new_users=len(new_ids))

