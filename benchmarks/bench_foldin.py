"""Benchmark 2: fold-in throughput, new users with 5 ratings each, on MovieLens 100k.

- vectorised: :func:`hybrid_rec.foldin.fold_in_many` on all new users.
- per-user loop: :func:`hybrid_rec.foldin.fold_in` user by user (timed on a
  subsample, extrapolated).
- full retrain: ``fit`` on MovieLens 100k plus the new users' metadata and
  ratings, with the same settings: the alternative fold-in saves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hybrid_rec.foldin import fold_in, fold_in_many

from .common import Table, first_ratings, fit, movielens, new_users_like, seconds_side_by_side


def run(quick: bool = False) -> Table:
    n_new = 2_000 if quick else 10_000
    epochs = 5 if quick else 30
    data = movielens()
    model = fit(data, epochs=epochs)
    new = new_users_like(data.users, n_new, seed=4, first_id=10**7)
    rated = first_ratings(new, model.item_ids, model.popularity_, 5, seed=5)
    _, _, starts, exclude = model.new_user_representations(new, rated, fold_in=False)
    signal = exclude  # the default fold_in_signal "rated": every rated item, weight 1
    q, b = model.item_vectors_, model.item_bias_vector_
    settings = dict(regularisation=model.fold_in_regularisation,
                    temperature=model.fold_in_temperature)
    sample = np.arange(0, n_new, 10)

    def loop():
        for row in sample:
            lo, hi = signal.indptr[row], signal.indptr[row + 1]
            fold_in(q, b, starts[row], signal.indices[lo:hi], signal.data[lo:hi], **settings)

    best = seconds_side_by_side({
        "vectorised": lambda: fold_in_many(q, b, starts, signal, **settings),
        "loop": loop,
        "end to end": lambda: model.new_user_representations(new, rated)}, rounds=3)
    loop_s = best["loop"] * n_new / len(sample)
    retrain = _retrain_seconds(data, new, rated, epochs)
    table = Table(f"fold-in: {n_new} new users x 5 ratings, MovieLens 100k catalogue "
                  f"({len(q)} items)", ["method", "seconds", "users/s", "vs vectorised"])
    for name, secs in (("vectorised fold_in_many", best["vectorised"]),
                       ("metadata + fold-in (new_user_representations)", best["end to end"]),
                       ("per-user loop (extrapolated)", loop_s),
                       (f"full retrain ({epochs} epochs)", retrain)):
        table.add(**{"method": name, "seconds": secs, "users/s": n_new / secs,
                     "vs vectorised": secs / best["vectorised"]})
    table.note(f"per-user loop timed on {len(sample)} of the users and extrapolated")
    return table


def _retrain_seconds(data, new: pd.DataFrame, rated: pd.DataFrame, epochs: int) -> float:
    import time

    from .common import SPEC
    from hybrid_rec import HybridRecommender

    stamp = data.interactions["timestamp"].max() + 1
    interactions = pd.concat([data.interactions, rated.assign(timestamp=stamp)],
                             ignore_index=True)
    users = pd.concat([data.users, new], ignore_index=True)
    model = HybridRecommender(SPEC, epochs=epochs, random_state=0, show_progress=False)
    started = time.perf_counter()
    model.fit(interactions, users, data.items)
    return time.perf_counter() - started
