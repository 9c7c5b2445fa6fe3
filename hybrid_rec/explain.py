"""Explanations: a score split exactly into one part per user feature, rated item and bias.

LightFM scores user ``u`` and item ``i`` as ``p_u . q_i + b_u + b_i``, where the
user vector ``p_u = sum_f x_uf e_f`` and bias ``b_u = sum_f x_uf beta_f`` are
sums over the user's feature row ``x_u``. So feature ``f`` contributes
``x_uf e_f . q_i``, and the user and item biases are two more parts.

A folded-in new user has ``p = p0 + d``, ``p0`` being the metadata vector.
At the optimum of the fold-in objective (:mod:`hybrid_rec.foldin`) its
gradient vanishes::

    t * sum_r w_r q_r  -  t * W * qbar  -  lam * d  =  0,
    W = sum_r w_r,   qbar = sum_j pi_j q_j,   pi = softmax(t * (Q p + b)),

so ``d = (t / lam) * sum_r w_r (q_r - qbar)``: the shift is a sum of one
term per rated item, the pull towards that item's vector beyond the
catalogue's softmax-weighted mean. Rated item ``r`` therefore contributes
``(t / lam) * w_r * (q_r - qbar) . q_i`` to the score of item ``i``. The
identity is exact at the optimum; fold-in stops within its tolerance, so the
parts add up to the score to within that tolerance and float32 rounding.

Every part is a vector in embedding space, and its contribution to any item
is one dot product; :class:`UserParts` holds them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .exceptions import InputDataError
from .features import _number
from .idmap import IdMap

__all__ = ["UserParts", "explain_items", "explanation_column", "feature_label",
           "known_user_parts", "new_user_parts", "top_reasons"]

COLUMNS = ["user_id", "item_id", "kind", "feature", "label", "contribution"]


@dataclass
class UserParts:
    """One user's score decomposition, ready to apply to any item.

    Attributes
    ----------
    user_id : object
        The user's external id.
    kinds : list of str
        ``"feature"`` (a user feature) or ``"rating"`` (a folded-in rated item).
    names : list of str
        The feature name (``"age:25-34"``) or the rated item's id.
    labels : list of str
        Human-readable labels (``"age 25-34"``, ``"rated Star Wars (1977) 5"``).
    vectors : ndarray of shape (n_parts, no_components)
        Each part's share of the user vector; they sum to it.
    bias : float
        The user bias (the same for every item).
    """

    user_id: object
    kinds: list
    names: list
    labels: list
    vectors: np.ndarray
    bias: float

    def contributions(self, item_vectors: np.ndarray) -> np.ndarray:
        """Contribution of each part to each item: shape (n_parts, n_items)."""
        return self.vectors @ np.asarray(item_vectors, dtype=np.float64).T


def feature_label(side, name: str) -> str:
    """A readable label for a feature name: ``"age:25-34"`` -> ``"age 25-34"``.

    Buckets read ``"<name> <range>"``, identities ``"<user|item> id <id>"``,
    every other kind ``"<name>: <value>"``.
    """
    entry, _, value = name.partition(":")
    kind = next((f.kind for f in side.features if f.name == entry), None)
    if kind == "identity":
        return f"{side.side.rstrip('s')} id {value}"
    if kind == "bucket":
        return f"{entry} {value}"
    return f"{entry}: {value}"


def _feature_parts(model, row) -> tuple[list, list, list, np.ndarray, float]:
    """Kinds, names, labels, vectors and bias of the user features in one CSR row."""
    cols, weights = row.indices, row.data.astype(np.float64)
    names = [model.user_encoder_.feature_names[c] for c in cols]
    labels = [feature_label(model.spec_.users, n) for n in names]
    vectors = weights[:, None] * model.user_embeddings_[cols].astype(np.float64)
    bias = float(weights @ model.user_biases_[cols].astype(np.float64))
    return ["feature"] * len(cols), names, labels, vectors, bias


def known_user_parts(model, user_id) -> UserParts:
    """The decomposition of a user seen in training."""
    model._check_fitted()
    try:
        index = int(model.user_ids_.to_index(np.atleast_1d(user_id), what="user id")[0])
    except InputDataError as e:
        raise InputDataError(f"{e}; use explain_new for users not seen in training") from None
    kinds, names, labels, vectors, bias = _feature_parts(model, model.user_features_[index])
    return UserParts(model.user_ids_.ids[index], kinds, names, labels,
                     vectors.reshape(-1, model.no_components), bias)


def new_user_parts(model, users: pd.DataFrame, ratings: pd.DataFrame | None = None, *,
                   user_tags: pd.DataFrame | None = None, fold_in: bool = True) -> list:
    """Decompositions of brand-new users, in the order of ``users``.

    The inputs mean what they mean for
    :meth:`~hybrid_rec.model.HybridRecommender.recommend_new`; the user
    vectors come from the same call, so the parts explain exactly the scores
    it gives.
    """
    ids, _, vectors, _ = model.new_user_representations(users, ratings, user_tags=user_tags,
                                                        fold_in=fold_in)
    new_ids = IdMap(ids)
    features, _ = model.user_encoder_.transform(ids, users, user_tags, identity=False,
                                                id_map=new_ids)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # already given by new_user_representations
        _, signal = model._new_ratings(ratings, new_ids)
    values = _rating_values(model, ratings, new_ids)
    result = []
    for row in range(len(ids)):
        kinds, names, labels, parts, bias = _feature_parts(model, features[row])
        lo, hi = signal.indptr[row], signal.indptr[row + 1]
        if fold_in and hi > lo:
            items, weights = signal.indices[lo:hi], signal.data[lo:hi]
            shares = _rating_shares(model, vectors[row], items, weights)
            parts = np.vstack([parts.reshape(-1, model.no_components), shares])
            for i in items:
                kinds.append("rating")
                names.append(str(model.item_ids_.ids[i]))
                labels.append(_rating_label(model, i, values.get((row, int(i)))))
        result.append(UserParts(ids[row], kinds, names, labels,
                                parts.reshape(-1, model.no_components), bias))
    return result


def _rating_shares(model, vector, items, weights) -> np.ndarray:
    """Each rated item's share ``(t / lam) w_r (q_r - qbar)`` of the fold-in shift."""
    q = model.item_vectors_.astype(np.float64)
    t, lam = model.fold_in_temperature, model.fold_in_regularisation
    logits = t * (q @ vector.astype(np.float64) + model.item_bias_vector_)
    p = np.exp(logits - logits.max())
    qbar = (p / p.sum()) @ q
    return (t / lam) * np.asarray(weights, dtype=np.float64)[:, None] * (q[items] - qbar)


def _rating_values(model, ratings, new_ids: IdMap) -> dict:
    """(user row, item index) -> rating value, the last row winning."""
    inter = model.spec_.interactions
    if ratings is None or len(ratings) == 0 or not inter.rating:
        return {}
    u = new_ids.to_index(ratings[inter.user], missing="ignore")
    i = model.item_ids_.to_index(ratings[inter.item], missing="ignore")
    values = pd.to_numeric(ratings[inter.rating], errors="coerce").to_numpy()
    return {(int(a), int(b)): v for a, b, v in zip(u, i, values) if a >= 0 and b >= 0}


def _rating_label(model, index: int, value) -> str:
    title = model.item_titles_[index] if model.item_titles_ is not None else ""
    name = title or f"item {model.item_ids_.ids[index]}"
    if value is None or not np.isfinite(value):
        return f"rated {name}"
    return f"rated {name} {_number(value)}"


def explain_items(model, parts: UserParts, item_ids) -> pd.DataFrame:
    """The full split of the user's score for each item, largest contribution first.

    Returns
    -------
    DataFrame with columns user_id, item_id, kind, feature, label,
    contribution: one row per part and item, plus a ``"user bias"`` and an
    ``"item bias"`` row per item. Per item, ``contribution`` sums to the
    score ``recommend`` or ``recommend_new`` gives.
    """
    item_ids = np.atleast_1d(np.asarray(item_ids))
    index = model.item_ids_.to_index(item_ids, what="item id")
    values = parts.contributions(model.item_vectors_[index])
    frames = []
    for j, item in enumerate(model.item_ids_.ids[index]):
        frame = pd.DataFrame({
            "kind": parts.kinds + ["user bias", "item bias"],
            "feature": parts.names + ["", ""],
            "label": parts.labels + ["user bias", "item bias"],
            "contribution": np.concatenate(
                [values[:, j], [parts.bias, float(model.item_bias_vector_[index[j]])]]),
        })
        frame = frame.sort_values("contribution", ascending=False, kind="stable")
        frame.insert(0, "item_id", item)
        frame.insert(0, "user_id", parts.user_id)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def top_reasons(parts: UserParts, item_vector: np.ndarray, n: int) -> str:
    """The ``n`` largest feature and rating contributions, as ``label (+0.123); ...``."""
    values = parts.contributions(item_vector[None, :])[:, 0]
    order = np.argsort(-values, kind="stable")[:n]
    return "; ".join(f"{parts.labels[p]} ({values[p]:+.3f})" for p in order)


def explanation_column(model, users: pd.DataFrame, ratings: pd.DataFrame | None,
                       recs: pd.DataFrame, n: int = 3, *, fold_in: bool = True,
                       user_tags: pd.DataFrame | None = None) -> pd.Series:
    """The top ``n`` reasons for every row of a ``recommend_new`` table.

    Parameters
    ----------
    model : HybridRecommender
    users, ratings, user_tags, fold_in
        What ``recommend_new`` was given for ``recs``.
    recs : DataFrame
        Its output (user_id, rank, item_id, ...).
    n : int
        How many reasons per recommendation.

    Returns
    -------
    Series of str aligned with ``recs.index``: the user features and rated
    items that add most to each score, largest first, as ``label (+0.123)``
    joined by ``"; "``. The biases are left out: the user bias is the same for
    every item and the item bias does not depend on the user.
    """
    id_column = model.spec_.users.id
    by_user = {}
    for p in new_user_parts(model, users, ratings, user_tags=user_tags, fold_in=fold_in):
        by_user[p.user_id] = p
    keys = IdMap(users[id_column].to_numpy())
    user_keys = keys.coerce(recs["user_id"])
    items = model.item_ids_.to_index(recs["item_id"], what="item id")
    reasons = [top_reasons(by_user[u], model.item_vectors_[i], n)
               for u, i in zip(user_keys, items)]
    return pd.Series(reasons, index=recs.index, name="explanation", dtype=object)
