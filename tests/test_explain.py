"""Tests for hybrid_rec.explain: the parts of a score add up to the score.

Known users, metadata-only new users and folded-in new users on MovieLens
100k; a user id feature on tiny data; labels; and the CLI's column.
"""

import copy
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from hybrid_rec import HybridRecommender, InputDataError
from hybrid_rec.explain import (_rating_shares, explanation_column, feature_label,
                                known_user_parts, new_user_parts)
from hybrid_rec.foldin import fold_in
from hybrid_rec.spec import parse_spec

TOL = dict(rtol=1e-5, atol=2e-4)


def sums(explained: pd.DataFrame) -> pd.Series:
    return explained.groupby(["user_id", "item_id"])["contribution"].sum()


def scores(recs: pd.DataFrame) -> pd.Series:
    return recs.set_index(["user_id", "item_id"])["score"].astype(float)


def assert_parts_sum_to_scores(explained, recs):
    got, want = sums(explained), scores(recs)
    assert len(want) > 0
    got = got.reindex(want.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), **TOL)


@pytest.fixture(scope="module")
def new_users(ml100k):
    """Three held-out-looking users: copies of real users under new ids, one bare."""
    users = ml100k.users[ml100k.users.user_id.isin([5, 42, 300])].copy()
    users["user_id"] = ["nu5", "nu42", "nu300"]
    bare = pd.DataFrame({"user_id": ["bare"], "age": [None], "gender": [None],
                         "occupation": [None], "zip_code": [None]})
    return pd.concat([users, bare], ignore_index=True)


@pytest.fixture(scope="module")
def new_ratings(ml100k):
    """The first 1, 5 and 20 ratings by time of users 5, 42 and 300."""
    frames = []
    for user, n in ((5, 1), (42, 5), (300, 20)):
        rows = ml100k.interactions[ml100k.interactions.user_id == user]
        rows = rows.sort_values(["timestamp", "item_id"]).head(n).copy()
        rows["user_id"] = f"nu{user}"
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


@pytest.mark.slow
def test_known_user_parts_sum_to_the_score(small_model_100k):
    model = small_model_100k
    recs = model.recommend([1, 2, 300], k=10)
    explained = pd.concat([model.explain(u, recs.loc[recs.user_id == u, "item_id"])
                           for u in (1, 2, 300)])

    assert_parts_sum_to_scores(explained, recs)
    assert set(explained.kind) == {"feature", "user bias", "item bias"}
    one = explained[(explained.user_id == 1) & (explained.item_id == recs.item_id.iloc[0])]
    assert one.label.tolist().count("item bias") == 1
    assert "age 18-24" in one.label.tolist()  # user 1 is 24
    assert "occupation: technician" in one.label.tolist()
    assert one.contribution.is_monotonic_decreasing


@pytest.mark.slow
def test_any_item_not_only_recommended_ones(small_model_100k):
    model = small_model_100k
    items = model.item_ids[:50]
    explained = model.explain(7, items)
    user = model.user_ids_.to_index([7])[0]
    want = model.item_vectors_ @ model.user_vectors_[user] + model.item_bias_vector_
    want += model.user_bias_vector_[user]

    np.testing.assert_allclose(sums(explained).loc[7].reindex(items).to_numpy(), want[:50],
                               **TOL)


@pytest.mark.slow
def test_metadata_only_new_users(small_model_100k, new_users, new_ratings):
    model = small_model_100k
    recs = model.recommend_new(new_users, new_ratings, k=10, fold_in=False)
    explained = model.explain_new(new_users, model.item_ids[:1], new_ratings, fold_in=False)

    assert "rating" not in set(explained.kind)
    for user in new_users.user_id:
        items = recs.loc[recs.user_id == user, "item_id"]
        part = model.explain_new(new_users[new_users.user_id == user], items, fold_in=False)
        assert_parts_sum_to_scores(part, recs[recs.user_id == user])
    bare = explained[explained.user_id == "bare"]
    assert set(bare.kind) == {"user bias", "item bias"}
    assert bare.loc[bare.kind == "user bias", "contribution"].item() == 0.0


@pytest.mark.slow
def test_folded_in_new_users(small_model_100k, new_users, new_ratings):
    model = small_model_100k
    recs = model.recommend_new(new_users, new_ratings, k=10)
    for user in new_users.user_id:
        items = recs.loc[recs.user_id == user, "item_id"]
        part = model.explain_new(new_users, items, new_ratings)
        part = part[part.user_id == user]
        assert_parts_sum_to_scores(part, recs[recs.user_id == user])
        n_rated = int((new_ratings.user_id == user).sum())
        ratings = part[(part.kind == "rating") & (part.item_id == items.iloc[0])]
        assert len(ratings) == n_rated


@pytest.mark.slow
def test_rating_shares_add_up_to_the_fold_in_shift(small_model_100k, new_users, new_ratings):
    """The stationarity identity itself: metadata parts + rating parts = the fold-in vector."""
    model = small_model_100k
    _, _, folded, _ = model.new_user_representations(new_users, new_ratings)
    _, _, start, _ = model.new_user_representations(new_users, new_ratings, fold_in=False)
    parts = new_user_parts(model, new_users, new_ratings)
    for row, p in enumerate(parts):
        is_rating = np.array([k == "rating" for k in p.kinds], dtype=bool)
        np.testing.assert_allclose(p.vectors[~is_rating].sum(axis=0), start[row], atol=1e-5)
        shift = p.vectors[is_rating].sum(axis=0)
        np.testing.assert_allclose(shift, folded[row] - start[row], atol=1e-5)
    assert np.abs(folded[2] - start[2]).max() > 1e-2  # 20 ratings moved the vector


@pytest.mark.slow
def test_rating_labels_name_title_and_value(small_model_100k, new_users):
    model = small_model_100k
    ratings = pd.DataFrame({"user_id": ["nu5", "nu5"], "item_id": [50, 1],
                            "rating": [5, 2]})
    explained = model.explain_new(new_users.iloc[[0]], [181], ratings)
    labels = set(explained.loc[explained.kind == "rating", "label"])

    assert labels == {"rated Star Wars (1977) 5", "rated Toy Story (1995) 2"}
    assert set(explained.loc[explained.kind == "rating", "feature"]) == {"50", "1"}


@pytest.mark.slow
def test_positive_signal_explains_only_liked_ratings(small_model_100k, new_users):
    model = copy.copy(small_model_100k)
    model.fold_in_signal = "positive"
    ratings = pd.DataFrame({"user_id": ["nu5"] * 3, "item_id": [50, 1, 181],
                            "rating": [5, 2, 4]})
    users = new_users.iloc[[0]]
    recs = model.recommend_new(users, ratings, k=5)
    explained = model.explain_new(users, recs.item_id, ratings)

    assert_parts_sum_to_scores(explained, recs)
    rated = explained.loc[explained.kind == "rating", "feature"]
    assert set(rated) == {"50", "181"}


@pytest.mark.slow
def test_explanation_column_lists_the_top_reasons(small_model_100k, new_users, new_ratings):
    model = small_model_100k
    recs = model.recommend_new(new_users, new_ratings, k=4)
    column = explanation_column(model, new_users, new_ratings, recs, n=2)

    assert column.index.equals(recs.index)
    first = recs.index[recs.user_id == "nu300"][0]
    reasons = column[first].split("; ")
    assert len(reasons) == 2
    explained = model.explain_new(new_users, [recs.loc[first, "item_id"]], new_ratings)
    explained = explained[(explained.user_id == "nu300")
                          & explained.kind.isin(["feature", "rating"])]
    want = [f"{r.label} ({r.contribution:+.3f})" for r in explained.head(2).itertuples()]
    assert reasons == want
    assert (column[recs.user_id == "bare"] == "").all()  # nothing but biases


@pytest.mark.slow
def test_unknown_user_points_to_explain_new(small_model_100k):
    with pytest.raises(InputDataError, match="explain_new"):
        known_user_parts(small_model_100k, 99999)
    with pytest.raises(InputDataError, match="item"):
        small_model_100k.explain(1, [99999])


@pytest.mark.parametrize("lam,t,n_rated", [(1.0, 0.5, 1), (0.1, 0.5, 4), (10.0, 2.0, 7),
                                            (0.3, 0.1, 3)])
def test_stationarity_identity_on_random_catalogues(lam, t, n_rated):
    rng = np.random.default_rng(n_rated)
    q = rng.normal(size=(200, 6)).astype(np.float32)
    b = rng.normal(scale=0.3, size=200).astype(np.float32)
    u0 = rng.normal(scale=0.5, size=6).astype(np.float32)
    items = rng.choice(200, size=n_rated, replace=False)
    weights = rng.uniform(0.5, 2.0, size=n_rated)
    u = fold_in(q, b, u0, items, weights, regularisation=lam, temperature=t)
    model = SimpleNamespace(item_vectors_=q, item_bias_vector_=b, fold_in_temperature=t,
                            fold_in_regularisation=lam)
    shares = _rating_shares(model, u, items, weights)

    assert shares.shape == (n_rated, 6)
    np.testing.assert_allclose(shares.sum(axis=0), u - u0, atol=1e-5)
    assert np.linalg.norm(u - u0) > 1e-2  # fold-in moved, so the identity is not 0 = 0


RAW_SPEC = {
    "interactions": {"user": "user_id", "item": "item_id"},
    "users": {"id": "user_id", "features": [
        {"kind": "identity"},
        {"name": "age", "kind": "bucket", "column": "age", "edges": [18, 30]},
        {"name": "tag", "kind": "tags", "column": "tag", "entity": "user_id"}]},
    "items": {"id": "item_id", "features": [{"kind": "identity"}]},
}


def test_user_id_and_tags_features_on_tiny_data():
    rng = np.random.default_rng(0)
    inter = pd.DataFrame({"user_id": rng.integers(1, 9, 60), "item_id": rng.integers(1, 13, 60)})
    users = pd.DataFrame({"user_id": np.arange(1, 9), "age": [15, 22, 35, 40, 19, 28, 50, 17]})
    tags = pd.DataFrame({"user_id": [1, 1, 2, 3], "tag": ["Jazz", "rock", "jazz", "rock"]})
    model = HybridRecommender(parse_spec(RAW_SPEC), no_components=3, epochs=3,
                              random_state=0)
    model.fit(inter, users, user_tags=tags)
    recs = model.recommend([1], k=5, exclude_seen=False)
    explained = model.explain(1, recs.item_id)

    assert_parts_sum_to_scores(explained, recs)
    labels = set(explained.label)
    assert {"user id 1", "age <18", "tag: jazz", "tag: rock"} <= labels


def test_feature_labels():
    spec = parse_spec(RAW_SPEC)

    assert feature_label(spec.users, "age:18-29") == "age 18-29"
    assert feature_label(spec.users, "id:42") == "user id 42"
    assert feature_label(spec.items, "id:7") == "item id 7"
    assert feature_label(spec.users, "tag:jazz") == "tag: jazz"
