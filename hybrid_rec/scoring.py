"""Top-k scoring: one matrix product per chunk of users, masked, then partial selection.

Scores are ``q_i . u + b_i + b_u``. Biases ride along in the matrix product
(users get the extra columns ``[b_u, 1]``, items ``[1, b_i]``), so a chunk
costs one float32 product, one scatter of ``-inf`` over the excluded items
and a partial selection; only the ``k`` chosen items per user are then
sorted. The product runs on NumPy's BLAS, multi-threaded (threads: see
:mod:`hybrid_rec.threads`); the selection runs on one thread.

The selection, not the product, dominates the time: a row of 10,000 float32
scores costs far less to multiply out than to ``argpartition``. On larger
catalogues the row is therefore cut into groups of ``g`` columns (column
``j`` belongs to group ``j mod (n / g)``: strided, so the group maxima are
one vectorised reduction over whole rows). The ``k`` groups with the largest
maxima hold the ``k`` best cells: a cell outside them is at most its group's
maximum, which is at most the ``k``-th largest maximum, which the ``k``
chosen group maxima all reach. So the exact top-k is taken among those
``k * g`` candidates instead of all ``n`` cells. Only when another group's
maximum ties with the cut could a cell outside the candidates tie with the
``k``-th chosen one; such rows are redone over the whole row.

Ties are broken by the lower item index, so the same input always gives the
same lists, whatever the chunk size. Items a user may not get (already
rated, excluded) score ``-inf`` and never appear; a user with fewer than
``k`` items left gets a shorter list.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .threads import SMALL_CELLS, single_blas_thread

__all__ = ["BLOCK_CELLS", "candidate_columns", "group_width", "padded_width", "select_grouped",
           "top_k", "to_frame"]

# Users x items cells scored at once (float32): bounds the chunk's memory to
# 16 MB whatever the catalogue size.
BLOCK_CELLS = 4_000_000


def top_k(user_vectors: np.ndarray, user_biases: np.ndarray, item_vectors: np.ndarray,
          item_biases: np.ndarray, k: int, exclude: sp.csr_matrix | None = None,
          chunk_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best items per user.

    Parameters
    ----------
    user_vectors, user_biases : ndarrays of shape (n_users, dim) and (n_users,)
    item_vectors, item_biases : ndarrays of shape (n_items, dim) and (n_items,)
    k : int
        List length.
    exclude : sparse matrix of shape (n_users, n_items), optional
        Non-zero entries are items the user must not get.
    chunk_size : int, optional
        Users per matrix product; default ``BLOCK_CELLS // n_items``.

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
    group = group_width(n_items, k)
    # Padding columns (up to a multiple of the group width) score -inf.
    width = padded_width(n_items, group)
    items = np.zeros((width, item_vectors.shape[1] + 2), dtype=np.float32)
    items[:n_items] = _augmented(item_vectors, np.ones(n_items), item_biases)
    exclude = None if exclude is None else sp.csr_matrix(exclude)
    chunk = chunk_size or max(1, BLOCK_CELLS // width)
    block = np.empty((min(chunk, n_users), width), dtype=np.float32)
    for start in range(0, n_users, chunk):
        stop = min(start + chunk, n_users)
        users = _augmented(user_vectors[start:stop], user_biases[start:stop],
                           np.ones(stop - start))
        scored = block[:stop - start]
        with single_blas_thread((stop - start) * width < SMALL_CELLS):
            np.matmul(users, items.T, out=scored)
        scored[:, n_items:] = -np.inf
        if exclude is not None:
            _mask(scored, exclude[start:stop])
        idx, val = select_grouped(scored, k, group) if group else _select(scored, k)
        indices[start:stop] = np.where(np.isfinite(val), idx, -1)
        scores[start:stop] = val
    return indices, scores


def _augmented(vectors: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``[vectors, first, second]`` as one C-ordered float32 matrix."""
    out = np.empty((len(vectors), vectors.shape[1] + 2), dtype=np.float32)
    out[:, :-2] = vectors
    out[:, -2] = first
    out[:, -1] = second
    return out


def _mask(block: np.ndarray, exclude: sp.csr_matrix) -> None:
    """Set the excluded cells of ``block`` to -inf."""
    if exclude.nnz:
        rows = np.repeat(np.arange(len(block)), np.diff(exclude.indptr))
        block[rows, exclude.indices] = -np.inf


def _select(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k per row, best first; ties go to the lower column.

    One ``argpartition`` splits off the ``k`` best cells. When the best
    cell left behind ties with the worst one chosen, the choice among the
    tied cells was arbitrary, so those rows are redone by the exact rule.
    """
    n = block.shape[1]
    if k < n:
        part = np.argpartition(block, n - k - 1, axis=1)
        cols = part[:, n - k:]
        vals = np.take_along_axis(block, cols, axis=1)
        cut = np.take_along_axis(block, part[:, n - k - 1:n - k], axis=1)[:, 0]
        tied = np.flatnonzero(vals.min(axis=1) == cut)
        if len(tied):
            cols[tied] = _exact_columns(block[tied], k)
            vals[tied] = np.take_along_axis(block[tied], cols[tied], axis=1)
    else:
        cols = np.broadcast_to(np.arange(n), block.shape)
        vals = block
    order = np.lexsort((cols, -vals), axis=1)
    return np.take_along_axis(cols, order, axis=1), np.take_along_axis(vals, order, axis=1)


def group_width(n_items: int, k: int) -> int:
    """Columns per group for :func:`select_grouped`, or 0 to select over whole rows.

    Selecting costs about ``n / g`` (the group maxima) plus ``k * g`` (the
    candidates) per row, least near ``g = sqrt(n / k)``; a power of two
    near that. Grouping pays only when the candidates are few next to ``n``.
    """
    if k < 1 or n_items < 64 * k:
        return 0
    return int(2 ** round(np.log2(np.sqrt(n_items / k))))


def padded_width(n_items: int, group: int) -> int:
    """``n_items`` rounded up to a multiple of ``group`` (unchanged for ``group`` 0)."""
    return -(-n_items // group) * group if group else n_items


def candidate_columns(chosen: np.ndarray, group: int, n_groups: int) -> np.ndarray:
    """The columns of the chosen groups, one row per block row.

    Group j is columns j, j + n_groups, j + 2 n_groups, ...; with each row of
    ``chosen`` sorted, the columns come out ascending.
    """
    rows, k = chosen.shape
    return (chosen[:, None, :] + (np.arange(group) * n_groups)[None, :, None]).reshape(
        rows, group * k)


def select_grouped(block: np.ndarray, k: int, group: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_select` through strided groups of ``group`` columns (see the module notes).

    ``block.shape[1]`` must be a multiple of ``group``; with ``k`` groups or
    fewer it selects over whole rows. Gives exactly what :func:`_select`
    gives, ties included.
    """
    rows, n = block.shape
    n_groups = n // group
    if n_groups <= k:
        return _select(block, k)
    maxima = block.reshape(rows, group, n_groups).max(axis=1)
    part = np.argpartition(maxima, n_groups - k - 1, axis=1)
    chosen = np.sort(part[:, n_groups - k:], axis=1)
    cut = np.take_along_axis(maxima, chosen, axis=1).min(axis=1)
    runner_up = np.take_along_axis(maxima, part[:, n_groups - k - 1:n_groups - k], axis=1)[:, 0]
    # The candidate columns come out ascending, so _select's rule (ties to the
    # lower position) is the lower column.
    columns = candidate_columns(chosen, group, n_groups)
    positions, values = _select(np.take_along_axis(block, columns, axis=1), k)
    columns = np.take_along_axis(columns, positions, axis=1)
    # A cell outside the candidates can tie the k-th chosen one only where
    # an unchosen group's maximum equals the cut.
    redo = np.flatnonzero(runner_up == cut)
    if len(redo):
        columns[redo], values[redo] = _select(block[redo], k)
    return columns, values


def _exact_columns(block: np.ndarray, k: int) -> np.ndarray:
    """The columns of the top-k cells per row, ties taken from the lowest column."""
    kth = -np.partition(-block, k - 1, axis=1)[:, k - 1]
    above = block > kth[:, None]
    level = block == kth[:, None]
    need = k - above.sum(axis=1)
    chosen = above | (level & (np.cumsum(level, axis=1) <= need[:, None]))
    return np.nonzero(chosen)[1].reshape(len(block), k)


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
