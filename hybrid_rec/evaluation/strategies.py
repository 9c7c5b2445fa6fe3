"""Strategies compared by the evaluation harness, each a score matrix per test case.

Every strategy takes the shared :class:`Context` of one split (the models
trained once per seed) and one :class:`CaseData`, and returns scores of
shape (case users x catalogue); higher is better. The harness ranks only
the protocol's candidate items and excludes what each user revealed.

Baselines train on the same training data as the hybrid model, with the
same seed. Implicit's ALS runs on one thread (and one BLAS thread), so
every strategy is reproducible for a given seed.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..idmap import IdMap
from ..interactions import build_interactions
from ..model import HybridRecommender
from ..scoring import to_frame, top_k
from ..spec import FeatureSpec, Spec

__all__ = ["ALS_PARAMS", "STRATEGIES", "CaseData", "Context", "Strategy", "popular_items"]

logger = logging.getLogger(__name__)

# Implicit's ALS on the binary "rated" signal. Picked from eight settings (16-64 factors,
# regularisation 0.05-10, alpha 1-20) by NDCG@10 for new MovieLens 100k users; none of
# them came near popularity, and strong regularisation did best.
ALS_PARAMS = {"factors": 32, "regularization": 10.0, "alpha": 1.0, "iterations": 15}


def popular_items(popularity: np.ndarray, item_ids: IdMap, user_ids, rated: pd.DataFrame,
                  k: int, user_col: str = "user_id", item_col: str = "item_id"
                  ) -> pd.DataFrame:
    """Recommendation table of the most popular items, minus what each user rated.

    Ties go to the lower item index, as in every other list.
    """
    user_ids = np.asarray(user_ids)
    exclude = _matrix(IdMap(user_ids), item_ids, rated, user_col, item_col)
    zeros = np.zeros((len(user_ids), 1), dtype=np.float32)
    idx, scores = top_k(zeros, np.zeros(len(user_ids)), np.zeros((len(item_ids), 1)),
                        np.asarray(popularity, dtype=np.float32), k, exclude)
    return to_frame(user_ids, idx, scores, item_ids.ids)


def _matrix(users: IdMap, items: IdMap, frame: pd.DataFrame, user_col: str,
            item_col: str) -> sp.csr_matrix:
    """Binary users x items matrix of the rows of ``frame`` (unknown ids dropped)."""
    u = users.to_index(frame[user_col], missing="ignore")
    i = items.to_index(frame[item_col], missing="ignore")
    ok = (u >= 0) & (i >= 0)
    m = sp.csr_matrix((np.ones(ok.sum(), dtype=np.float32), (u[ok], i[ok])),
                      shape=(len(users), len(items)))
    m.sum_duplicates()
    m.data[:] = 1.0          # a user who rated an item twice still revealed it once
    return m


@dataclass
class CaseData:
    """One case in model indices: the users, what they revealed, what is relevant."""

    shots: int
    ids: np.ndarray
    users: pd.DataFrame
    revealed: pd.DataFrame
    revealed_matrix: sp.csr_matrix
    relevant: sp.csr_matrix
    train_rows: np.ndarray | None = None    # rows in training (warm users), else None


class Context:
    """Models trained once per split and shared by the strategies.

    Parameters
    ----------
    spec : Spec
    split : Split
    model_params : dict
        HybridRecommender parameters (also used for the ids-only LightFM).
    als_params : dict
        Parameters of implicit's AlternatingLeastSquares.
    """

    def __init__(self, spec, split, model_params: dict, als_params: dict | None = None):
        self.spec, self.split = spec, split
        self.model_params = dict(model_params)
        self.als_params = dict(ALS_PARAMS if als_params is None else als_params)
        self.fit_seconds: dict[str, float] = {}

    def _timed(self, name: str, build):
        started = time.perf_counter()
        value = build()
        self.fit_seconds[name] = time.perf_counter() - started
        logger.debug("%s ready in %.2f s", name, self.fit_seconds[name])
        return value

    def train_item_tags(self):
        """The item tags of training items only: new items must not shape the vocabulary."""
        tags, items = self.split.item_tags, self.split.items
        if tags is None or items is None:
            return tags
        entity = next((f.option("entity", self.spec.items.id) for f in self.spec.items.features
                       if f.kind == "tags"), self.spec.items.id)
        return tags[tags[entity].isin(items[self.spec.items.id])]

    @cached_property
    def hybrid(self) -> HybridRecommender:
        """The hybrid model on the training data (new items added from their features)."""
        def build():
            s = self.split
            model = HybridRecommender(self.spec, **self.model_params)
            model.fit(s.train, s.users, s.items, item_tags=self.train_item_tags())
            if s.new_items is not None:
                model.add_items(s.new_items, item_tags=s.item_tags)
            return model
        return self._timed("hybrid", build)

    @property
    def item_ids(self) -> IdMap:
        return self.hybrid.item_ids_

    @property
    def user_ids(self) -> IdMap:
        return self.hybrid.user_ids_

    @cached_property
    def interactions(self):
        """Training signal and seen-set in the hybrid model's indices."""
        return build_interactions(self.split.train, self.spec.interactions, self.user_ids,
                                  self.item_ids)

    @cached_property
    def popularity(self) -> np.ndarray:
        return np.asarray(self.interactions.signal.tocsr().sum(axis=0)).ravel()

    @cached_property
    def ids_only(self):
        """LightFM with ids only: one embedding per training user and per item."""
        from lightfm import LightFM

        def build():
            p = self.model_params
            model = LightFM(no_components=p.get("no_components", 16),
                            loss=p.get("loss", "warp"),
                            learning_rate=p.get("learning_rate", 0.05),
                            item_alpha=p.get("item_alpha", 1e-6),
                            user_alpha=p.get("user_alpha", 1e-6),
                            max_sampled=p.get("max_sampled", 10),
                            random_state=p.get("random_state", 0))
            data = self.interactions
            model.fit(data.signal, sample_weight=data.weights, epochs=p.get("epochs", 30),
                      num_threads=1)
            return model
        return self._timed("LightFM ids only", build)

    @cached_property
    def als(self):
        """Implicit's ALS on the seen-set, on one thread."""
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        def build():
            with threadpool_limits(1, "blas"):
                model = AlternatingLeastSquares(
                    **self.als_params, num_threads=1,
                    random_state=self.model_params.get("random_state", 0))
                model.fit(self.interactions.seen, show_progress=False)
                model.YtY  # cached here, so that new users' timings leave it out
            return model
        return self._timed("ALS (implicit)", build)

    @cached_property
    def item_profiles(self) -> sp.csr_matrix:
        """Training seen-set with unit-norm item columns (cosine item-item similarity)."""
        seen = self.interactions.seen.tocsc().astype(np.float64)
        norms = np.sqrt(np.asarray(seen.multiply(seen).sum(axis=0)).ravel())
        scale = sp.diags(np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 0.0))
        return (seen @ scale).tocsr()


def _scores(vectors, biases, item_vectors, item_biases) -> np.ndarray:
    out = np.asarray(vectors, dtype=np.float64) @ np.asarray(item_vectors, np.float64).T
    return out + np.asarray(biases, np.float64)[:, None] + np.asarray(item_biases)[None, :]


def _broadcast(row: np.ndarray, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(row, dtype=np.float64), (n, len(row)))


# ----------------------------------------------------------------------
# The strategies
# ----------------------------------------------------------------------
def popularity(ctx: Context, case: CaseData) -> np.ndarray:
    """Most liked training items."""
    return _broadcast(ctx.popularity, len(case.ids))


def segment_popularity(ctx: Context, case: CaseData) -> np.ndarray:
    """Most liked among training users of the same segment (age bucket and gender)."""
    train_users = ctx.split.users
    id_col = ctx.spec.users.id
    train_keys = _segments(ctx.spec, train_users.set_index(id_col).reindex(ctx.user_ids.ids))
    new_keys = _segments(ctx.spec, case.users.set_index(id_col).reindex(case.ids))
    codes, uniques = pd.factorize(pd.concat([train_keys, new_keys], ignore_index=True))
    train_codes, new_codes = codes[:len(train_keys)], codes[len(train_keys):]
    signal = ctx.interactions.signal.tocsr()
    member = sp.csr_matrix((np.ones(len(train_codes)), (train_codes, np.arange(len(train_codes)))),
                           shape=(len(uniques), len(train_codes)))
    by_segment = np.asarray((member @ signal).todense())
    tiebreak = ctx.popularity / (ctx.popularity.max() + 1.0)
    return by_segment[new_codes] + tiebreak[None, :]


SEGMENT_FEATURES = ("age", "gender")


def _no_segments(ctx: Context) -> str | None:
    """Why segment popularity cannot run on this spec and data, or None."""
    users = ctx.split.users
    found = [f for f in ctx.spec.users.features if f.name in SEGMENT_FEATURES
             and users is not None and f.column in users.columns]
    if not found:
        return (f"the spec has no user feature named {' or '.join(SEGMENT_FEATURES)} "
                "with data")
    return None


def _segments(spec, users: pd.DataFrame) -> pd.Series:
    """One text key per user from the spec's segment features (age bucket, gender)."""
    parts = []
    for f in spec.users.features:
        if f.name not in SEGMENT_FEATURES or f.column not in users.columns:
            continue
        values = users[f.column]
        if f.kind == "bucket":
            x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
            edges = f.option("edges")
            b = (np.digitize(x, edges) if edges is not None
                 else np.floor(x / f.option("width")))
            values = pd.Series(np.where(np.isnan(x), np.nan, b), index=users.index)
        parts.append(values.astype(str))
    key = parts[0]
    for p in parts[1:]:
        key = key + "|" + p
    return key.reset_index(drop=True)


def _ids_only_items(ctx: Context):
    m = ctx.ids_only
    return m.item_embeddings, m.item_biases


def ids_only(ctx: Context, case: CaseData) -> np.ndarray:
    """LightFM with ids only: new users have no vector, so only the item biases rank."""
    q, b = _ids_only_items(ctx)
    if case.train_rows is not None:
        m = ctx.ids_only
        return _scores(m.user_embeddings[case.train_rows], m.user_biases[case.train_rows], q, b)
    return _broadcast(b, len(case.ids))


def _pooled_user(ctx: Context, case: CaseData, pool) -> np.ndarray:
    m = ctx.ids_only
    q, b = _ids_only_items(ctx)
    vector = pool(m.user_embeddings, axis=0)[None, :]
    row = _scores(vector, [pool(m.user_biases)], q, b)[0]
    return _broadcast(row, len(case.ids))


def mean_embedding(ctx: Context, case: CaseData) -> np.ndarray:
    """The mean of the ids-only model's user embeddings, for every new user."""
    return _pooled_user(ctx, case, np.mean)


def median_embedding(ctx: Context, case: CaseData) -> np.ndarray:
    """The element-wise median of the ids-only model's user embeddings."""
    return _pooled_user(ctx, case, np.median)


def item_knn(ctx: Context, case: CaseData) -> np.ndarray:
    """Sum of cosine similarities (training co-ratings) to the revealed items."""
    x = ctx.item_profiles
    similar = (case.revealed_matrix.astype(np.float64) @ x.T) @ x
    return np.asarray(similar.todense()) if sp.issparse(similar) else np.asarray(similar)


def als(ctx: Context, case: CaseData) -> np.ndarray:
    """Implicit's ALS; new users get factors from ``recalculate_user``."""
    from threadpoolctl import threadpool_limits

    model = ctx.als
    if case.train_rows is not None:
        factors = model.user_factors[case.train_rows]
    else:
        with threadpool_limits(1, "blas"):
            factors = model.recalculate_user(np.arange(len(case.ids)), case.revealed_matrix)
    return np.asarray(factors, np.float64) @ np.asarray(model.item_factors, np.float64).T


def _hybrid_new(ctx: Context, case: CaseData, fold_in: bool) -> np.ndarray:
    model = ctx.hybrid
    _, biases, vectors, _ = model.new_user_representations(case.users, case.revealed,
                                                           fold_in=fold_in)
    return _scores(vectors, biases, model.item_vectors_, model.item_bias_vector_)


def metadata_only(ctx: Context, case: CaseData) -> np.ndarray:
    """The hybrid model's metadata vector: the sum of the user's feature embeddings."""
    if case.train_rows is not None:
        model = ctx.hybrid
        return _scores(model.user_vectors_[case.train_rows],
                       model.user_bias_vector_[case.train_rows], model.item_vectors_,
                       model.item_bias_vector_)
    return _hybrid_new(ctx, case, fold_in=False)


def fold_in(ctx: Context, case: CaseData) -> np.ndarray:
    """The metadata vector refined from the revealed ratings, items frozen."""
    return _hybrid_new(ctx, case, fold_in=True)


def _retrain(ctx: Context, case: CaseData, spec) -> np.ndarray:
    s = ctx.split
    users = None if s.users is None else pd.concat([s.users, case.users], ignore_index=True)
    model = HybridRecommender(spec, **ctx.model_params)
    model.fit(pd.concat([s.train, case.revealed], ignore_index=True), users, s.items,
              item_tags=ctx.train_item_tags())
    rows = model.user_ids_.to_index(case.ids, what="user id")
    columns = model.item_ids_.to_index(ctx.item_ids.ids, what="item id")
    return _scores(model.user_vectors_[rows], model.user_bias_vector_[rows],
                   model.item_vectors_[columns], model.item_bias_vector_[columns])


def full_retrain(ctx: Context, case: CaseData) -> np.ndarray:
    """A new hybrid model, same spec, trained with the revealed ratings included."""
    return _retrain(ctx, case, ctx.spec)


def with_user_ids(spec: Spec) -> Spec:
    """The spec with a user identity feature added, so each user gets a vector of its own."""
    names = {f.name for f in spec.users.features}
    name = next(n for n in ("id", "user id", "user_id_identity") if n not in names)
    identity = FeatureSpec(name=name, kind="identity", column=spec.users.id)
    users = dataclasses.replace(spec.users, features=spec.users.features + (identity,))
    return dataclasses.replace(spec, users=users)


def full_retrain_with_ids(ctx: Context, case: CaseData) -> np.ndarray:
    """A retrain where every user, new ones included, also has an id embedding."""
    return _retrain(ctx, case, with_user_ids(ctx.spec))


def _has_user_ids(ctx: Context) -> str | None:
    if ctx.spec.users.identity is not None:
        return "the spec already gives users an identity feature (see full retrain)"
    return None


def random_order(ctx: Context, case: CaseData) -> np.ndarray:
    """Uniformly random scores (seeded): the floor any strategy must clear."""
    rng = np.random.default_rng(ctx.model_params.get("random_state", 0))
    return rng.random((len(case.ids), len(ctx.item_ids)))


def feature_popularity(ctx: Context, case: CaseData) -> np.ndarray:
    """Each item scored by the mean popularity of training items sharing its features."""
    model = ctx.hybrid
    features = model.item_features_.tocsr()
    n_new = 0 if ctx.split.new_items is None else len(ctx.split.new_items)
    n_known = features.shape[0] - n_new
    known = features[:n_known]
    carriers = np.asarray((known > 0).sum(axis=0)).ravel()
    totals = known.T @ ctx.popularity[:n_known]
    per_feature = np.where(carriers > 0, totals / np.maximum(carriers, 1), 0.0)
    return _broadcast(features @ per_feature, len(case.ids))


@dataclass(frozen=True)
class Strategy:
    """A named strategy, the protocols it applies to and the fewest ratings it needs."""

    name: str
    score: object
    protocols: tuple[str, ...]
    min_shots: int = 0
    needs: tuple[str, ...] = ("hybrid", "interactions")
    unavailable: object = None      # ctx -> the reason it cannot run here, or None


_NEW_USERS, _NEW_ITEMS, _WARM = ("new-users",), ("new-items",), ("warm",)
_IDS = ("interactions", "ids_only")

STRATEGIES: dict[str, Strategy] = {s.name: s for s in (
    Strategy("random", random_order, _NEW_ITEMS),
    Strategy("popularity", popularity, _NEW_USERS + _WARM),
    Strategy("segment popularity", segment_popularity, _NEW_USERS,
             unavailable=_no_segments),
    Strategy("feature popularity", feature_popularity, _NEW_ITEMS),
    Strategy("mean embedding", mean_embedding, _NEW_USERS, needs=_IDS),
    Strategy("median embedding", median_embedding, _NEW_USERS, needs=_IDS),
    Strategy("item-kNN", item_knn, _NEW_USERS + _WARM, min_shots=1,
             needs=("interactions", "item_profiles")),
    Strategy("ALS (implicit)", als, _NEW_USERS + _WARM, min_shots=1,
             needs=("interactions", "als")),
    Strategy("LightFM ids only", ids_only, _NEW_USERS + _NEW_ITEMS + _WARM, needs=_IDS),
    Strategy("metadata only", metadata_only, _NEW_USERS + _NEW_ITEMS),
    Strategy("hybrid", metadata_only, _WARM),
    Strategy("fold-in", fold_in, _NEW_USERS),
    Strategy("full retrain", full_retrain, _NEW_USERS),
    Strategy("full retrain + user ids", full_retrain_with_ids, _NEW_USERS,
             unavailable=_has_user_ids),
)}
