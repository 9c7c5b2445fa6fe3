"""Plots of an evaluation: each metric against revealed ratings, with the spread over seeds.

Matplotlib runs on the Agg backend, so plots need no display.
"""

from __future__ import annotations

from pathlib import Path

from ..atomic import atomic_path

__all__ = ["plot_metric", "save_plots"]

PLOTTED = ("ndcg", "precision", "recall", "map", "auc", "coverage")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_metric(result, metric: str = "ndcg", ax=None):
    """Draw one metric: lines with min-max bands (new users) or bars with ranges.

    Returns the matplotlib Axes.
    """
    from .report import LABELS

    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5))
    summary = result.summary()
    part = summary[summary["metric"] == metric]
    if part.empty:
        raise ValueError(f"no metric {metric!r} in the results")
    label = LABELS[metric].format(k=result.settings["k"])
    title = f"{result.settings['data']}, {result.settings['protocol']}"
    if result.settings["protocol"] == "new-users":
        for name, rows in part.groupby("strategy", sort=False):
            line, = ax.plot(rows["shots"], rows["mean"], marker="o", label=name)
            ax.fill_between(rows["shots"], rows["min"], rows["max"], color=line.get_color(),
                            alpha=0.15, linewidth=0)
        ax.set_xlabel("ratings revealed by the new user")
        ax.set_xticks(sorted(part["shots"].unique()))
        ax.legend(fontsize="small", ncol=2)
        title += " (band: min to max over seeds)"
    else:
        y = range(len(part))
        ax.barh(y, part["mean"], xerr=[part["mean"] - part["min"], part["max"] - part["mean"]],
                color="tab:blue", alpha=0.7, capsize=3)
        ax.set_yticks(list(y), part["strategy"])
        ax.invert_yaxis()
        title += " (bars: mean; whiskers: min to max over seeds)"
    ax.set_ylabel(label) if result.settings["protocol"] == "new-users" else ax.set_xlabel(label)
    ax.set_title(title, fontsize="medium")
    ax.grid(alpha=0.3)
    return ax


def save_plots(result, out_dir: str | Path) -> dict[str, Path]:
    """One PNG per metric in ``out_dir``, written atomically."""
    plt = _pyplot()
    files = {}
    for metric in PLOTTED:
        fig, ax = plt.subplots(figsize=(8, 5))
        plot_metric(result, metric, ax=ax)
        fig.tight_layout()
        path = Path(out_dir) / f"{metric}.png"
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=110, format="png")
        plt.close(fig)
        files[f"plot_{metric}"] = path
    return files
