"""Protocols, the harness and ``hybrid-rec evaluate`` on real MovieLens data (fast settings)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybrid_rec.cli import EXIT_OK, EXIT_USAGE, main
from hybrid_rec.evaluation import STRATEGIES, EvaluationResult, evaluate, make_split
from hybrid_rec.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SPEC_100K = ROOT / "features" / "movielens-100k.toml"
SPEC_SMALL = ROOT / "features" / "movielens-latest-small.toml"
METRICS = {"precision", "recall", "ndcg", "map", "auc", "coverage"}


@pytest.fixture(scope="module")
def spec():
    return load_spec(SPEC_100K)


def pairs(frame):
    return set(zip(frame["user_id"], frame["item_id"]))


def test_new_users_reveal_the_first_ratings_by_time(ml100k, spec):
    split = make_split("new-users", spec, ml100k, seed=4, shots=(0, 3, 20))
    new = set(split.cases[0].users["user_id"])
    assert not new & set(split.train["user_id"])
    assert not new & set(split.users["user_id"])
    for case in split.cases:
        history = ml100k.interactions[ml100k.interactions["user_id"].isin(
            case.users["user_id"])]
        assert len(case.revealed) == case.shots * len(case.users)
        assert pairs(case.revealed) | pairs(case.test) == pairs(history)
        assert not pairs(case.revealed) & pairs(case.test)
        last = case.revealed.groupby("user_id")["timestamp"].max()
        first = case.test.groupby("user_id")["timestamp"].min()
        assert (last <= first.reindex(last.index)).all()
        assert (case.test[case.test["rating"] >= 4].groupby("user_id").size() > 0).all()
    assert len(split.cases[2].users) < len(split.cases[0].users)   # some have <= 20 ratings


def test_splits_are_seeded(ml100k, spec):
    a = make_split("warm", spec, ml100k, seed=1)
    b = make_split("warm", spec, ml100k, seed=1)
    c = make_split("warm", spec, ml100k, seed=2)
    assert pairs(a.train) == pairs(b.train) != pairs(c.train)
    assert not pairs(a.train) & pairs(a.cases[0].test)


def test_new_items_never_reach_training(ml100k, spec):
    split = make_split("new-items", spec, ml100k, seed=0)
    new = set(split.new_items["item_id"])
    assert new and not new & set(split.train["item_id"])
    assert not new & set(split.items["item_id"])
    assert set(split.cases[0].test["item_id"]) <= new


@pytest.mark.slow
def test_new_users_harness_compares_every_strategy(ml100k):
    result = evaluate("new-users", SPEC_100K, ml100k, shots=(0, 3), seeds=2, fast=True,
                      max_users=30)
    r = result.results
    expected = {n for n, s in STRATEGIES.items() if "new-users" in s.protocols}
    assert set(r["strategy"]) == expected
    assert set(r["metric"]) == METRICS
    assert set(r["seed"]) == {0, 1} and set(r["shots"]) == {0, 3}
    at_zero = set(r.loc[r["shots"] == 0, "strategy"])
    assert "item-kNN" not in at_zero and "ALS (implicit)" not in at_zero
    assert r["value"].between(0, 1).all() and (r["seconds"] >= 0).all()
    assert (r["users"] == 30).all()
    # Without ratings, fold-in is the metadata vector.
    zero = r[r["shots"] == 0].pivot_table(index=["seed", "metric"], columns="strategy",
                                          values="value")
    np.testing.assert_allclose(zero["fold-in"], zero["metadata only"])
    summary = result.summary()
    assert (summary["seeds"] == 2).all()
    table = result.table("ndcg")
    assert list(table.columns) == [0, 3] and "±" in table.loc["fold-in", 3]
    assert table.loc["item-kNN", 0] == "-"


@pytest.mark.slow
def test_results_are_reproducible(ml100k):
    runs = [evaluate("warm", SPEC_100K, ml100k, seeds=[3], fast=True, max_users=25)
            for _ in range(2)]
    a, b = (run.results.drop(columns=["seconds", "seconds_per_user"]) for run in runs)
    pd.testing.assert_frame_equal(a, b)
    assert set(a["strategy"]) == {"popularity", "item-kNN", "ALS (implicit)",
                                  "LightFM ids only", "hybrid"}


def test_unknown_strategy_and_protocol_are_named(ml100k):
    with pytest.raises(ValueError, match="'fold-in'.*choose from"):
        evaluate("warm", SPEC_100K, ml100k, strategies=["fold-in"], fast=True)
    with pytest.raises(ValueError, match="protocol must be one of"):
        evaluate("cold", SPEC_100K, ml100k)


@pytest.mark.slow
def test_cli_writes_the_report(data_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HYBRID_REC_DATA", str(data_dir))
    out = tmp_path / "report"
    code = main(["--no-progress", "-q", "evaluate", "--spec", str(SPEC_100K), "--data", "100k",
                 "--protocol", "new-users", "--shots", "0,1", "--seeds", "1", "--fast",
                 "--strategies", "popularity,metadata only,fold-in", "--out", str(out)])
    assert code == EXIT_OK
    results = pd.read_csv(out / "results.csv")
    assert set(results["strategy"]) == {"popularity", "metadata only", "fold-in"}
    assert len(results) == 2 * 3 * len(METRICS)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| strategy | 0 | 1 |" in report and "| fold-in |" in report
    for metric in METRICS:
        assert (out / f"{metric}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob(".*tmp"))
    assert "fold-in" in capsys.readouterr().out
    again = EvaluationResult.load(out)
    assert again.to_markdown() == report
    assert again.settings["shots"] == [0, 1]


@pytest.mark.slow
def test_cli_new_items_on_latest_small(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRID_REC_DATA", str(data_dir))
    out = tmp_path / "items"
    code = main(["--no-progress", "-q", "evaluate", "--spec", str(SPEC_SMALL), "--data",
                 "latest-small", "--protocol", "new-items", "--seeds", "1", "--fast",
                 "--out", str(out)])
    assert code == EXIT_OK
    summary = pd.read_csv(out / "summary.csv")
    ndcg = summary[summary["metric"] == "ndcg"].set_index("strategy")["mean"]
    assert set(ndcg.index) == {"random", "feature popularity", "LightFM ids only",
                               "metadata only"}
    assert (out / "ndcg.png").exists()


@pytest.mark.parametrize("args, message", [
    (["--shots", "0,x"], "comma-separated integers"),
    (["--shots", "0,-1"], "must be >= 0"),
    (["--seeds", "0"], "must be >= 1"),
    (["--protocol", "cold"], "invalid choice"),
])
def test_cli_usage_errors(tmp_path, capsys, args, message):
    base = {"--spec": str(SPEC_100K), "--data": "100k", "--protocol": "warm",
            "--out": str(tmp_path / "x")}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    argv = ["evaluate"] + [part for pair in base.items() for part in pair]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_load_names_a_folder_that_is_not_a_report(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an evaluation report folder"):
        EvaluationResult.load(tmp_path)


def test_cli_out_must_be_a_folder(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x", encoding="utf-8")
    code = main(["evaluate", "--spec", str(SPEC_100K), "--data", "100k", "--protocol", "warm",
                 "--out", str(target)])
    assert code == 1
    assert "is a file; give a folder" in capsys.readouterr().err


def test_strategies_that_cannot_run_are_skipped_and_said(data_dir):
    from hybrid_rec import load_movielens

    small = load_movielens("latest-small", data_dir)
    result = evaluate("new-users", SPEC_SMALL, small, shots=(2,), seeds=1, fast=True,
                      max_users=10, strategies=["popularity", "segment popularity",
                                                "full retrain + user ids"])
    skipped = result.settings["skipped"]
    assert set(skipped) == {"segment popularity", "full retrain + user ids"}
    assert "identity" in skipped["full retrain + user ids"]
    assert set(result.results["strategy"]) == {"popularity"}
    assert "Skipped segment popularity" in result.to_markdown()
