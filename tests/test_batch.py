"""Tests for hybrid_rec.batch: streaming through hash buckets gives the in-memory answer."""

import csv

import numpy as np
import pandas as pd
import pytest

from hybrid_rec.batch import score_files

N_USERS = 400


@pytest.fixture(scope="module")
def inputs(ml100k, tmp_path_factory):
    """A users file with bad rows and a far-apart duplicate, and shuffled ratings."""
    rng = np.random.default_rng(11)
    folder = tmp_path_factory.mktemp("batch")
    users = ml100k.users.sample(N_USERS, random_state=3).reset_index(drop=True)
    users["user_id"] = [f"u{i}" for i in range(N_USERS)]
    users = users[["user_id", "age", "gender", "occupation", "zip_code"]].astype(str)
    users.loc[7, "age"] = "abc"
    users.loc[N_USERS - 1, "user_id"] = "u2"          # duplicate of line 4, at the end
    users.to_csv(folder / "users.csv", index=False)
    items = ml100k.items["item_id"].to_numpy()
    rows = [(f"u{u}", int(i), int(rng.integers(1, 6)))
            for u in range(N_USERS) if u % 3 for i in rng.choice(items, 5, replace=False)]
    rows += [("ghost", 50, 4), ("u5", 999999, 4), ("u8", 1, 9)]
    ratings = pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])
    ratings.sample(frac=1.0, random_state=5).to_csv(folder / "ratings.csv", index=False)
    return folder / "users.csv", folder / "ratings.csv"


def run(model, inputs, tmp_path, name, **kwargs):
    users, ratings = inputs
    out = tmp_path / f"{name}.csv"
    report = score_files(model, users, out, ratings=ratings, k=5, show_progress=False,
                         **kwargs)
    return report, out, tmp_path / f"{name}.rejects.csv"


def test_buckets_give_the_in_memory_lists_and_rejects(small_model_100k, inputs, tmp_path):
    whole, out1, rej1 = run(small_model_100k, inputs, tmp_path, "whole")
    spilled, out2, rej2 = run(small_model_100k, inputs, tmp_path, "spilled", bucket_bytes=2000)

    assert whole.buckets == 1 and spilled.buckets > 10
    for name in ("users_read", "users_scored", "users_rejected", "ratings_read",
                 "ratings_used", "ratings_rejected"):
        assert getattr(whole, name) == getattr(spilled, name), name
    assert whole.users_read == whole.users_scored + whole.users_rejected == N_USERS
    assert rej1.read_bytes() == rej2.read_bytes()
    a, b = pd.read_csv(out1), pd.read_csv(out2)
    pd.testing.assert_frame_equal(a.drop(columns="score"), b.drop(columns="score"))
    np.testing.assert_allclose(a["score"], b["score"], atol=2e-6)
    assert list(dict.fromkeys(a["user_id"])) == [f"u{i}" for i in range(N_USERS - 1) if i != 7]


def test_reruns_write_the_same_bytes(small_model_100k, inputs, tmp_path):
    _, out1, rej1 = run(small_model_100k, inputs, tmp_path, "first", bucket_bytes=3000)
    _, out2, rej2 = run(small_model_100k, inputs, tmp_path, "second", bucket_bytes=3000)

    assert out1.read_bytes() == out2.read_bytes()
    assert rej1.read_bytes() == rej2.read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no spill left


def test_reasons_survive_the_buckets(small_model_100k, inputs, tmp_path):
    report, _, rejects = run(small_model_100k, inputs, tmp_path, "r", bucket_bytes=2000)
    with open(rejects, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    reasons = {(r["file"].rsplit("/", 1)[-1], r["user_id"], r["reason"]) for r in rows}

    assert ("users.csv", "u2", "user id already given on line 4") in reasons
    assert ("users.csv", "u7", "age: not a number: 'abc'") in reasons
    assert ("ratings.csv", "ghost", "the user is not in the users file") in reasons
    assert ("ratings.csv", "u5", "the item is not in the model's catalogue") in reasons
    assert any(r[1] == "u7" and "rejected on line 9" in r[2] for r in reasons)
    users_part = [int(r["line"]) for r in rows if r["file"].endswith("users.csv")]
    ratings_part = [int(r["line"]) for r in rows if r["file"].endswith("ratings.csv")]
    assert rows[:len(users_part)] == [r for r in rows if r["file"].endswith("users.csv")]
    assert users_part == sorted(users_part) and ratings_part == sorted(ratings_part)
    assert report.rows_rejected == len(rows)


def test_same_lists_as_recommend_new(small_model_100k, inputs, tmp_path):
    users, ratings = inputs
    _, out, _ = run(small_model_100k, inputs, tmp_path, "cli", bucket_bytes=2500)
    frame = pd.read_csv(users, dtype=str).iloc[:-1].drop(index=7)   # the accepted users
    rated = pd.read_csv(ratings)
    rated = rated[rated.user_id.isin(frame.user_id) & rated.item_id.isin(
        small_model_100k.item_ids) & rated.rating.between(1, 5)]
    expected = small_model_100k.recommend_new(frame, rated, k=5)
    got = pd.read_csv(out, dtype={"user_id": str})

    assert got["user_id"].tolist() == expected["user_id"].tolist()
    assert got["item_id"].tolist() == expected["item_id"].tolist()
    np.testing.assert_allclose(got["score"], expected["score"], atol=2e-6)


def test_explanations_through_buckets_match_the_in_memory_ones(small_model_100k, inputs,
                                                               tmp_path):
    _, out1, _ = run(small_model_100k, inputs, tmp_path, "whole-x", explain=2)
    spilled, out2, _ = run(small_model_100k, inputs, tmp_path, "spilled-x", explain=2,
                           bucket_bytes=2000)

    assert spilled.buckets > 10
    a, b = pd.read_csv(out1, keep_default_na=False), pd.read_csv(out2, keep_default_na=False)
    assert list(a.columns) == ["user_id", "rank", "item_id", "score", "title", "explanation"]
    assert (a["explanation"] != "").mean() > 0.9
    pd.testing.assert_frame_equal(a[["user_id", "rank", "item_id"]],
                                  b[["user_id", "rank", "item_id"]])
    # The labels agree; contributions may differ in the last printed digit.
    strip = a["explanation"].str.replace(r"\([^)]*\)", "", regex=True)
    assert strip.equals(b["explanation"].str.replace(r"\([^)]*\)", "", regex=True))
