"""Fold-in: a vector for a new user from a few ratings, with the items frozen.

Only the user's vector ``u`` moves; every item keeps the representation
training gave it (``q_i``, ``b_i``). Starting from ``u0``, the sum of the
user's metadata feature embeddings, we maximise

    sum_i w_i * log softmax(t * s)_i  -  (lam / 2) * ||u - u0||^2,
    where s_j = q_j . u + b_j over the whole catalogue,

a smooth surrogate of the ranking losses LightFM trains with: the rated
items should rank above the rest. ``t`` is a temperature and ``lam`` pulls
the answer back towards the metadata vector, so one rating moves it a
little and ten move it more. The objective is concave, and a few Newton
steps on a ``no_components``-sized system solve it.

:func:`fold_in_many` solves the same problem for a chunk of users at once:
each Newton step is a few matrix products over the chunk (scores, softmax
means and second moments) and one batched solve, and users leave the active
set as they converge, under the same stopping rule as :func:`fold_in`. The
matrix products run on NumPy's BLAS (threads: see :mod:`hybrid_rec.threads`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .threads import SMALL_CELLS, single_blas_thread

__all__ = ["fold_in", "fold_in_many"]

# Largest users x items block (float32 cells) one Newton step of
# fold_in_many works on: it bounds the step's memory (4 MB) and keeps it in cache.
BLOCK_CELLS = 1_000_000


def fold_in(item_vectors: np.ndarray, item_biases: np.ndarray, start: np.ndarray,
            items: np.ndarray, weights: np.ndarray, regularisation: float = 1.0,
            temperature: float = 0.5, max_iter: int = 25, tol: float = 1e-6) -> np.ndarray:
    """Optimise one user's vector against frozen item representations.

    Parameters
    ----------
    item_vectors : ndarray of shape (n_items, no_components)
    item_biases : ndarray of shape (n_items,)
    start : ndarray of shape (no_components,)
        The metadata vector: where the search starts and what it is pulled to.
    items : ndarray of int
        Indices of the items the user showed interest in.
    weights : ndarray of float
        One positive weight per entry of ``items``.
    regularisation : float
        Strength ``lam`` of the pull towards ``start``.
    temperature : float
        Scale ``t`` applied to scores inside the softmax.

    Returns
    -------
    ndarray of shape (no_components,), float32
    """
    q = np.asarray(item_vectors, dtype=np.float64)
    b = np.asarray(item_biases, dtype=np.float64)
    u0 = np.asarray(start, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    total = w.sum()
    if len(items) == 0 or total <= 0:
        return u0.astype(np.float32)
    target = temperature * (w @ q[items])
    eye = regularisation * np.eye(len(u0))
    u = u0.copy()
    for _ in range(max_iter):
        logits = temperature * (q @ u + b)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        mean = p @ q
        grad = target - temperature * total * mean - regularisation * (u - u0)
        cov = (q * p[:, None]).T @ q - np.outer(mean, mean)
        hess = temperature**2 * total * cov + eye
        step = np.linalg.solve(hess, grad)
        u += step
        if np.abs(step).max() <= tol * (1.0 + np.abs(u).max()):
            break
    return u.astype(np.float32)


def fold_in_many(item_vectors: np.ndarray, item_biases: np.ndarray, starts: np.ndarray,
                 signal: sp.csr_matrix, regularisation: float = 1.0, temperature: float = 0.5,
                 max_iter: int = 25, tol: float = 1e-6,
                 block_cells: int = BLOCK_CELLS) -> np.ndarray:
    """Fold-in for many users at once; row ``r`` equals :func:`fold_in` for user ``r``.

    Parameters
    ----------
    item_vectors : ndarray of shape (n_items, no_components)
    item_biases : ndarray of shape (n_items,)
    starts : ndarray of shape (n_users, no_components)
        Each user's metadata vector.
    signal : sparse matrix of shape (n_users, n_items)
        Weight of each item a user showed interest in; a user whose row is
        empty (or sums to zero) keeps its start vector.
    regularisation, temperature, max_iter, tol
        As in :func:`fold_in`.
    block_cells : int
        Users are solved in chunks of about ``block_cells / n_items`` users.

    Returns
    -------
    ndarray of shape (n_users, no_components), float32
    """
    q = np.asarray(item_vectors, dtype=np.float64)
    b = np.asarray(item_biases, dtype=np.float64)
    signal = sp.csr_matrix(signal, dtype=np.float64)
    out = np.array(starts, dtype=np.float32)
    totals = np.asarray(signal.sum(axis=1)).ravel()
    rows = np.flatnonzero((np.diff(signal.indptr) > 0) & (totals > 0))
    if len(rows) == 0:
        return out
    moments = _Moments(q)
    chunk = max(1, block_cells // max(1, len(q)))
    settings = (regularisation, temperature, max_iter, tol)
    for lo in range(0, len(rows), chunk):
        part = rows[lo:lo + chunk]
        u0 = np.asarray(starts[part], dtype=np.float64)
        target = temperature * np.asarray(signal[part] @ q)
        with single_blas_thread(len(part) * len(q) < SMALL_CELLS):
            out[part] = _newton(q, b, moments, u0, target, totals[part], *settings)
    return out


class _Moments:
    """Per-item products q_j q_j^T (upper triangle), for softmax second moments."""

    def __init__(self, q: np.ndarray):
        dim = q.shape[1]
        self.dim = dim
        self.upper = np.triu_indices(dim)
        self.products = np.asarray(q[:, self.upper[0]] * q[:, self.upper[1]], dtype=np.float32)

    def second(self, p: np.ndarray) -> np.ndarray:
        """sum_j p_j q_j q_j^T for each row of ``p``, as (n_rows, dim, dim) float64."""
        flat = p @ self.products
        full = np.empty((len(p), self.dim, self.dim))
        full[:, self.upper[0], self.upper[1]] = flat
        full[:, self.upper[1], self.upper[0]] = flat
        return full


def _newton(q, b, moments, u0, target, totals, regularisation, temperature, max_iter, tol):
    """Newton iterations for a chunk of users; converged users stop moving.

    The users x items work (scores, softmax, moments) runs in float32, the
    small per-user systems in float64.
    """
    q32 = q.astype(np.float32)
    tb32 = (temperature * b).astype(np.float32)
    block = np.empty((len(u0), len(q)), dtype=np.float32)
    u = u0.copy()
    eye = regularisation * np.eye(q.shape[1])
    active = np.arange(len(u))
    for _ in range(max_iter):
        ua, total = u[active], totals[active][:, None]
        p = _softmax(block[:len(active)], (temperature * ua).astype(np.float32), q32, tb32)
        mean = np.asarray(p @ q32, dtype=np.float64)
        grad = (target[active] - temperature * total * mean
                - regularisation * (ua - u0[active]))
        cov = moments.second(p) - mean[:, :, None] * mean[:, None, :]
        hess = (temperature**2 * total)[:, :, None] * cov + eye
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        ua = ua + step
        u[active] = ua
        done = np.abs(step).max(axis=1) <= tol * (1.0 + np.abs(ua).max(axis=1))
        active = active[~done]
        if len(active) == 0:
            break
    return u.astype(np.float32)


def _softmax(out: np.ndarray, scaled_users: np.ndarray, q32: np.ndarray,
             scaled_biases: np.ndarray) -> np.ndarray:
    """Row-wise softmax of t * (q . u + b), computed in place in ``out``."""
    np.matmul(scaled_users, q32.T, out=out)
    out += scaled_biases
    out -= out.max(axis=1, keepdims=True)
    np.exp(out, out=out)
    out /= out.sum(axis=1, keepdims=True)
    return out
