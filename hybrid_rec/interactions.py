"""Interactions: from a table of (user, item, rating, time) rows to LightFM's matrices.

Policies, applied in this order:

1. rows with a missing user, item or time, or a rating that is missing or
   not a finite number, are errors (the message gives the count and the first rows);
2. duplicate (user, item) pairs: the last one wins, by the time column when
   the spec names one and by row order otherwise;
3. with ``positive_threshold``, only ratings at or above it are training
   signal; the others still count as *seen* (never recommended back);
4. ``weight = "binary"`` gives every positive weight 1, ``weight = "rating"``
   uses the rating itself, which must then be positive.

Every matrix handed to LightFM is canonical: no duplicates, sorted indices,
no explicit zeros.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .exceptions import InputDataError
from .idmap import IdMap
from .spec import InteractionsSpec

__all__ = ["Interactions", "build_interactions", "check_interactions_frame"]

logger = logging.getLogger(__name__)


@dataclass
class Interactions:
    """Training signal and the seen-set, both users x items in model indices."""

    signal: sp.coo_matrix
    weights: sp.coo_matrix
    seen: sp.csr_matrix


def _bad_rows(labels: pd.Index, mask: np.ndarray, what: str, name: str,
              source: str | None) -> InputDataError:
    if source:
        lines = labels[mask][:5].tolist()
        return InputDataError(f"{source}: {int(mask.sum())} row(s) with {what}, "
                              f"e.g. on lines {lines}")
    rows = np.flatnonzero(mask)[:5].tolist()
    return InputDataError(f"{name}: {int(mask.sum())} row(s) with {what}, e.g. at rows {rows}")


def check_interactions_frame(frame: pd.DataFrame, spec: InteractionsSpec,
                             require_time: bool = True, name: str = "interactions",
                             enforce_scale: bool = True) -> pd.DataFrame:
    """Validate columns and values; return the rows with duplicates resolved.

    With ``require_time=False`` a table without the time column is accepted
    and its duplicates are resolved by row order. ``name`` says what the
    table is in messages. With ``enforce_scale``, ratings outside the spec's
    ``rating_scale`` are errors. When ``frame.attrs["source"]`` names the file
    the table was read from, its index holds the 1-based line numbers
    (see :mod:`hybrid_rec.sources`) and errors name the file and the lines;
    otherwise they give 0-based row positions.
    """
    if not require_time and spec.time and spec.time not in frame.columns:
        spec = replace(spec, time=None)
    needed = [c for c in (spec.user, spec.item, spec.rating, spec.time) if c]
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        raise InputDataError(
            f"{name} have no column {absent[0]!r} (the spec names "
            f"{', '.join(map(repr, needed))}; found {', '.join(map(repr, frame.columns))})")
    source, labels = frame.attrs.get("source"), frame.index
    frame = frame[needed].reset_index(drop=True)

    def bad(mask, what):
        return _bad_rows(labels, mask, what, name, source)

    for col in (spec.user, spec.item) + ((spec.time,) if spec.time else ()):
        mask = frame[col].isna().to_numpy()
        if mask.any():
            raise bad(mask, f"no {col!r}")
    if spec.rating:
        ratings = pd.to_numeric(frame[spec.rating], errors="coerce").astype("float64")
        mask = ~np.isfinite(ratings.to_numpy())
        if mask.any():
            raise bad(mask, f"a missing, non-numeric or infinite {spec.rating!r}")
        frame[spec.rating] = ratings
        if spec.weight == "rating" and (ratings <= 0).any():
            raise bad((ratings <= 0).to_numpy(),
                      f"{spec.rating!r} <= 0, which weight = 'rating' cannot use")
        if enforce_scale and spec.rating_scale is not None:
            low, high = spec.rating_scale
            mask = ((ratings < low) | (ratings > high)).to_numpy()
            if mask.any():
                raise bad(mask, f"{spec.rating!r} outside rating_scale [{low:g}, {high:g}]")
    order = frame.sort_values(spec.time, kind="stable") if spec.time else frame
    deduped = order.drop_duplicates([spec.user, spec.item], keep="last")
    if len(deduped) < len(frame):
        logger.info("%s: %d duplicate (user, item) row(s); the last one wins", name,
                    len(frame) - len(deduped))
    return deduped.sort_index()


def build_interactions(frame: pd.DataFrame, spec: InteractionsSpec,
                       users: IdMap, items: IdMap) -> Interactions:
    """Map a validated interactions table onto model indices."""
    u = users.to_index(frame[spec.user], what="user id")
    i = items.to_index(frame[spec.item], what="item id")
    shape = (len(users), len(items))
    seen = sp.csr_matrix((np.ones(len(u), dtype=np.float32), (u, i)), shape=shape)
    positive = np.ones(len(u), dtype=bool)
    weight = np.ones(len(u), dtype=np.float32)
    if spec.rating:
        rating = frame[spec.rating].to_numpy(dtype=np.float64)
        if spec.positive_threshold is not None:
            positive = rating >= spec.positive_threshold
        if spec.weight == "rating":
            weight = rating.astype(np.float32)
    signal = sp.coo_matrix((np.ones(positive.sum(), dtype=np.float32),
                            (u[positive], i[positive])), shape=shape)
    weights = sp.coo_matrix((weight[positive], (u[positive], i[positive])), shape=shape)
    logger.info("interactions: %d rows, %d positive, %d users x %d items",
                len(u), int(positive.sum()), *shape)
    return Interactions(signal=_canonical(signal), weights=_canonical(weights),
                        seen=_canonical(seen).tocsr())


def _canonical(matrix: sp.spmatrix) -> sp.coo_matrix:
    """Duplicates summed, indices sorted, explicit zeros dropped."""
    csr = sp.csr_matrix(matrix)
    csr.sum_duplicates()
    csr.eliminate_zeros()
    csr.sort_indices()
    return csr.tocoo()
