"""Cold-start evaluation: metrics, protocols, strategies, the report and its plots.

``evaluate(protocol, spec, data)`` compares every strategy on the same
seeded splits and returns an :class:`EvaluationResult` (a long-format
table of every number, with ``summary()``, ``table()``, ``plot()`` and
``save()``).
"""

from .harness import DEFAULT_SHOTS, EvaluationResult, evaluate
from .metrics import coverage, ranking_metrics, score_metrics
from .protocols import PROTOCOLS, Case, Split, make_split
from .strategies import STRATEGIES, popular_items

__all__ = [
    "DEFAULT_SHOTS",
    "PROTOCOLS",
    "STRATEGIES",
    "Case",
    "EvaluationResult",
    "Split",
    "coverage",
    "evaluate",
    "make_split",
    "popular_items",
    "ranking_metrics",
    "score_metrics",
]
