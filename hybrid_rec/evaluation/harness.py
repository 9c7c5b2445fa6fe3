"""The evaluation harness: every strategy on the same seeded splits.

For each seed: split the data (:mod:`.protocols`), train the shared models
once (:class:`.strategies.Context`), then score every case with every
strategy that applies, and measure the lists (:mod:`.metrics`). Each row
of the result is one number: protocol, seed, revealed ratings, strategy,
metric, value, users counted, and the strategy's wall time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..idmap import IdMap
from ..progress import progress
from ..spec import Spec, load_spec
from .metrics import METRICS, coverage, score_metrics, top_items
from .protocols import PROTOCOLS, make_split
from .strategies import STRATEGIES, CaseData, Context, _matrix

__all__ = ["DEFAULT_SHOTS", "EvaluationResult", "evaluate"]

logger = logging.getLogger(__name__)

DEFAULT_SHOTS = (0, 1, 3, 5, 10, 20)
FAST = {"epochs": 3, "max_users": 40, "als_iterations": 3}


@dataclass
class EvaluationResult:
    """Every number of an evaluation run, in long format, and what produced it.

    Attributes
    ----------
    results : DataFrame
        One row per (seed, shots, strategy, metric): columns protocol, data,
        seed, shots, strategy, metric, value, users, seconds,
        seconds_per_user. Metrics are precision, recall, ndcg, map, auc (at
        ``k`` where ranked) and coverage.
    fit_times : DataFrame
        Seconds to train each shared model, per seed.
    settings : dict
        Protocol, data, k, seeds, epochs and the other options of the run.
    """

    results: pd.DataFrame
    fit_times: pd.DataFrame
    settings: dict = field(default_factory=dict)

    @property
    def protocol(self) -> str:
        return self.settings["protocol"]

    def summary(self) -> pd.DataFrame:
        """Mean, standard deviation, min and max over seeds per (shots, strategy, metric)."""
        from .report import summarise_results

        return summarise_results(self.results)

    def table(self, metric: str = "ndcg") -> pd.DataFrame:
        """Strategies x revealed ratings, ``mean ± sd`` of one metric."""
        from .report import wide_table

        return wide_table(self.summary(), metric)

    def to_markdown(self) -> str:
        from .report import markdown_report

        return markdown_report(self)

    def plot(self, metric: str = "ndcg", ax=None, baseline: str | None = None):
        """Metric against revealed ratings (or per strategy), with the spread over seeds.

        ``baseline`` (new users only) plots each strategy's gap to that one.
        """
        from .plots import plot_metric

        return plot_metric(self, metric, ax=ax, baseline=baseline)

    @classmethod
    def load(cls, out_dir: str | Path) -> "EvaluationResult":
        """Read back a report folder written by :meth:`save` (or ``hybrid-rec evaluate``)."""
        from .report import load_result

        return load_result(out_dir)

    def save(self, out_dir: str | Path) -> dict[str, Path]:
        """Write results.csv, summary.csv, fit_times.csv, report.md and PNG plots."""
        from .report import save_result

        return save_result(self, out_dir)


def _strategies(protocol: str, names) -> list:
    chosen = [s for s in STRATEGIES.values() if protocol in s.protocols]
    if names is None:
        return chosen
    known = {s.name: s for s in chosen}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown strategies for protocol {protocol!r}: "
                         f"{', '.join(map(repr, unknown))}; choose from "
                         f"{', '.join(known)}")
    return [known[n] for n in names]


def _available(chosen, ctx: Context, skipped: dict) -> list:
    """The strategies that can run on this split; the others are logged once and noted."""
    runnable = []
    for strategy in chosen:
        reason = strategy.unavailable(ctx) if strategy.unavailable else None
        if reason is None:
            runnable.append(strategy)
        elif strategy.name not in skipped:
            skipped[strategy.name] = reason
            logger.warning("%s is skipped: %s", strategy.name, reason)
    return runnable


def _case_data(ctx: Context, case, protocol: str) -> CaseData:
    spec = ctx.spec
    inter, id_col = spec.interactions, spec.users.id
    ids = case.users[id_col].to_numpy()
    users = IdMap(ids)
    revealed = _matrix(users, ctx.item_ids, case.revealed, inter.user, inter.item)
    test = case.test
    if inter.rating and inter.positive_threshold is not None:
        test = test[test[inter.rating] >= inter.positive_threshold]
    relevant = _matrix(users, ctx.item_ids, test, inter.user, inter.item)
    rows = None
    if protocol in ("warm", "new-items"):
        rows = ctx.user_ids.to_index(ids, what="user id")
    return CaseData(case.shots, ids, case.users, case.revealed, revealed, relevant, rows)


def _candidates(ctx: Context) -> np.ndarray:
    new = ctx.split.new_items
    if new is None:
        return np.arange(len(ctx.item_ids))
    return ctx.item_ids.to_index(new[ctx.spec.items.id], what="item id")


def _run_case(ctx, case: CaseData, strategy, candidates, k: int, base: dict) -> list[dict]:
    started = time.perf_counter()
    scores = strategy.score(ctx, case)
    seconds = time.perf_counter() - started
    scores = np.asarray(scores)[:, candidates]
    relevant = case.relevant[:, candidates]
    exclude = case.revealed_matrix[:, candidates]
    per_user = score_metrics(scores, relevant, exclude, k)
    n = len(per_user)
    row = dict(base, strategy=strategy.name, users=n, seconds=seconds,
               seconds_per_user=seconds / max(len(case.ids), 1))
    out = [dict(row, metric=m, value=float(per_user[m].mean()) if n else np.nan)
           for m in METRICS]
    lists = top_items(scores, exclude, k)
    out.append(dict(row, metric="coverage", value=coverage(lists, len(candidates))))
    return out


def evaluate(protocol: str, spec, data, *, data_dir=None, shots=DEFAULT_SHOTS, seeds=3,
             k: int = 10, strategies=None, fast: bool = False, epochs: int | None = None,
             max_users: int | None = None, model_params: dict | None = None,
             show_progress=None) -> EvaluationResult:
    """Compare the strategies on one protocol; see the module docstring.

    Parameters
    ----------
    protocol : {"new-users", "new-items", "warm"}
    spec : Spec or str or Path
        The feature spec of the hybrid model.
    data : str or object
        A dataset name or folder as for ``hybrid-rec train --data`` (see
        :func:`hybrid_rec.sources.load_training_data`), or an object with
        ``interactions``, ``users``, ``items`` and ``item_tags`` tables
        (such as the result of :func:`hybrid_rec.load_movielens`).
    shots : sequence of int
        Numbers of revealed ratings (``new-users`` only).
    seeds : int or sequence of int
        A count (seeds 0, 1, ...) or the seeds themselves. Each seed makes
        its own split and trains its own models.
    k : int
        List length.
    strategies : sequence of str, optional
        Names from :data:`hybrid_rec.evaluation.STRATEGIES`; default: all
        that apply to the protocol.
    fast : bool
        Few epochs and at most 40 users per case: for tests and smoke runs.
    epochs, max_users : int, optional
        Override the training epochs and the users per case.
    model_params : dict, optional
        More HybridRecommender parameters (also used by the ids-only model).

    Returns
    -------
    EvaluationResult
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    name, data = _load(data, data_dir)
    seeds = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    shots = sorted({int(n) for n in shots}) if protocol == "new-users" else [0]
    if any(n < 0 for n in shots):
        raise ValueError(f"shots must be >= 0, got {shots}")
    epochs = epochs or (FAST["epochs"] if fast else 30)
    max_users = max_users or (FAST["max_users"] if fast else None)
    chosen = _strategies(protocol, strategies)
    rows, fits, skipped = [], [], {}
    steps = progress(total=len(seeds) * len(shots) * len(chosen), enabled=show_progress,
                     desc=f"evaluate {protocol}", unit="run")
    with steps:
        for seed in seeds:
            split = make_split(protocol, spec, data, seed, shots, max_users)
            params = dict(model_params or {}, epochs=epochs, random_state=seed,
                          show_progress=False)
            ctx = Context(spec, split, params, _als_params(fast))
            base = dict(protocol=protocol, data=name, seed=seed)
            rows += _run_seed(ctx, chosen, skipped, k, base, steps)
            fits += [dict(seed=seed, model=m, seconds=s) for m, s in ctx.fit_seconds.items()]
    settings = dict(protocol=protocol, data=name, spec=spec.source, k=k, seeds=seeds,
                    shots=shots, epochs=epochs, max_users=max_users, fast=fast,
                    strategies=[s.name for s in chosen if s.name not in skipped],
                    skipped=skipped)
    logger.info("evaluated %d strategies on %s (%s), %d seed(s)", len(chosen), name,
                protocol, len(seeds))
    return EvaluationResult(pd.DataFrame(rows), pd.DataFrame(fits), settings)


def _run_seed(ctx: Context, chosen, skipped: dict, k: int, base: dict, steps) -> list[dict]:
    """Every case of one split with every strategy that applies; the result rows."""
    runnable = _available(chosen, ctx, skipped)
    for need in dict.fromkeys(n for s in runnable for n in s.needs):
        getattr(ctx, need)      # shared models train here, outside the timings
    candidates = _candidates(ctx)
    rows = []
    for case in ctx.split.cases:
        data = _case_data(ctx, case, ctx.split.protocol)
        steps.update(len(chosen) - len(runnable))
        for strategy in runnable:
            steps.update(1)
            too_few = case.shots < strategy.min_shots and data.train_rows is None
            if too_few or len(data.ids) == 0:
                continue
            rows += _run_case(ctx, data, strategy, candidates, k,
                              dict(base, shots=case.shots))
    return rows


def _als_params(fast: bool) -> dict:
    from .strategies import ALS_PARAMS

    params = dict(ALS_PARAMS)
    if fast:
        params["iterations"] = FAST["als_iterations"]
    return params


def _load(data, data_dir):
    """(name, tables) from a dataset name, a folder, or an object with the tables."""
    if isinstance(data, (str, Path)):
        from ..sources import load_training_data

        return str(data), load_training_data(str(data), data_dir)
    return getattr(data, "name", type(data).__name__), data
