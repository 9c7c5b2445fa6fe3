"""Benchmark 1: top-k scoring, ours against lightfm's predict, a full sort and the bare limit.

All four score the same user representations (new users' metadata vectors,
each user's 5 rated items excluded) against the same item representations.

- ours: :func:`hybrid_rec.scoring.top_k`.
- lightfm predict: ``LightFM.predict(user, all items, user_features,
  item_features)`` per user, then a full ``argsort``: how lightfm's docs
  rank items for a user.
- numpy full sort: the same chunked product with biases and masking, then
  ``np.argsort`` of every row instead of a partial selection.
- bare limit: per chunk one product ``U @ Q.T`` (no biases) and one
  ``np.argpartition``: no masking, no ordering of the k, nothing else.
- grouped bare: the same product and the partial selection ours uses
  (group maxima, then ``argpartition`` over the chosen groups' cells), with
  no biases, masking, tie rule or ordering. Since ours selects through
  groups, this is the bare limit of our own method.
- product only: the chunked product and nothing else, the floor of any
  method that scores every pair.

Slow alternatives are timed on a subsample of users and extrapolated
linearly; the table says so.
"""

from __future__ import annotations

import os
import time

import numpy as np

from hybrid_rec.scoring import BLOCK_CELLS, candidate_columns, group_width, padded_width, top_k

from .common import Table, first_ratings, fit, movielens, new_users_like, seconds_side_by_side

K = 10


def run(quick: bool = False) -> Table:
    table = Table("scoring: top-10 for new users", [
        "users x items", "ours s", "predict s", "full sort s", "bare s", "grouped bare s",
        "product s", "predict/ours", "sort/ours", "ours/bare", "ours/grouped bare",
        "ours/product", "agree", "agree up to near-ties"])
    for label, users, items in _sizes(quick):
        _one(table, label, users, items, quick)
    table.note("predict s and full sort s are extrapolated from a subsample of users "
               "(see 'subsample'); ours and bare score every user")
    table.note("agree: share of subsampled users whose 10 items (in order) are the same "
               "in ours and in the full sort; up to near-ties: the same where the items "
               "that differ have float64 scores within 1e-5 (float32 sums in another "
               "order may swap them)")
    table.note(f"lightfm predict ran with num_threads={os.cpu_count()}; "
               "BLAS threads as the machine's default")
    return table


def _sizes(quick: bool):
    if quick:
        return [("2k x 1.7k", 2_000, None), ("10k x 5k", 10_000, 5_000)]
    return [("10k x 1.7k", 10_000, None), ("100k x 10k", 100_000, 10_000),
            ("100k x 50k", 100_000, 50_000)]


def _model(n_items):
    """MovieLens 100k for the 1.7k catalogue, else a synthetic catalogue of n_items."""
    from hybrid_rec.synthetic import make_dataset

    if n_items is None:
        data = movielens()
    else:
        data = make_dataset(20_000, n_items, per_user=20, seed=0)
    return fit(data, epochs=5, num_threads=os.cpu_count()), data.users


def _one(table: Table, label: str, n_users: int, n_items, quick: bool) -> None:
    model, train_users = _model(n_items)
    new = new_users_like(train_users, n_users, seed=1, first_id=10**7)
    rated = first_ratings(new, model.item_ids, model.popularity_, 5, seed=2)
    _, ub, uv, exclude = model.new_user_representations(new, rated, fold_in=False)
    ib, iv = model.item_bias_vector_, model.item_vectors_

    best = seconds_side_by_side({"ours": lambda: top_k(uv, ub, iv, ib, K, exclude),
                                 "bare": lambda: _bare(uv, iv, "argpartition"),
                                 "grouped": lambda: _bare(uv, iv, "grouped"),
                                 "product": lambda: _bare(uv, iv, None)}, rounds=3)
    ours, bare = best["ours"], best["bare"]
    sample = np.random.default_rng(3).choice(n_users, size=min(n_users, 200 if quick
                                                               else 500), replace=False)
    sample.sort()
    t_sort, sorted_idx = _timed(lambda: _full_sort(uv[sample], ub[sample], iv, ib,
                                                   exclude[sample]))
    t_predict, predicted = _timed(lambda: _predict(model, new, sample, exclude))
    scale = n_users / len(sample)
    ours_idx, _ = top_k(uv[sample], ub[sample], iv, ib, K, exclude[sample])
    agree = float(np.mean((ours_idx == sorted_idx).all(axis=1)))
    # Where the lists differ, are the differing items only float32 near-ties?
    exact = (uv[sample].astype(np.float64) @ iv.T.astype(np.float64) + ib
             + ub[sample, None].astype(np.float64))
    rows = np.arange(len(sample))[:, None]
    equivalent = float(np.mean(np.isclose(exact[rows, ours_idx], exact[rows, sorted_idx],
                                          rtol=1e-5, atol=1e-5).all(axis=1)))
    table.add(**{"users x items": label, "ours s": ours, "predict s": t_predict * scale,
                 "full sort s": t_sort * scale, "bare s": bare,
                 "grouped bare s": best["grouped"], "product s": best["product"],
                 "predict/ours": t_predict * scale / ours, "sort/ours": t_sort * scale / ours,
                 "ours/bare": ours / bare, "ours/grouped bare": ours / best["grouped"],
                 "ours/product": ours / best["product"], "agree": agree,
                 "agree up to near-ties": equivalent,
                 "subsample": len(sample),
                 "predict_agree": float(np.mean((predicted == sorted_idx).all(axis=1)))})


def _timed(fn):
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def _bare(uv: np.ndarray, iv: np.ndarray, select: str | None) -> None:
    """Chunked products, then ``select``: "argpartition", "grouped" or None (none)."""
    group = group_width(len(iv), K) if select == "grouped" else 0
    n = padded_width(len(iv), group)
    chunk = max(1, BLOCK_CELLS // n)
    q = np.zeros((n, iv.shape[1]), dtype=np.float32)
    q[:len(iv)] = iv
    block = np.empty((min(chunk, len(uv)), n), dtype=np.float32)
    for start in range(0, len(uv), chunk):
        part = uv[start:start + chunk]
        out = block[:len(part)]
        np.matmul(part, q.T, out=out)
        if select == "argpartition":
            np.argpartition(out, n - K, axis=1)[:, n - K:]
        elif select == "grouped":
            _grouped_selection(out, group)


def _grouped_selection(block: np.ndarray, group: int) -> np.ndarray:
    """The candidate step of :func:`hybrid_rec.scoring.select_grouped`, nothing more."""
    rows, n_groups = len(block), block.shape[1] // group
    maxima = block.reshape(rows, group, n_groups).max(axis=1)
    chosen = np.argpartition(maxima, n_groups - K, axis=1)[:, n_groups - K:]
    columns = candidate_columns(chosen, group, n_groups)
    candidates = np.take_along_axis(block, columns, axis=1)
    return np.argpartition(candidates, group * K - K, axis=1)[:, group * K - K:]


def _full_sort(uv, ub, iv, ib, exclude) -> np.ndarray:
    n = len(iv)
    chunk = max(1, BLOCK_CELLS // n)
    result = np.empty((len(uv), K), dtype=np.int64)
    for start in range(0, len(uv), chunk):
        stop = min(start + chunk, len(uv))
        block = uv[start:stop] @ iv.T + ib[None, :] + ub[start:stop, None]
        part = exclude[start:stop].tocoo()
        block[part.row, part.col] = -np.inf
        result[start:stop] = np.argsort(-block, axis=1, kind="stable")[:, :K]
    return result


def _predict(model, new, sample, exclude) -> np.ndarray:
    """lightfm's own predict over all items for each sampled user, then argsort."""
    from lightfm import LightFM

    # A LightFM holding our trained embeddings (its state arrays sized, then replaced).
    lfm = LightFM(no_components=model.no_components, loss=model.loss)
    lfm._initialize(model.no_components, len(model.item_embeddings_),
                    len(model.user_embeddings_))
    lfm.user_embeddings, lfm.user_biases = model.user_embeddings_, model.user_biases_
    lfm.item_embeddings, lfm.item_biases = model.item_embeddings_, model.item_biases_
    features, _ = model.user_encoder_.transform(new["user_id"].to_numpy(), new,
                                                identity=False)
    features = features.tocsr().astype(np.float32)
    item_features = model.item_features_.tocsr().astype(np.float32)
    items = np.arange(item_features.shape[0], dtype=np.int32)
    result = np.empty((len(sample), K), dtype=np.int64)
    for row, user in enumerate(sample):
        scores = lfm.predict(int(user), items, user_features=features,
                             item_features=item_features, num_threads=os.cpu_count())
        scores[exclude[user].indices] = -np.inf
        result[row] = np.argsort(-scores, kind="stable")[:K]
    return result
