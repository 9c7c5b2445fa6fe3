"""Plots of an evaluation: each metric against revealed ratings, with the spread over seeds.

Outside a notebook kernel, matplotlib runs on the Agg backend (unless MPLBACKEND
says otherwise), so the command line needs no display; inside one, plots show
inline as usual.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from ..atomic import atomic_path

__all__ = ["plot_metric", "save_plots"]

PLOTTED = ("ndcg", "precision", "recall", "map", "auc", "coverage")


def _pyplot():
    import matplotlib

    if "ipykernel" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _paired(results: pd.DataFrame, metric: str, baseline: str) -> pd.DataFrame:
    """Per (shots, strategy): mean, min, max over seeds of the gap to ``baseline``."""
    part = results[results["metric"] == metric]
    wide = part.pivot_table(index=["seed", "shots"], columns="strategy", values="value",
                            sort=False)
    if baseline not in wide.columns:
        raise ValueError(f"no strategy {baseline!r} to compare with")
    gaps = wide.drop(columns=baseline).sub(wide[baseline], axis=0)
    gaps = gaps.stack().rename("gap").reset_index()
    out = gaps.groupby(["shots", "strategy"], sort=False)["gap"].agg(["mean", "min", "max"])
    return out.reset_index()


def _lines(ax, part: pd.DataFrame, order) -> None:
    """One line and band per strategy; a strategy keeps its colour in every plot.

    Past ten strategies the colours repeat, with dashed lines.
    """
    colours = _pyplot().get_cmap("tab10")
    for n, name in enumerate(order):
        rows = part[part["strategy"] == name].sort_values("shots")
        if rows.empty:
            continue
        colour = colours(n % 10)
        ax.plot(rows["shots"], rows["mean"], marker="o", label=name, color=colour,
                linestyle="-" if n < 10 else "--")
        ax.fill_between(rows["shots"], rows["min"], rows["max"], color=colour, alpha=0.12,
                        linewidth=0)
    ax.set_xlabel("ratings revealed by the new user")
    ax.set_xticks(sorted(part["shots"].unique()))
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))


def plot_metric(result, metric: str = "ndcg", ax=None, baseline: str | None = None):
    """Draw one metric: lines with min-max bands (new users) or bars with ranges.

    With ``baseline`` (new users only), each line is the gap to that
    strategy on the same seed and number of ratings, which removes the
    variation between splits. Returns the matplotlib Axes.
    """
    from .report import LABELS

    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 5))
    summary = result.summary()
    part = summary[summary["metric"] == metric]
    if part.empty:
        raise ValueError(f"no metric {metric!r} in the results")
    label = LABELS[metric].format(k=result.settings["k"])
    title = f"{result.settings['data']}, {result.settings['protocol']}"
    order = list(pd.unique(part["strategy"]))
    if result.settings["protocol"] == "new-users":
        if baseline is not None:
            part = _paired(result.results, metric, baseline)
            ax.axhline(0.0, color="black", linewidth=1)
            label = f"{label} minus {baseline}"
        _lines(ax, part, order)
        ax.set_ylabel(label)
        title += " (band: min to max over seeds)"
    else:
        y = range(len(part))
        ax.barh(y, part["mean"], xerr=[part["mean"] - part["min"], part["max"] - part["mean"]],
                color="tab:blue", alpha=0.7, capsize=3)
        ax.set_yticks(list(y), part["strategy"])
        ax.invert_yaxis()
        ax.set_xlabel(label)
        title += " (bars: mean; whiskers: min to max over seeds)"
    ax.set_title(title, fontsize="medium")
    ax.grid(alpha=0.3)
    return ax


def _save(fig, path: Path) -> None:
    plt = _pyplot()
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def save_plots(result, out_dir: str | Path) -> dict[str, Path]:
    """One PNG per metric in ``out_dir`` (and NDCG against popularity), written atomically."""
    plt = _pyplot()
    files = {}
    for metric in PLOTTED:
        fig, ax = plt.subplots(figsize=(10, 5))
        plot_metric(result, metric, ax=ax)
        files[f"plot_{metric}"] = Path(out_dir) / f"{metric}.png"
        _save(fig, files[f"plot_{metric}"])
    strategies = set(result.results.get("strategy", []))
    if result.settings["protocol"] == "new-users" and "popularity" in strategies:
        fig, ax = plt.subplots(figsize=(10, 5))
        plot_metric(result, "ndcg", ax=ax, baseline="popularity")
        files["plot_ndcg_vs_popularity"] = Path(out_dir) / "ndcg_vs_popularity.png"
        _save(fig, files["plot_ndcg_vs_popularity"])
    return files
