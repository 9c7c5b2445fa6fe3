"""Ranking metrics over a recommendation table, vectorised with pandas.

``recs`` has columns user_id, rank, item_id (rank 1 is best); ``relevant``
has columns user_id, item_id, one row per item the user is known to like.
Users without any relevant item are left out of the means (they cannot be
scored), and the result says how many users were counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ranking_metrics"]


def ranking_metrics(recs: pd.DataFrame, relevant: pd.DataFrame, k: int = 10) -> dict:
    """Mean precision@k, recall@k and NDCG@k (binary relevance)."""
    relevant = relevant[["user_id", "item_id"]].drop_duplicates()
    n_relevant = relevant.groupby("user_id").size().rename("n_relevant")
    top = recs.loc[recs["rank"] <= k, ["user_id", "rank", "item_id"]]
    hits = top.merge(relevant.assign(hit=1.0), on=["user_id", "item_id"], how="left")
    hits["hit"] = hits["hit"].fillna(0.0)
    hits["gain"] = hits["hit"] / np.log2(hits["rank"] + 1.0)
    per_user = hits.groupby("user_id").agg(hits=("hit", "sum"), dcg=("gain", "sum"))
    per_user = per_user.reindex(n_relevant.index, fill_value=0.0).join(n_relevant)
    discounts = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))
    ideal = discounts[np.minimum(per_user["n_relevant"].to_numpy(), k) - 1]
    return {
        "precision": float((per_user["hits"] / k).mean()),
        "recall": float((per_user["hits"] / per_user["n_relevant"]).mean()),
        "ndcg": float((per_user["dcg"] / ideal).mean()),
        "users": int(len(per_user)),
    }
