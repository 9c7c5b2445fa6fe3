"""The written report of an evaluation: summary tables, Markdown and files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_text

__all__ = ["load_result", "markdown_report", "save_result", "summarise_results",
           "wide_table"]

LABELS = {"precision": "precision@{k}", "recall": "recall@{k}", "ndcg": "NDCG@{k}",
          "map": "MAP@{k}", "auc": "AUC", "coverage": "coverage@{k}"}
KEYS = ["protocol", "data", "shots", "strategy", "metric"]


def summarise_results(results: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd, min, max over seeds, users and seconds per user, per (shots, strategy, metric)."""
    if results.empty:
        return pd.DataFrame(columns=KEYS + ["mean", "sd", "min", "max", "seeds", "users",
                                            "seconds_per_user", "seconds"])
    from .strategies import STRATEGIES

    names = list(STRATEGIES) + [n for n in pd.unique(results["strategy"]) if n not in STRATEGIES]
    order = {name: i for i, name in enumerate(names)}
    grouped = results.groupby(KEYS, sort=False)
    table = grouped["value"].agg(mean="mean", sd="std", min="min", max="max", seeds="count")
    table["users"] = grouped["users"].mean()
    table["seconds_per_user"] = grouped["seconds_per_user"].mean()
    table["seconds"] = grouped["seconds"].mean()
    table = table.reset_index()
    table["_order"] = table["strategy"].map(order)
    table = table.sort_values(["metric", "shots", "_order"], kind="stable")
    return table.drop(columns="_order").reset_index(drop=True)


def _cell(mean: float, sd: float) -> str:
    if np.isnan(mean):
        return "-"
    return f"{mean:.4f}" if np.isnan(sd) else f"{mean:.4f} ± {sd:.4f}"


def wide_table(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Strategies x revealed ratings of one metric, cells ``mean ± sd``."""
    part = summary[summary["metric"] == metric]
    if part.empty:
        raise ValueError(f"no metric {metric!r} in the results; have "
                         f"{', '.join(pd.unique(summary['metric']))}")
    cells = part.assign(cell=[_cell(m, s) for m, s in zip(part["mean"], part["sd"])])
    order = list(pd.unique(part["strategy"]))
    table = cells.pivot(index="strategy", columns="shots", values="cell").reindex(order)
    return table.fillna("-")


def _markdown(table: pd.DataFrame, first: str) -> str:
    header = [first] + [str(c) for c in table.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in table.iterrows():
        lines.append("| " + " | ".join([str(name)] + [str(v) for v in row]) + " |")
    return "\n".join(lines)


def _timing(summary: pd.DataFrame) -> pd.DataFrame:
    part = summary[summary["metric"] == "ndcg"]
    ms = part.assign(ms=[f"{1000 * s:.3f}" for s in part["seconds_per_user"]])
    order = list(pd.unique(part["strategy"]))
    return ms.pivot(index="strategy", columns="shots", values="ms").reindex(order).fillna("-")


def markdown_report(result) -> str:
    """The Markdown report: settings, one table per metric, users and timings."""
    s = result.settings
    summary = result.summary()
    k = s["k"]
    by_shots = s["protocol"] == "new-users"
    lines = [f"# Evaluation: {s['protocol']} on {s['data']}", "",
             f"Spec `{s['spec']}`; seeds {', '.join(map(str, s['seeds']))}; k = {k}; "
             f"{s['epochs']} training epochs"
             + (f"; at most {s['max_users']} users per case" if s['max_users'] else "")
             + ". Cells are the mean ± standard deviation over seeds.", ""]
    users = summary[summary["metric"] == "ndcg"].groupby("shots")["users"].max()
    if by_shots:
        lines += ["Users tested per number of revealed ratings (mean over seeds): "
                  + ", ".join(f"{n}: {u:.0f}" for n, u in users.items()) + ".", ""]
    else:
        lines += [f"Users tested (mean over seeds): {users.iloc[0]:.0f}.", ""]
    for skipped, reason in s.get("skipped", {}).items():
        lines += [f"Skipped {skipped}: {reason}.", ""]
    for metric in ["ndcg", "precision", "recall", "map", "auc", "coverage"]:
        table = wide_table(summary, metric)
        label = LABELS[metric].format(k=k)
        if by_shots:
            lines += [f"## {label} by number of revealed ratings", "", _markdown(table,
                                                                                "strategy")]
        else:
            lines += [f"## {label}", "", _markdown(table.rename(columns={0: label}),
                                                   "strategy")]
        lines.append("")
    timing = _timing(summary)
    if not by_shots:
        timing = timing.rename(columns={0: "ms per user"})
    lines += ["## Milliseconds per user", "",
              "Wall time of each strategy's scoring step divided by the users scored; full "
              "retrain includes its training. Shared models trained once per seed are in "
              "fit_times.csv.", "", _markdown(timing, "strategy"), ""]
    ndcg = summary[summary["metric"] == "ndcg"]
    retrains = ndcg[ndcg["strategy"].str.startswith("full retrain")]
    for name, rows in retrains.groupby("strategy", sort=False):
        lines += [f"{name}: {rows['seconds'].mean():.1f} s of wall time per retrain (mean "
                  f"over cases), for all the case's new users at once.", ""]
    fits = result.fit_times
    if not fits.empty:
        mean_fit = fits.groupby("model", sort=False)["seconds"].mean()
        lines += ["Training once per seed (mean seconds): "
                  + ", ".join(f"{m} {v:.1f}" for m, v in mean_fit.items()) + ".", ""]
    return "\n".join(lines)


def save_result(result, out_dir: str | Path) -> dict[str, Path]:
    """Write every file of the report into ``out_dir``; returns name -> path."""
    from .plots import save_plots

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder")
    files = {"results": out / "results.csv", "summary": out / "summary.csv",
             "fit_times": out / "fit_times.csv", "report": out / "report.md",
             "settings": out / "settings.json"}
    # results.csv and fit_times.csv keep full precision, so load_result reads back
    # exactly what was measured; summary.csv is rounded for reading.
    for key, frame, fmt in (("results", result.results, None),
                            ("fit_times", result.fit_times, None),
                            ("summary", result.summary(), "%.6g")):
        with atomic_text(files[key]) as fh:
            frame.to_csv(fh, index=False, lineterminator="\n", float_format=fmt)
    with atomic_text(files["report"]) as fh:
        fh.write(result.to_markdown())
    with atomic_text(files["settings"]) as fh:
        json.dump(result.settings, fh, indent=2, default=str)
        fh.write("\n")
    files.update(save_plots(result, out))
    return files


def load_result(out_dir: str | Path):
    """Read back an evaluation written by :func:`save_result` (its CSV and JSON files)."""
    from .harness import EvaluationResult

    folder = Path(out_dir)
    missing = [n for n in ("results.csv", "fit_times.csv", "settings.json")
               if not (folder / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder}: not an evaluation report folder (no "
                                f"{', '.join(missing)})")
    settings = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    results = pd.read_csv(folder / "results.csv")
    fits = pd.read_csv(folder / "fit_times.csv")
    return EvaluationResult(results, fits, settings)
