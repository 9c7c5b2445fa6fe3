"""Ranking metrics of recommendation tables; they live in :mod:`hybrid_rec.evaluation.metrics`.

This module keeps the short import path ``hybrid_rec.metrics.ranking_metrics``.
"""

from .evaluation.metrics import ranking_metrics

__all__ = ["ranking_metrics"]
