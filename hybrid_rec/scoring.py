"""Top-k scoring: one matrix product per chunk of users, masked, then partial selection.

Ties are broken by the lower item index, so the same input always gives the
same lists. Items a user may not get (already rated, excluded) score
``-inf`` and never appear; a user with fewer than ``k`` items left gets a
shorter list.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["top_k", "to_frame"]


def top_k(user_vectors: np.ndarray, user_biases: np.ndarray, item_vectors: np.ndarray,
          item_biases: np.ndarray, k: int, exclude: sp.csr_matrix | None = None,
          chunk_size: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best items per user.

    Returns
    -------
    (indices, scores) : ndarrays of shape (n_users, min(k, n_items))
        Item indices best first, padded with -1 (scores with -inf) where a
        user has fewer than ``k`` items left.
    """
    n_users, n_items = len(user_vectors), len(item_vectors)
    k = max(0, min(int(k), n_items))
    indices = np.full((n_users, k), -1, dtype=np.int64)
    scores = np.full((n_users, k), -np.inf, dtype=np.float32)
    if k == 0 or n_users == 0:
        return indices, scores
    item_vectors = np.ascontiguousarray(item_vectors, dtype=np.float32)
    item_biases = np.asarray(item_biases, dtype=np.float32)
    for start in range(0, n_users, chunk_size):
        stop = min(start + chunk_size, n_users)
        block = user_vectors[start:stop].astype(np.float32, copy=False) @ item_vectors.T
        block += item_biases[None, :]
        block += np.asarray(user_biases[start:stop], dtype=np.float32)[:, None]
        if exclude is not None:
            part = exclude[start:stop].tocoo()
            block[part.row, part.col] = -np.inf
        idx, val = _select(block, k)
        finite = np.isfinite(val)
        indices[start:stop] = np.where(finite, idx, -1)
        scores[start:stop] = val
    return indices, scores


def _select(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k per row by partial selection; ties go to the lower column."""
    kth = -np.partition(-block, k - 1, axis=1)[:, k - 1]
    above = block > kth[:, None]
    level = block == kth[:, None]
    need = k - above.sum(axis=1)
    chosen = above | (level & (np.cumsum(level, axis=1) <= need[:, None]))
    cols = np.nonzero(chosen)[1].reshape(len(block), k)
    vals = np.take_along_axis(block, cols, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(cols, order, axis=1), np.take_along_axis(vals, order, axis=1)


def to_frame(user_ids: np.ndarray, indices: np.ndarray, scores: np.ndarray,
             item_ids: np.ndarray, titles: np.ndarray | None = None) -> pd.DataFrame:
    """A tidy recommendation table: user_id, rank, item_id, score[, title]."""
    keep = indices >= 0
    rows, ranks = np.nonzero(keep)
    frame = pd.DataFrame({
        "user_id": np.asarray(user_ids)[rows],
        "rank": (ranks + 1).astype(np.int64),
        "item_id": np.asarray(item_ids)[indices[keep]],
        "score": scores[keep].astype(np.float32),
    })
    if titles is not None:
        frame["title"] = np.asarray(titles)[indices[keep]]
    return frame
