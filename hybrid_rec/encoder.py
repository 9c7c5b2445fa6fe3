"""The encoder: fits vocabularies on training metadata and turns any table into sparse rows.

Column layout of a side's feature matrix: the spec's feature entries in
order, each entry's vocabulary in sorted order. Feature names read
``"<entry name>:<value>"``, e.g. ``"age:25-34"`` or ``"genre:Comedy"``.

Weighting rule: an entry with weight ``w`` spreads ``w`` over the values it
finds in a row (equally for lists, by frequency for tags). With
``normalise = true`` (the default) every row is then divided by the sum of
the weights of all the side's entries, a constant, so a fully described
entity's row sums to 1 (as LightFM advises) and the weight of one feature
never depends on which other features a row happens to have: a new user's
metadata features weigh exactly what a training user's do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .exceptions import InputDataError
from .features import FeatureKind, TagsKind, make_kind
from .idmap import IdMap
from .spec import SideSpec

__all__ = ["EncodeReport", "FeatureEncoder"]

logger = logging.getLogger(__name__)


@dataclass
class EncodeReport:
    """What transform met: per feature entry, missing cells and values the model never saw."""

    rows: int = 0
    missing: dict[str, int] = field(default_factory=dict)
    unseen: dict[str, int] = field(default_factory=dict)
    rows_without_features: int = 0

    def log(self, what: str) -> None:
        for name, n in self.unseen.items():
            if n:
                logger.info("%s: %d value(s) of %r never seen in training; they add no feature",
                            what, n, name)
        for name, n in self.missing.items():
            if n:
                logger.info("%s: %d row(s) with no %r value", what, n, name)
        if self.rows_without_features:
            logger.info("%s: %d of %d row(s) have no usable feature at all",
                        what, self.rows_without_features, self.rows)


class FeatureEncoder:
    """Encode one side (users or items) of a spec.

    Parameters
    ----------
    side : SideSpec
        The side's part of the spec.
    """

    def __init__(self, side: SideSpec):
        self.side = side
        self.kinds: list[FeatureKind] = [make_kind(f) for f in side.features]
        self.offsets_: np.ndarray | None = None

    # -- layout ---------------------------------------------------------
    @property
    def n_features(self) -> int:
        self._check_fitted()
        return int(self.offsets_[-1])

    @property
    def feature_names(self) -> list[str]:
        self._check_fitted()
        return [f"{k.spec.name}:{v}" for k in self.kinds for v in k.vocabulary_]

    def feature_index(self, name: str) -> int:
        """Column of a feature name such as ``"genre:Comedy"``."""
        entry, _, value = name.partition(":")
        for kind, offset in zip(self.kinds, self.offsets_):
            if kind.spec.name == entry and value in kind.vocabulary_:
                return int(offset + kind.vocabulary_.index(value))
        raise KeyError(f"no feature named {name!r}")

    def _check_fitted(self) -> None:
        if self.offsets_ is None:
            raise RuntimeError("encoder is not fitted")

    def _set_offsets(self) -> None:
        sizes = [len(k.vocabulary_) for k in self.kinds]
        self.offsets_ = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    # -- fitting --------------------------------------------------------
    def fit(self, ids: IdMap, metadata: pd.DataFrame | None = None,
            tags: pd.DataFrame | None = None) -> "FeatureEncoder":
        """Fit every entry's vocabulary on the training entities ``ids``."""
        table = self._metadata(metadata, ids.ids, ids)
        for kind in self.kinds:
            if kind.spec.kind == "identity":
                kind.fit(ids.ids)
            elif kind.spec.kind == "tags":
                entity, tag = self._tag_columns(tags, kind)
                known = ids.to_index(entity, missing="ignore") >= 0
                kind.fit_table(entity[known], tag[known])
            else:
                kind.fit(table[kind.spec.column])
        self._set_offsets()
        logger.debug("%s: %d features", self.side.side, self.n_features)
        return self

    # -- transforming ---------------------------------------------------
    def transform(self, row_ids, metadata: pd.DataFrame | None = None,
                  tags: pd.DataFrame | None = None, identity: bool = True,
                  id_map: IdMap | None = None) -> tuple[sp.csr_matrix, EncodeReport]:
        """Feature rows for the entities ``row_ids``, in that order.

        Parameters
        ----------
        row_ids : array-like
            External ids, one output row each.
        metadata : DataFrame, optional
            The side's metadata, with its id column; entities absent from it
            get no metadata features.
        tags : DataFrame, optional
            The long (entity, tag) table, for ``tags`` entries.
        identity : bool
            Whether to emit the identity feature for ids seen in training.
        id_map : IdMap, optional
            Used to convert ids to the kind (int or str) of the training ids.

        Returns
        -------
        (csr_matrix, EncodeReport)
        """
        self._check_fitted()
        row_ids = np.asarray(id_map.coerce(row_ids) if id_map is not None else row_ids)
        table = self._metadata(metadata, row_ids, id_map)
        report = EncodeReport(rows=len(row_ids))
        denom = self.side.total_weight if self.side.normalise else 1.0
        rows, cols, vals = [], [], []
        for kind, offset in zip(self.kinds, self.offsets_):
            lookup = {v: i for i, v in enumerate(kind.vocabulary_)}
            per_row = self._row_tokens(kind, row_ids, table, tags, identity, id_map)
            missing = unseen = 0
            for r, tokens in enumerate(per_row):
                if tokens is None:
                    missing += 1
                    continue
                known = [(lookup[t], w) for t, w in tokens if t in lookup]
                unseen += len(tokens) - len(known)
                total = sum(w for _, w in known)
                for c, w in known:
                    rows.append(r)
                    cols.append(offset + c)
                    vals.append(kind.spec.weight * w / total / denom)
            if kind.spec.kind != "identity":
                report.missing[kind.spec.name] = missing
                report.unseen[kind.spec.name] = unseen
        matrix = sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)),
                               shape=(len(row_ids), self.n_features), dtype=np.float32)
        matrix.sum_duplicates()
        matrix.sort_indices()
        matrix.eliminate_zeros()
        report.rows_without_features = int((np.diff(matrix.indptr) == 0).sum())
        return matrix, report

    def _row_tokens(self, kind, row_ids, table, tags, identity, id_map):
        """For each row: a list of (token, weight), or None when the value is missing."""
        if kind.spec.kind == "identity":
            vocab = set(kind.vocabulary_) if identity else set()
            return [[(str(i), 1.0)] if str(i) in vocab else [] for i in row_ids]
        if kind.spec.kind == "tags":
            entity, tag = self._tag_columns(tags, kind)
            if id_map is not None:
                entity = pd.Series(np.asarray(id_map.coerce(entity)), index=entity.index)
            by_entity = kind.entity_tokens(entity, tag)
            return [by_entity.get(i) for i in row_ids]
        cache: dict = {}
        result = []
        for r, value in enumerate(table[kind.spec.column].tolist()):
            if isinstance(value, (list, tuple, np.ndarray)):
                key = ("list",) + tuple(value)
            elif value is None or pd.isna(value):
                key, value = ("missing",), None
            else:
                key = value
            if key not in cache:
                try:
                    cache[key] = kind.tokens(value) or None
                except ValueError as e:
                    raise InputDataError(
                        f"{self.side.side} metadata: id {row_ids[r]}, column "
                        f"{kind.spec.column!r} (feature {kind.spec.name!r}): {e}") from e
            result.append(cache[key])
        return result

    def _metadata(self, metadata, row_ids, id_map) -> pd.DataFrame:
        """The metadata columns the spec needs, one row per id in ``row_ids``."""
        side, columns = self.side, self.side.metadata_columns
        if not columns:
            return pd.DataFrame(index=range(len(row_ids)))
        if metadata is None:
            return pd.DataFrame({c: [None] * len(row_ids) for c in columns})
        needed = [side.id] + columns
        absent = [c for c in needed if c not in metadata.columns]
        if absent:
            raise InputDataError(
                f"{side.side} metadata has no column {absent[0]!r} (the spec's features need "
                f"{', '.join(map(repr, needed))}; found {', '.join(map(repr, metadata.columns))})")
        keys = id_map.coerce(metadata[side.id]) if id_map is not None else pd.Index(
            metadata[side.id])
        if keys.has_duplicates:
            dupes = keys[keys.duplicated()].unique()[:5].tolist()
            raise InputDataError(f"{side.side} metadata: id column {side.id!r} repeats ids "
                                 f"{dupes}; each entity needs exactly one row")
        frame = metadata[columns].copy()
        frame.index = keys
        return frame.reindex(pd.Index(row_ids)).reset_index(drop=True).astype(object)

    def _tag_columns(self, tags, kind: TagsKind):
        entity_col = kind.spec.option("entity", self.side.id)
        if tags is None:
            return pd.Series([], dtype=object), pd.Series([], dtype=object)
        for col in (entity_col, kind.spec.column):
            if col not in tags.columns:
                raise InputDataError(
                    f"{self.side.side} tags table has no column {col!r} (needed by feature "
                    f"{kind.spec.name!r}; found {', '.join(map(repr, tags.columns))})")
        return tags[entity_col].reset_index(drop=True), tags[kind.spec.column].reset_index(
            drop=True)

    # -- persistence ----------------------------------------------------
    def state(self) -> list[dict]:
        return [k.state() for k in self.kinds]

    @classmethod
    def from_state(cls, side: SideSpec, state: list[dict]) -> "FeatureEncoder":
        encoder = cls(side)
        if len(state) != len(encoder.kinds):
            raise ValueError(f"{side.side}: {len(state)} vocabularies for "
                             f"{len(encoder.kinds)} features")
        for kind, s in zip(encoder.kinds, state):
            kind.load_state(s)
        encoder._set_offsets()
        return encoder
