"""HybridRecommender: LightFM over feature sums, with brand-new users and items.

Every user and item vector is the weighted sum of the embeddings of its
features (see :mod:`hybrid_rec.encoder`). Known users are scored with the
vector training gave them; a brand-new user gets the sum of its metadata
feature embeddings at once and, with a few ratings, a better vector by
fold-in (:mod:`hybrid_rec.foldin`) against the frozen items.
"""

from __future__ import annotations

import logging
import numbers
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .encoder import FeatureEncoder
from .exceptions import InputDataError, NotFittedError, TrainingDivergedError
from .foldin import fold_in_many
from .idmap import IdMap
from .interactions import build_interactions, check_interactions_frame
from .progress import progress
from .scoring import to_frame, top_k
from .spec import Spec, load_spec

__all__ = ["HybridRecommender"]

logger = logging.getLogger(__name__)

LOSSES = ("warp", "bpr", "warp-kos", "logistic")
FOLD_IN_SIGNALS = ("rated", "positive")


class HybridRecommender:
    """A hybrid recommender trained with LightFM on the features of a spec.

    Parameters
    ----------
    spec : Spec or str or Path
        The feature spec, or the path of its TOML file.
    no_components : int
        Dimension of the feature embeddings.
    loss : {"warp", "bpr", "warp-kos", "logistic"}
        LightFM's training loss.
    learning_rate : float
        LightFM's initial learning rate.
    epochs : int
        Passes over the interactions.
    item_alpha, user_alpha : float
        L2 penalties on item and user feature embeddings (LightFM's names).
    max_sampled : int
        Most negatives WARP samples per positive.
    random_state : int or numpy.random.Generator
        Seed of LightFM's initialisation and sampling.
    num_threads : int
        LightFM's training threads. With 1 (the default) a given
        ``random_state`` always gives the same model; with more, training
        races between threads and results vary from run to run.
    fold_in_regularisation : float
        How strongly a new user's fold-in vector stays near its metadata vector.
    fold_in_temperature : float
        Score scale inside fold-in's softmax objective.
    fold_in_signal : {"rated", "positive"}
        Which of a new user's ratings fold-in learns from: every rated item
        (the act of rating shows interest), or only ratings at or above the
        spec's positive threshold. Rated items are excluded from that user's
        recommendations either way.
    show_progress : bool or None
        Progress bar while training; None shows it only on a terminal.
    """

    def __init__(self, spec, no_components=16, loss="warp", learning_rate=0.05, epochs=30,
                 item_alpha=1e-6, user_alpha=1e-6, max_sampled=10, random_state=0,
                 num_threads=1, fold_in_regularisation=1.0, fold_in_temperature=0.5,
                 fold_in_signal="rated", show_progress=None):
        self.spec = spec
        self.no_components = no_components
        self.loss = loss
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.item_alpha = item_alpha
        self.user_alpha = user_alpha
        self.max_sampled = max_sampled
        self.random_state = random_state
        self.num_threads = num_threads
        self.fold_in_regularisation = fold_in_regularisation
        self.fold_in_temperature = fold_in_temperature
        self.fold_in_signal = fold_in_signal
        self.show_progress = show_progress

    HYPERPARAMETERS = ("no_components", "loss", "learning_rate", "epochs", "item_alpha",
                       "user_alpha", "max_sampled", "random_state", "num_threads",
                       "fold_in_regularisation", "fold_in_temperature", "fold_in_signal")

    def get_params(self) -> dict:
        """The constructor parameters, except the spec and the progress switch."""
        return {name: getattr(self, name) for name in self.HYPERPARAMETERS}

    def __repr__(self) -> str:
        state = "fitted" if self.is_fitted else "not fitted"
        return (f"HybridRecommender(no_components={self.no_components}, loss={self.loss!r}, "
                f"epochs={self.epochs}, {state})")

    # ------------------------------------------------------------------
    # Validation
    # ------------------------------------------------------------------
    def _check_params(self) -> None:
        def need(ok, name, rule):
            if not ok:
                raise ValueError(f"{name} must be {rule}, got {getattr(self, name)!r}")

        def integer(name, low=1):
            value = getattr(self, name)
            need(isinstance(value, numbers.Integral) and not isinstance(value, bool)
                 and value >= low, name, f"an integer >= {low}")

        def positive(name, allow_zero=False):
            value = getattr(self, name)
            ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
                  and np.isfinite(value) and (value >= 0 if allow_zero else value > 0))
            need(ok, name, "a finite number " + (">= 0" if allow_zero else "> 0"))

        for name in ("no_components", "epochs", "max_sampled", "num_threads"):
            integer(name)
        for name in ("learning_rate", "fold_in_temperature", "fold_in_regularisation"):
            positive(name)
        for name in ("item_alpha", "user_alpha"):
            positive(name, allow_zero=True)
        need(self.loss in LOSSES, "loss", f"one of {', '.join(LOSSES)}")
        need(self.fold_in_signal in FOLD_IN_SIGNALS, "fold_in_signal",
             f"one of {', '.join(FOLD_IN_SIGNALS)}")
        rs = self.random_state
        need((isinstance(rs, numbers.Integral) and not isinstance(rs, bool) and rs >= 0)
             or isinstance(rs, np.random.Generator), "random_state",
             "a non-negative integer or a numpy.random.Generator")

    def _seed(self) -> int:
        rs = self.random_state
        if isinstance(rs, np.random.Generator):
            return int(rs.integers(0, 2**31 - 1))
        return int(rs) % (2**31 - 1)

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "item_embeddings_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError("this HybridRecommender is not fitted yet: call fit(...) "
                                 "or HybridRecommender.load(path) first")

    # ------------------------------------------------------------------
    # Training
    # ------------------------------------------------------------------
    def fit(self, interactions: pd.DataFrame, users: pd.DataFrame | None = None,
            items: pd.DataFrame | None = None, *, user_tags: pd.DataFrame | None = None,
            item_tags: pd.DataFrame | None = None) -> "HybridRecommender":
        """Learn feature embeddings from interactions and metadata.

        Parameters
        ----------
        interactions : DataFrame
            One row per (user, item) event, with the columns the spec's
            ``[interactions]`` section names.
        users, items : DataFrame, optional
            Metadata, one row per entity, with the side's id column and the
            columns its features read. Items listed here but never rated are
            part of the catalogue too.
        user_tags, item_tags : DataFrame, optional
            Long (entity, tag) tables for ``tags`` features.

        Returns
        -------
        self
        """
        from lightfm import LightFM

        self._check_params()
        spec = self.spec if isinstance(self.spec, Spec) else load_spec(self.spec)
        frame = check_interactions_frame(interactions, spec.interactions)
        user_ids = _id_union(frame[spec.interactions.user], users, spec.users.id)
        item_ids = _id_union(frame[spec.interactions.item], items, spec.items.id)
        data = build_interactions(frame, spec.interactions, user_ids, item_ids)

        user_encoder = FeatureEncoder(spec.users).fit(user_ids, users, user_tags)
        item_encoder = FeatureEncoder(spec.items).fit(item_ids, items, item_tags)
        user_features, report = user_encoder.transform(user_ids.ids, users, user_tags,
                                                       id_map=user_ids)
        report.log("training users")
        _name_featureless("users", user_ids, user_features, data.seen, axis=1)
        item_features, report = item_encoder.transform(item_ids.ids, items, item_tags,
                                                       id_map=item_ids)
        report.log("training items")
        _name_featureless("items", item_ids, item_features, data.seen, axis=0)

        _check_widths(data.signal.shape, user_features, user_encoder.n_features,
                      item_features, item_encoder.n_features)
        model = LightFM(no_components=self.no_components, loss=self.loss,
                        learning_rate=self.learning_rate, item_alpha=self.item_alpha,
                        user_alpha=self.user_alpha, max_sampled=self.max_sampled,
                        random_state=self._seed())
        weights = data.weights if self.loss in ("warp", "bpr", "logistic") else None
        started = time.perf_counter()
        for epoch in progress(range(self.epochs), enabled=self.show_progress,
                              desc="training", unit="epoch"):
            try:
                with np.errstate(over="ignore", invalid="ignore"):
                    model.fit_partial(data.signal, user_features=user_features,
                                      item_features=item_features, sample_weight=weights,
                                      epochs=1, num_threads=self.num_threads)
            except ValueError as e:
                if "finite" not in str(e):
                    raise
                _check_finite(model, epoch + 1, self.learning_rate, force=True)
            _check_finite(model, epoch + 1, self.learning_rate)
            logger.debug("epoch %d/%d done", epoch + 1, self.epochs)
        logger.info("trained %d epochs in %.1f s (%d user features, %d item features)",
                    self.epochs, time.perf_counter() - started, user_encoder.n_features,
                    item_encoder.n_features)

        self.spec_ = spec
        self.user_ids_, self.item_ids_ = user_ids, item_ids
        self.user_encoder_, self.item_encoder_ = user_encoder, item_encoder
        self.user_features_, self.item_features_ = user_features, item_features
        self.seen_ = data.seen
        self.popularity_ = np.asarray(data.signal.tocsr().sum(axis=0)).ravel().astype(np.float32)
        self.item_titles_ = _titles(items, spec, item_ids)
        self.user_embeddings_ = model.user_embeddings.astype(np.float32)
        self.user_biases_ = model.user_biases.astype(np.float32)
        self.item_embeddings_ = model.item_embeddings.astype(np.float32)
        self.item_biases_ = model.item_biases.astype(np.float32)
        self._refresh()
        return self

    def _refresh(self) -> None:
        """Recompute the cached representations from features and embeddings."""
        self.item_vectors_ = np.asarray(self.item_features_ @ self.item_embeddings_,
                                        dtype=np.float32)
        self.item_bias_vector_ = np.asarray(self.item_features_ @ self.item_biases_,
                                            dtype=np.float32)
        self.user_vectors_ = np.asarray(self.user_features_ @ self.user_embeddings_,
                                        dtype=np.float32)
        self.user_bias_vector_ = np.asarray(self.user_features_ @ self.user_biases_,
                                            dtype=np.float32)

    # ------------------------------------------------------------------
    # Representations
    # ------------------------------------------------------------------
    def user_representations(self) -> tuple[np.ndarray, np.ndarray]:
        """(biases, vectors) of the training users, in index order (see ``user_ids``)."""
        self._check_fitted()
        return self.user_bias_vector_.copy(), self.user_vectors_.copy()

    def item_representations(self, items: pd.DataFrame | None = None,
                             item_tags: pd.DataFrame | None = None
                             ) -> tuple[np.ndarray, np.ndarray]:
        """(biases, vectors) of the catalogue, or of the given (possibly new) items."""
        self._check_fitted()
        if items is None:
            return self.item_bias_vector_.copy(), self.item_vectors_.copy()
        features = self._encode_items(items, item_tags)
        return (np.asarray(features @ self.item_biases_, dtype=np.float32),
                np.asarray(features @ self.item_embeddings_, dtype=np.float32))

    @property
    def user_ids(self) -> np.ndarray:
        """External ids of the training users, in index order."""
        self._check_fitted()
        return self.user_ids_.ids

    @property
    def item_ids(self) -> np.ndarray:
        """External ids of the catalogue, in index order."""
        self._check_fitted()
        return self.item_ids_.ids

    @property
    def feature_names(self) -> dict[str, list[str]]:
        """Feature names per side, in embedding-row order."""
        self._check_fitted()
        return {"users": self.user_encoder_.feature_names,
                "items": self.item_encoder_.feature_names}

    # ------------------------------------------------------------------
    # Recommending
    # ------------------------------------------------------------------
    def recommend(self, user_ids, k: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        """Top-k items for users seen in training.

        Returns
        -------
        DataFrame with columns user_id, rank, item_id, score (and title when
        the catalogue has titles).
        """
        self._check_fitted()
        k = _check_k(k)
        user_ids = np.atleast_1d(np.asarray(user_ids))
        try:
            index = self.user_ids_.to_index(user_ids, what="user id")
        except InputDataError as e:
            raise InputDataError(f"{e}; use recommend_new for users not seen in "
                                 "training") from None
        exclude = self.seen_[index] if exclude_seen else None
        idx, scores = top_k(self.user_vectors_[index], self.user_bias_vector_[index],
                            self.item_vectors_, self.item_bias_vector_, k, exclude)
        return to_frame(user_ids, idx, scores, self.item_ids, self.item_titles_)

    def recommend_new(self, users: pd.DataFrame, ratings: pd.DataFrame | None = None,
                      k: int = 10, *, user_tags: pd.DataFrame | None = None,
                      fold_in: bool = True) -> pd.DataFrame:
        """Top-k items for brand-new users, from their metadata and a few ratings.

        Parameters
        ----------
        users : DataFrame
            One row per new user, with the spec's user id column and the
            metadata columns its features read (missing values are fine).
        ratings : DataFrame, optional
            The new users' ratings in long format, with the columns the spec's
            ``[interactions]`` section names (user, item and, if the spec has
            one, rating). Rated items are never recommended back.
        k : int
            Length of each list.
        user_tags : DataFrame, optional
            Long (user, tag) table for ``tags`` features.
        fold_in : bool
            Refine each vector from the user's ratings. With False the
            ratings only exclude items (the metadata-only vector).

        Returns
        -------
        DataFrame with columns user_id, rank, item_id, score[, title].
        """
        self._check_fitted()
        k = _check_k(k)
        ids, biases, vectors, rated = self.new_user_representations(
            users, ratings, user_tags=user_tags, fold_in=fold_in)
        idx, scores = top_k(vectors, biases, self.item_vectors_, self.item_bias_vector_, k,
                            rated)
        return to_frame(ids, idx, scores, self.item_ids, self.item_titles_)

    def new_user_representations(self, users: pd.DataFrame,
                                 ratings: pd.DataFrame | None = None, *,
                                 user_tags: pd.DataFrame | None = None, fold_in: bool = True):
        """Vectors for brand-new users; see :meth:`recommend_new`.

        Returns
        -------
        (ids, biases, vectors, rated) : the users' ids in input order, their
        biases and vectors, and a users x items CSR matrix of what they rated.
        """
        self._check_fitted()
        spec = self.spec_
        if spec.users.id not in users.columns:
            raise InputDataError(f"new users have no id column {spec.users.id!r} "
                                 f"(found {', '.join(map(repr, users.columns))})")
        new_ids = IdMap(users[spec.users.id].to_numpy())
        features, report = self.user_encoder_.transform(
            new_ids.ids, users, user_tags, identity=False, id_map=new_ids)
        report.log("new users")
        biases = np.asarray(features @ self.user_biases_, dtype=np.float32)
        vectors = np.asarray(features @ self.user_embeddings_, dtype=np.float32)
        rated, signal = self._new_ratings(ratings, new_ids)
        has_features = np.diff(features.indptr) > 0
        has_ratings = np.diff(rated.indptr) > 0
        bare = int((~has_features & ~has_ratings).sum())
        if bare:
            logger.info("%d new user(s) have neither usable metadata nor ratings: they get "
                        "the bias-only ranking", bare)
        if fold_in and signal.nnz:
            started = time.perf_counter()
            vectors = fold_in_vectors(self, vectors, signal)
            logger.info("folded in %d new user(s) in %.3f s", int((np.diff(signal.indptr) > 0)
                        .sum()), time.perf_counter() - started)
        return new_ids.ids, biases, vectors, rated

    def _new_ratings(self, ratings: pd.DataFrame | None, new_ids: IdMap):
        """(rated, signal): CSR matrices new users x catalogue."""
        shape = (len(new_ids), len(self.item_ids_))
        empty = sp.csr_matrix(shape, dtype=np.float32)
        if ratings is None or len(ratings) == 0:
            return empty, empty
        inter = self.spec_.interactions
        frame = check_interactions_frame(ratings, inter, require_time=False,
                                         name="new users' ratings", enforce_scale=False)
        u = new_ids.to_index(frame[inter.user], missing="ignore")
        i = self.item_ids_.to_index(frame[inter.item], missing="ignore")
        if (u < 0).any():
            warnings.warn(f"{int((u < 0).sum())} rating(s) are for users not in the users "
                          f"table and were ignored", stacklevel=3)
        if (i < 0).any():
            warnings.warn(f"{int((i < 0).sum())} rating(s) are for items the model does not "
                          f"know and were ignored", stacklevel=3)
        ok = (u >= 0) & (i >= 0)
        if inter.rating and inter.rating_scale is not None:
            low, high = inter.rating_scale
            values = frame[inter.rating].to_numpy()
            outside = ok & ((values < low) | (values > high))
            if outside.any():
                warnings.warn(f"{int(outside.sum())} rating(s) are outside the spec's "
                              f"rating_scale [{low:g}, {high:g}] and were ignored", stacklevel=3)
            ok &= ~outside
        u, i = u[ok], i[ok]
        rated = sp.csr_matrix((np.ones(len(u), dtype=np.float32), (u, i)), shape=shape)
        keep = np.ones(len(u), dtype=bool)
        threshold = inter.positive_threshold
        if self.fold_in_signal == "positive" and inter.rating and threshold is not None:
            keep = frame[inter.rating].to_numpy()[ok] >= threshold
        signal = sp.csr_matrix((np.ones(keep.sum(), dtype=np.float32), (u[keep], i[keep])),
                               shape=shape)
        for m in (rated, signal):
            m.sum_duplicates()
            m.sort_indices()
        return rated, signal

    def similar_items(self, item_ids, k: int = 10) -> pd.DataFrame:
        """The ``k`` items most similar (cosine of representations) to each given item.

        Returns
        -------
        DataFrame with columns item_id, rank, similar_item_id, score[, title].
        """
        self._check_fitted()
        k = _check_k(k)
        item_ids = np.atleast_1d(np.asarray(item_ids))
        index = self.item_ids_.to_index(item_ids, what="item id")
        norms = np.linalg.norm(self.item_vectors_, axis=1)
        unit = self.item_vectors_ / np.where(norms > 0, norms, 1.0)[:, None]
        exclude = sp.csr_matrix((np.ones(len(index)), (np.arange(len(index)), index)),
                                shape=(len(index), len(unit)))
        idx, scores = top_k(unit[index], np.zeros(len(index)), unit, np.zeros(len(unit)), k,
                            exclude)
        frame = to_frame(item_ids, idx, scores, self.item_ids, self.item_titles_)
        return frame.rename(columns={"user_id": "item_id", "item_id": "similar_item_id"})

    # ------------------------------------------------------------------
    # Explanations
    # ------------------------------------------------------------------
    def explain(self, user_id, item_ids) -> pd.DataFrame:
        """Split a known user's score for items into one part per feature and bias.

        Returns
        -------
        DataFrame with columns user_id, item_id, kind, feature, label,
        contribution (see :func:`hybrid_rec.explain.explain_items`); per
        item the contributions sum to the score :meth:`recommend` gives.
        """
        from .explain import explain_items, known_user_parts

        return explain_items(self, known_user_parts(self, user_id), item_ids)

    def explain_new(self, users: pd.DataFrame, item_ids, ratings: pd.DataFrame | None = None,
                    *, user_tags: pd.DataFrame | None = None,
                    fold_in: bool = True) -> pd.DataFrame:
        """Split brand-new users' scores into parts per feature, rated item and bias.

        Takes what :meth:`recommend_new` takes and explains every user of
        ``users`` for every item of ``item_ids``. A folded-in user gets one
        ``"rating"`` part per item fold-in learnt from.
        """
        from .explain import explain_items, new_user_parts

        parts = new_user_parts(self, users, ratings, user_tags=user_tags, fold_in=fold_in)
        return pd.concat([explain_items(self, p, item_ids) for p in parts], ignore_index=True)

    # ------------------------------------------------------------------
    # New items
    # ------------------------------------------------------------------
    def _encode_items(self, items: pd.DataFrame, item_tags=None) -> sp.csr_matrix:
        spec = self.spec_
        if spec.items.id not in items.columns:
            raise InputDataError(f"items have no id column {spec.items.id!r} "
                                 f"(found {', '.join(map(repr, items.columns))})")
        ids = IdMap(self.item_ids_.coerce(items[spec.items.id]))
        features, report = self.item_encoder_.transform(ids.ids, items, item_tags,
                                                        identity=False, id_map=self.item_ids_)
        report.log("new items")
        return features

    def add_items(self, items: pd.DataFrame,
                  item_tags: pd.DataFrame | None = None) -> "HybridRecommender":
        """Add new items to the catalogue, their vectors built from their features.

        No retraining happens: a new item's vector is the sum of its feature
        embeddings (genres, tags, ...), so it can be recommended at once.
        """
        self._check_fitted()
        ids = self.item_ids_.coerce(items[self.spec_.items.id]) if (
            self.spec_.items.id in items.columns) else None
        features = self._encode_items(items, item_tags)
        clash = self.item_ids_.to_index(ids, missing="ignore") >= 0
        if clash.any():
            raise InputDataError(f"{int(clash.sum())} item(s) are already in the catalogue, "
                                 f"e.g. {list(ids[clash][:5])}")
        self.item_ids_ = self.item_ids_.append(ids)
        self.item_features_ = sp.vstack([self.item_features_, features]).tocsr()
        self.seen_ = sp.csr_matrix((self.seen_.data, self.seen_.indices, self.seen_.indptr),
                                   shape=(self.seen_.shape[0], len(self.item_ids_)))
        self.popularity_ = np.concatenate([self.popularity_,
                                           np.zeros(len(ids), dtype=np.float32)])
        if self.item_titles_ is not None:
            new_titles = _titles(items, self.spec_, IdMap(ids))
            if new_titles is None:
                new_titles = np.full(len(ids), "", dtype=object)
            self.item_titles_ = np.concatenate([self.item_titles_.astype(object),
                                                new_titles.astype(object)])
        self._refresh()
        logger.info("added %d item(s); the catalogue now has %d", len(ids), len(self.item_ids_))
        return self

    # ------------------------------------------------------------------
    # Persistence
    # ------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the model to one file (NumPy ``.npz`` with a JSON manifest inside)."""
        from .persistence import save_model

        return save_model(self, path)

    @classmethod
    def load(cls, path: str | Path) -> "HybridRecommender":
        """Read a model written by :meth:`save`; nothing in the file is executed."""
        from .persistence import load_model

        return load_model(path)


def fold_in_vectors(model: HybridRecommender, starts, signal) -> np.ndarray:
    """Fold-in vectors of many new users at once (rows of ``signal``: their items)."""
    return fold_in_many(model.item_vectors_, model.item_bias_vector_, starts, signal,
                        regularisation=model.fold_in_regularisation,
                        temperature=model.fold_in_temperature)


def _check_k(k) -> int:
    if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 0:
        raise ValueError(f"k must be a non-negative integer, got {k!r}")
    return int(k)


def _id_union(interaction_ids: pd.Series, metadata: pd.DataFrame | None, column: str) -> IdMap:
    """Every entity in the interactions or the metadata, sorted by id."""
    parts = [pd.Series(interaction_ids.to_numpy())]
    if metadata is not None:
        if column not in metadata.columns:
            raise InputDataError(f"metadata has no id column {column!r} (found "
                                 f"{', '.join(map(repr, metadata.columns))})")
        parts.append(pd.Series(metadata[column].to_numpy()))
    ids = pd.concat(parts, ignore_index=True)
    if ids.isna().any():
        raise InputDataError(f"{int(ids.isna().sum())} missing id(s) in column {column!r}")
    if not pd.api.types.is_integer_dtype(ids.dtype):
        ids = ids.astype(str)
    return IdMap(np.sort(ids.unique()))


def _name_featureless(side: str, ids: IdMap, features, seen, axis: int) -> None:
    """Log, before fitting, entities with no features or no interactions."""
    no_features = np.flatnonzero(np.diff(features.indptr) == 0)
    if len(no_features):
        logger.warning("%d %s have no features at all and will get a zero vector "
                       "(bias only), e.g. %s", len(no_features), side,
                       ids.to_ids(no_features[:5]).tolist())
    counts = np.asarray(seen.sum(axis=axis)).ravel()
    idle = np.flatnonzero(counts == 0)
    if len(idle):
        logger.info("%d %s have no interactions: their vectors come from their features "
                    "alone, e.g. %s", len(idle), side, ids.to_ids(idle[:5]).tolist())


def _check_widths(shape, user_features, n_user_features: int, item_features,
                  n_item_features: int) -> None:
    """Feature matrices must match the interactions and the encoders before LightFM sees them.

    LightFM takes a feature matrix of the wrong width without complaint and
    trains embeddings for the wrong features.
    """
    for side, matrix, rows, width in (("user", user_features, shape[0], n_user_features),
                                      ("item", item_features, shape[1], n_item_features)):
        if matrix.shape != (rows, width):
            raise ValueError(f"the {side} feature matrix is {matrix.shape[0]} x "
                             f"{matrix.shape[1]}, but the interactions have {rows} {side}s "
                             f"and the encoder {width} features")


def _check_finite(model, epoch: int, learning_rate: float, force: bool = False) -> None:
    """Raise TrainingDivergedError if a parameter is non-finite (or, with ``force``, anyway:
    LightFM itself found one)."""
    names = [n for n in ("user_embeddings", "item_embeddings", "user_biases", "item_biases")
             if not np.isfinite(getattr(model, n)).all()]
    if names or force:
        what = names[0] if names else "a parameter"
        raise TrainingDivergedError(
            f"training diverged at epoch {epoch}: {what} became non-finite; try a lower "
            f"learning_rate (now {learning_rate}) or stronger item_alpha/user_alpha")


def _titles(items: pd.DataFrame | None, spec: Spec, ids: IdMap) -> np.ndarray | None:
    column = spec.items.title
    if items is None or column is None or column not in items.columns:
        return None
    keys = ids.coerce(items[spec.items.id])
    titles = pd.Series(items[column].to_numpy(), index=keys)
    titles = titles[~keys.duplicated()]
    return titles.reindex(pd.Index(ids.ids)).fillna("").astype(str).to_numpy(dtype=object)
