"""Ranking metrics, vectorised, for a score matrix or a recommendation table.

Two inputs are supported:

- a **score matrix** (users x candidate items, dense): every candidate gets
  a position in the user's ranking, so every metric can be computed,
  including AUC;
- a **recommendation table** (``user_id, rank, item_id``): only the top of
  each list is known, so AUC cannot be computed from it.

In both, items the user already revealed are excluded: they are neither
ranked nor counted as negatives. Users without any relevant item are left
out (they cannot be scored); the result says how many users were counted.

Conventions match ``lightfm.evaluation`` where the two overlap: precision
divides by ``k`` even when fewer relevant items exist, recall divides by
the user's relevant count, and AUC is the share of (relevant, other
candidate) pairs ranked the right way. Ties are broken towards the lower
item index, the same rule :func:`hybrid_rec.scoring.top_k` uses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["METRICS", "coverage", "ranking_metrics", "score_metrics", "summarise",
           "top_items"]

METRICS = ("precision", "recall", "ndcg", "map", "auc")


def _order(scores: np.ndarray, exclude: sp.csr_matrix | None) -> np.ndarray:
    """Each user's items best first (ties: lower index first; excluded items last)."""
    block = np.array(scores, dtype=np.float64, copy=True)
    if exclude is not None and exclude.nnz:
        coo = exclude.tocoo()
        block[coo.row, coo.col] = -np.inf
    return np.argsort(-block, axis=1, kind="stable")


def _positions(scores: np.ndarray, exclude: sp.csr_matrix | None) -> np.ndarray:
    """0-based position of every item in each user's ranking."""
    order = _order(scores, exclude)
    positions = np.empty_like(order)
    rows = np.arange(order.shape[0])[:, None]
    positions[rows, order] = np.arange(order.shape[1])[None, :]
    return positions


def _ideal_dcg(n_relevant: np.ndarray, k: int) -> np.ndarray:
    discounts = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))])
    return discounts[np.minimum(n_relevant, k)]


def _per_user(user: np.ndarray, pos: np.ndarray, n_users: int, n_relevant: np.ndarray,
              k: int) -> dict[str, np.ndarray]:
    """Top-k metrics from (user, position) of each relevant item, users sorted by position."""
    order = np.lexsort((pos, user))
    user, pos = user[order], pos[order]
    starts = np.searchsorted(user, np.arange(n_users))
    nth = np.arange(len(user)) - starts[user]          # 0-based index among the user's hits
    hit = pos < k
    hits = np.bincount(user, weights=hit, minlength=n_users)
    dcg = np.bincount(user, weights=hit / np.log2(pos + 2.0), minlength=n_users)
    ap = np.bincount(user, weights=hit * (nth + 1) / (pos + 1.0), minlength=n_users)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "precision": hits / k,
            "recall": hits / n_relevant,
            "ndcg": dcg / _ideal_dcg(n_relevant, k),
            "map": ap / np.minimum(n_relevant, k),
        }


def score_metrics(scores: np.ndarray, relevant: sp.spmatrix, exclude: sp.spmatrix | None = None,
                  k: int = 10) -> pd.DataFrame:
    """Per-user metrics of a score matrix.

    Parameters
    ----------
    scores : ndarray of shape (n_users, n_items)
        Higher is better.
    relevant : sparse matrix of shape (n_users, n_items)
        Non-zero where the item is relevant to the user (the test positives).
    exclude : sparse matrix of shape (n_users, n_items), optional
        Non-zero where the user revealed the item: it is not ranked and is
        neither a hit nor a negative. Must not overlap ``relevant``.
    k : int
        List length for the top-k metrics.

    Returns
    -------
    DataFrame indexed by user row (only users with a relevant item), with
    columns precision, recall, ndcg, map, auc and n_relevant.
    """
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.shape != relevant.shape:
        raise ValueError(f"scores has shape {scores.shape}, relevant {relevant.shape}: they "
                         "must be the same (users x items)")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n_users, n_items = scores.shape
    relevant = sp.csr_matrix(relevant, dtype=np.float64)
    relevant.eliminate_zeros()
    exclude = None if exclude is None else sp.csr_matrix(exclude, dtype=np.float64)
    if exclude is not None:
        exclude.eliminate_zeros()
        if relevant.multiply(exclude).nnz:
            raise ValueError("some relevant items are also excluded: the revealed and the "
                             "test interactions overlap")
    positions = _positions(scores, exclude)
    coo = relevant.tocoo()
    pos = positions[coo.row, coo.col].astype(np.float64)
    n_relevant = np.diff(relevant.indptr)
    table = pd.DataFrame(_per_user(coo.row, pos, n_users, n_relevant, k))
    n_excluded = np.zeros(n_users) if exclude is None else np.diff(exclude.indptr)
    table["auc"] = _auc(coo.row, pos, n_users, n_relevant, n_items - n_excluded - n_relevant)
    table["n_relevant"] = n_relevant
    return table[n_relevant > 0]


def _auc(user, pos, n_users, n_relevant, n_negative) -> np.ndarray:
    """Share of (relevant, negative) pairs in the right order, per user."""
    order = np.lexsort((pos, user))
    user, pos = user[order], pos[order]
    starts = np.searchsorted(user, np.arange(n_users))
    above = pos - (np.arange(len(user)) - starts[user])    # negatives ranked above each hit
    wrong = np.bincount(user, weights=above, minlength=n_users)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = 1.0 - wrong / (n_relevant * n_negative)
    return np.where((n_relevant > 0) & (n_negative > 0), auc, 0.5)


def coverage(top_items: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one list (``-1`` pads are ignored)."""
    items = np.asarray(top_items).ravel()
    items = items[items >= 0]
    return float(len(np.unique(items)) / n_items) if n_items else 0.0


def top_items(scores: np.ndarray, exclude: sp.spmatrix | None, k: int) -> np.ndarray:
    """Indices of each user's top ``k`` candidates, best first, padded with ``-1``.

    Excluded items are never listed, so a user with fewer than ``k`` other
    candidates gets a shorter list.
    """
    exclude = None if exclude is None else sp.csr_matrix(exclude)
    k = min(k, scores.shape[1])
    order = _order(scores, exclude)[:, :k]
    if exclude is not None:
        n_left = scores.shape[1] - np.diff(exclude.indptr)
        order = np.where(np.arange(k)[None, :] < n_left[:, None], order, -1)
    return order


def summarise(per_user: pd.DataFrame) -> dict[str, float]:
    """Means of the per-user metrics, and the number of users counted."""
    out = {m: float(per_user[m].mean()) if len(per_user) else float("nan") for m in METRICS}
    out["users"] = int(len(per_user))
    return out


def ranking_metrics(recs: pd.DataFrame, relevant: pd.DataFrame, k: int = 10,
                    exclude: pd.DataFrame | None = None, n_items: int | None = None) -> dict:
    """Mean precision@k, recall@k, NDCG@k and MAP@k of a recommendation table.

    Parameters
    ----------
    recs : DataFrame
        Columns user_id, rank, item_id; rank 1 is best.
    relevant : DataFrame
        Columns user_id, item_id: one row per item the user is known to like.
    k : int
        List length.
    exclude : DataFrame, optional
        Columns user_id, item_id: items the user revealed. They are dropped
        from the lists and the remaining items move up.
    n_items : int, optional
        Catalogue size; with it the result also has ``coverage``.

    Returns
    -------
    dict with precision, recall, ndcg, map, users (and coverage).
    """
    top = recs[["user_id", "rank", "item_id"]]
    if exclude is not None and len(exclude):
        drop = exclude[["user_id", "item_id"]].drop_duplicates().assign(_drop=True)
        top = top.merge(drop, on=["user_id", "item_id"], how="left")
        top = top[top["_drop"].isna()].drop(columns="_drop")
        top = top.assign(rank=top.sort_values(["user_id", "rank"]).groupby("user_id")
                         .cumcount().reindex(top.index) + 1)
    top = top[top["rank"] <= k]
    relevant = relevant[["user_id", "item_id"]].drop_duplicates()
    users = pd.Index(relevant["user_id"].unique())
    hits = top.merge(relevant, on=["user_id", "item_id"], how="inner")
    hits = hits[hits["user_id"].isin(users)]
    row = users.get_indexer(hits["user_id"])
    n_relevant = np.bincount(users.get_indexer(relevant["user_id"]), minlength=len(users))
    per_user = pd.DataFrame(_per_user(row, hits["rank"].to_numpy(np.float64) - 1.0,
                                      len(users), n_relevant, k))
    out = {m: float(per_user[m].mean()) for m in ("precision", "recall", "ndcg", "map")}
    out["users"] = int(len(per_user))
    if n_items is not None:
        out["coverage"] = float(top["item_id"].nunique() / n_items) if n_items else 0.0
    return out
