"""Batch scoring of new users from CSV files: the job behind ``hybrid-rec score``.

Accounting rule: users read = users scored + users rejected. Every rejected
row (of the users file or the ratings file) is written to the rejects file
with its reason; a rejected rating row does not stop its user being scored.
Both output files are written atomically.
"""

from __future__ import annotations

import csv
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import atomic_text
from .inputs import Reject, rating_records, user_records
from .partition import score_partition, write_recommendations

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


def score_files(model, users: str | Path, out: str | Path, ratings: str | Path | None = None,
                rejects: str | Path | None = None, k: int = 10, fold_in: bool = True,
                delimiter: str = ",") -> BatchReport:
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

    Returns
    -------
    BatchReport
    """
    started = time.perf_counter()
    model._check_fitted()
    spec = model.spec_
    users_in = user_records(users, spec, delimiter)
    ratings_in = rating_records(ratings, spec, delimiter) if ratings is not None else None
    result = score_partition(model, users_in, ratings_in, k=k, fold_in=fold_in)
    report = BatchReport(users_read=result.users_read, users_scored=result.users_scored,
                         users_rejected=result.users_rejected,
                         ratings_read=result.ratings_read, ratings_used=result.ratings_used,
                         ratings_rejected=result.ratings_rejected, rejects=result.rejects)
    with atomic_text(out) as fh:
        write_recommendations(fh, result.recommendations)
    with atomic_text(rejects or default_rejects_path(out)) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(Reject.FIELDS)
        writer.writerows(r.row() for r in report.rejects)
    report.seconds = time.perf_counter() - started
    logger.info("scored %d user(s) in %.2f s", report.users_scored, report.seconds)
    return report
