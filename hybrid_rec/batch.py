"""Batch scoring of new users from CSV files: the job behind ``hybrid-rec score``.

Accounting rule: users read = users scored + users rejected. Every rejected
row (of the users file or the ratings file) is written to the rejects file
with its reason; a rejected rating row does not stop its user being scored.
A user left with nothing to recommend (their ratings cover the catalogue) is
a reject too, so every user is in the output or in the rejects. Both output
files are written completely before either is renamed into place.
"""

from __future__ import annotations

import csv
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import atomic_text
from .inputs import Reject, read_new_ratings, read_new_users

__all__ = ["BatchReport", "default_rejects_path", "score_files"]

logger = logging.getLogger(__name__)


@dataclass
class BatchReport:
    """Counts of one batch run; ``rejects`` lists every row that was not used."""

    users_read: int = 0
    users_scored: int = 0
    users_rejected: int = 0
    ratings_read: int = 0
    ratings_used: int = 0
    ratings_rejected: int = 0
    rejects: list[Reject] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def partial(self) -> bool:
        return bool(self.rejects)

    def summary(self) -> str:
        text = (f"users read: {self.users_read}, scored: {self.users_scored}, "
                f"rejected: {self.users_rejected}")
        if self.ratings_read:
            text += (f"; rating rows read: {self.ratings_read}, used: {self.ratings_used}, "
                     f"rejected: {self.ratings_rejected}")
        return text


def default_rejects_path(out: str | Path) -> Path:
    """``recs.csv`` -> ``recs.rejects.csv``, next to the output."""
    out = Path(out)
    return out.with_name(f"{out.stem}.rejects.csv")


def _nothing_left(user_ids, recs, k: int, path, lines: dict) -> list[Reject]:
    """A reject for each user whose list came out empty: they rated every item."""
    if k == 0:
        return []
    empty = ~user_ids.isin(recs["user_id"].unique())
    return [Reject(str(path), lines[uid], uid, "", "", "no item is left to recommend: the "
                   "user's ratings cover the whole catalogue") for uid in user_ids[empty]]


def score_files(model, users: str | Path, out: str | Path, ratings: str | Path | None = None,
                rejects: str | Path | None = None, k: int = 10, fold_in: bool = True,
                delimiter: str | None = None, encoding: str | None = None,
                explain: int = 0) -> BatchReport:
    """Score the new users of a CSV file and write their top-k lists.

    Parameters
    ----------
    model : HybridRecommender
        A fitted (or loaded) model.
    users : path
        CSV with the spec's user id column and user metadata columns.
    out : path
        Output CSV in long format: user_id, rank, item_id, score[, title].
    ratings : path, optional
        CSV of the new users' ratings in long format (the spec's user, item
        and rating columns).
    rejects : path, optional
        Where to list rejected rows; default ``<out stem>.rejects.csv``.
    k : int
        Length of each list.
    fold_in : bool
        Use the ratings to refine each user's vector; with False they only
        exclude the rated items.
    delimiter, encoding : str, optional
        Of both input files; None detects the delimiter from each header and
        reads UTF-8 (see :mod:`hybrid_rec.csvformat`).
    explain : int
        With N > 0, add an ``explanation`` column: the N user features and
        rated items that add most to each score (see
        :func:`hybrid_rec.explain.explanation_column`).

    Returns
    -------
    BatchReport
    """
    started = time.perf_counter()
    model._check_fitted()
    spec = model.spec_
    frame, accepted, user_rejects, seen, n_read = read_new_users(users, spec, delimiter,
                                                                 encoding)
    report = BatchReport(users_read=n_read, users_rejected=len(user_rejects))
    report.rejects.extend(user_rejects)
    rated = None
    if ratings is not None:
        rated, rating_rejects, report.ratings_read = read_new_ratings(
            ratings, spec, seen, accepted, model.item_ids_, delimiter, encoding)
        report.ratings_used = len(rated)
        report.ratings_rejected = len(rating_rejects)
        report.rejects.extend(rating_rejects)
    n_items = len(model.item_ids_)
    if k > n_items:
        logger.warning("k = %d is more than the %d items of the catalogue: each list holds "
                       "every item its user has not rated", k, n_items)
    recs = model.recommend_new(frame, rated, k=k, fold_in=fold_in)
    exhausted = _nothing_left(frame[spec.users.id], recs, k, users, accepted)
    report.users_scored = len(frame) - len(exhausted)
    report.users_rejected += len(exhausted)
    report.rejects.extend(exhausted)
    if explain:
        from .explain import explanation_column

        recs["explanation"] = explanation_column(model, frame, rated, recs, explain,
                                                 fold_in=fold_in)
    # Both files are complete before either is renamed into place.
    with atomic_text(out) as fh, atomic_text(rejects or default_rejects_path(out)) as bad:
        recs.to_csv(fh, index=False, float_format="%.6f", lineterminator="\n")
        writer = csv.writer(bad, lineterminator="\n")
        writer.writerow(Reject.FIELDS)
        writer.writerows(r.row() for r in report.rejects)
    report.seconds = time.perf_counter() - started
    logger.info("scored %d user(s) in %.2f s", report.users_scored, report.seconds)
    return report
