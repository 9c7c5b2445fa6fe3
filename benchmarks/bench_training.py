"""Benchmark 4: our feature building and matrix assembly as a share of LightFM's fit.

``HybridRecommender.fit`` on MovieLens 100k with the default settings. The
time inside LightFM's ``fit_partial`` calls is what ``fit`` logs; the rest of
``fit`` (spec, id maps, interaction matrix, feature encoders and matrices,
cached representations) is ours.
"""

from __future__ import annotations

import logging
import time

from .common import SPEC, Table, movielens


class _Catch(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lightfm = None

    def emit(self, record):
        if record.msg.startswith("trained %d epochs in"):
            self.lightfm = float(record.args[1])


def run(quick: bool = False) -> Table:
    from hybrid_rec import HybridRecommender

    data = movielens()
    epochs = 5 if quick else 30
    table = Table(f"training: MovieLens 100k, {epochs} epochs, 1 thread",
                  ["run", "fit s", "lightfm s", "ours s", "ours / lightfm"])
    logger = logging.getLogger("hybrid_rec.model")
    for run_no in range(1, 4):
        catch = _Catch()
        logger.addHandler(catch)
        previous = logger.level
        logger.setLevel(logging.INFO)
        try:
            model = HybridRecommender(SPEC, epochs=epochs, random_state=0,
                                      show_progress=False)
            started = time.perf_counter()
            model.fit(data.interactions, data.users, data.items)
            total = time.perf_counter() - started
        finally:
            logger.removeHandler(catch)
            logger.setLevel(previous)
        ours = total - catch.lightfm
        table.add(**{"run": run_no, "fit s": total, "lightfm s": catch.lightfm,
                     "ours s": ours, "ours / lightfm": ours / catch.lightfm})
    return table
