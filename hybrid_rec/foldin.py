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
steps on a ``no_components``-sized system solve it, in about a millisecond
per user on a catalogue of a few thousand items.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fold_in"]


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
