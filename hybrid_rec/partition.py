"""Scoring one partition of new users: validation, vectors, top-k, accounting.

A partition is any set of user records together with the rating records of
those users. Partitions must be co-partitioned by user id: every record of a
given user id (in the users file and in the ratings file) belongs to the same
partition. Then the checks that compare records with each other (a repeated
user id, a rating for a user not in the users file) are exact within the
partition, and scoring the partitions one by one, in any order, on one
machine or many, gives the same lists and rejects as scoring the whole files.

Accounting rule, per partition and so for any union of partitions: users
read = users scored + users rejected, and rating rows read = used + rejected.
A user whose ratings cover the whole catalogue has nothing left to recommend
and is counted as a reject with that reason, never dropped silently.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Iterable, TextIO

import numpy as np
import pandas as pd

from .explain import explanation_column
from .inputs import Record, Reject, check_ratings, check_users

__all__ = ["PartitionResult", "RECOMMENDATION_COLUMNS", "score_partition",
           "write_recommendations"]

RECOMMENDATION_COLUMNS = ("user_id", "rank", "item_id", "score", "title")


@dataclass
class PartitionResult:
    """What scoring one partition gives.

    Attributes
    ----------
    recommendations : DataFrame
        user_id, rank, item_id, score[, title]; users in the order of their
        records, each user's rows best first.
    lines : ndarray of int64
        For each row of ``recommendations``, the users-file line of its user:
        the key that restores input order when partitions are merged.
    user_rejects, rating_rejects : list of Reject
        Rejected records of each file, in record order.
    users_read, users_scored, ratings_read, ratings_used : int
        Counts for the accounting rule.
    """

    recommendations: pd.DataFrame
    lines: np.ndarray
    user_rejects: list[Reject] = field(default_factory=list)
    rating_rejects: list[Reject] = field(default_factory=list)
    users_read: int = 0
    users_scored: int = 0
    ratings_read: int = 0
    ratings_used: int = 0

    @property
    def users_rejected(self) -> int:
        return len(self.user_rejects)

    @property
    def ratings_rejected(self) -> int:
        return len(self.rating_rejects)

    @property
    def rejects(self) -> list[Reject]:
        """Every rejected record: the users file's first, then the ratings file's."""
        return self.user_rejects + self.rating_rejects


def score_partition(model, user_records: Iterable[Record],
                    rating_records: Iterable[Record] | None = None, k: int = 10,
                    fold_in: bool = True, explain: int = 0) -> PartitionResult:
    """Check and score one partition of new users.

    Parameters
    ----------
    model : HybridRecommender
        A fitted (or loaded) model.
    user_records : iterable of Record
        Records of the users file (see :func:`hybrid_rec.inputs.user_records`).
    rating_records : iterable of Record, optional
        Records of the ratings file for the same users (co-partitioned by
        user id); records of other users are rejected as not in the users file.
    k : int
        Length of each list.
    fold_in : bool
        Learn from the ratings; with False they only exclude the rated items.
    explain : int
        With N > 0, add an ``explanation`` column: the N user features and
        rated items that add most to each score (see
        :func:`hybrid_rec.explain.explanation_column`).

    Returns
    -------
    PartitionResult
    """
    model._check_fitted()
    spec = model.spec_
    users = check_users(user_records, spec)
    ratings, rating_rejects, ratings_read = check_ratings(
        rating_records or (), spec, users, model.item_ids_)
    recs = model.recommend_new(users.frame, ratings, k=k, fold_in=fold_in)
    user_rejects = users.rejects + _nothing_left(users, recs, spec.users.id)
    user_rejects.sort(key=lambda r: r.line)
    if explain:
        recs["explanation"] = explanation_column(model, users.frame, ratings, recs, explain,
                                                 fold_in=fold_in)
    lines = np.fromiter((users.accepted[u] for u in recs["user_id"]), dtype=np.int64,
                        count=len(recs))
    n_scored = len(users.frame) - (len(user_rejects) - len(users.rejects))
    return PartitionResult(recs, lines, user_rejects, rating_rejects, users.n_read,
                           n_scored, ratings_read, len(ratings))


def _nothing_left(users, recs: pd.DataFrame, id_column: str) -> list[Reject]:
    """A reject for each accepted user whose list came out empty: they rated every item."""
    ids = users.frame[id_column]
    empty = ids[~ids.isin(recs["user_id"].unique())]
    return [Reject(users.files[uid], users.accepted[uid], uid, "", "",
                   "no item is left to recommend: the user's ratings cover the whole "
                   "catalogue") for uid in empty]


def write_recommendations(fh: TextIO, frame: pd.DataFrame, header: bool = True) -> None:
    """Write recommendations as CSV: the one output format of every scoring path.

    Scores are written with six decimals (``%.6f``), fields are quoted only
    when needed and lines end with ``\n``, so the same lists always give the
    same bytes.
    """
    writer = csv.writer(fh, lineterminator="\n")
    if header:
        writer.writerow(frame.columns)
    columns = [frame[c].tolist() for c in frame.columns]
    if "score" in frame.columns:
        at = list(frame.columns).index("score")
        columns[at] = [f"{s:.6f}" for s in columns[at]]
    writer.writerows(zip(*columns))
