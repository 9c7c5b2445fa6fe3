"""Tests for hybrid_rec.model: the estimator contract on tiny data with a planted preference.

Twenty users, twelve items: women (F) like genre A, men (M) genre B. Each user
gives three 5s to their genre and a 1 to the other; a model that learns
anything recommends each gender its genre, also to brand-new users.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from hybrid_rec import HybridRecommender, InputDataError, NotFittedError
from hybrid_rec.spec import parse_spec

RAW_SPEC = {
    "interactions": {"user": "user_id", "item": "item_id", "rating": "rating",
                     "time": "timestamp", "positive_threshold": 4},
    "users": {"id": "user_id", "features": [
        {"name": "gender", "kind": "category", "column": "gender"}]},
    "items": {"id": "item_id", "title": "title", "features": [
        {"kind": "identity"}, {"name": "genre", "kind": "multi", "column": "genres"}]},
}
SPEC = parse_spec(RAW_SPEC)
PARAMS = dict(no_components=4, epochs=20, learning_rate=0.1, random_state=0)

USERS = pd.DataFrame({"user_id": np.arange(1, 21), "gender": ["F", "M"] * 10})
ITEMS = pd.DataFrame({"item_id": np.arange(101, 113), "genres": ["A"] * 6 + ["B"] * 6,
                      "title": [f"Movie {i}" for i in range(101, 113)]})
GENRE = dict(zip(ITEMS.item_id, ITEMS.genres))
A_ITEMS = ITEMS.item_id[ITEMS.genres == "A"].tolist()
B_ITEMS = ITEMS.item_id[ITEMS.genres == "B"].tolist()


def make_interactions(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for user, gender in zip(USERS.user_id, USERS.gender):
        liked, other = (A_ITEMS, B_ITEMS) if gender == "F" else (B_ITEMS, A_ITEMS)
        for item in rng.choice(liked, 3, replace=False):
            rows.append((user, int(item), 5, len(rows)))
        rows.append((user, int(rng.choice(other)), 1, len(rows)))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])


INTERACTIONS = make_interactions()


def fit_model(**params):
    return HybridRecommender(SPEC, **{**PARAMS, **params}).fit(INTERACTIONS, USERS, ITEMS)


@pytest.fixture(scope="module")
def model():
    return fit_model()


def genre_share(recs, genre):
    return (recs["item_id"].map(GENRE) == genre).mean()


# -- the estimator contract -----------------------------------------------------

def test_constructor_only_stores_parameters():
    m = HybridRecommender("no/such/spec.toml", no_components=-3, loss="nope", epochs="x")

    assert m.spec == "no/such/spec.toml"
    assert m.get_params()["no_components"] == -3
    assert m.get_params()["loss"] == "nope"
    assert not m.is_fitted
    assert "not fitted" in repr(m)


@pytest.mark.parametrize("use", [
    lambda m: m.recommend([1]),
    lambda m: m.recommend_new(USERS.head(1)),
    lambda m: m.similar_items([101]),
    lambda m: m.add_items(ITEMS.head(1)),
    lambda m: m.user_representations(),
    lambda m: m.item_ids,
])
def test_use_before_fit_raises(use):
    with pytest.raises(NotFittedError, match=r"not fitted yet: call fit\(\.\.\.\)"):
        use(HybridRecommender(SPEC))


@pytest.mark.parametrize("name, value, rule", [
    ("no_components", 0, "an integer >= 1"),
    ("epochs", 2.5, "an integer >= 1"),
    ("num_threads", True, "an integer >= 1"),
    ("learning_rate", 0, "a finite number > 0"),
    ("fold_in_regularisation", float("nan"), "a finite number > 0"),
    ("item_alpha", -1e-3, "a finite number >= 0"),
    ("loss", "hinge", "one of warp, bpr, warp-kos, logistic"),
    ("fold_in_signal", "all", "one of rated, positive"),
    ("random_state", "x", "a non-negative integer or a numpy.random.Generator"),
    ("random_state", -1, "a non-negative integer or a numpy.random.Generator"),
])
def test_bad_parameters_raise_naming_them(name, value, rule):
    m = HybridRecommender(SPEC, **{**PARAMS, name: value})
    with pytest.raises(ValueError, match=rf"^{name} must be {rule}, got {value!r}"):
        m.fit(INTERACTIONS, USERS, ITEMS)
    assert not m.is_fitted


def test_fit_accepts_a_spec_path_and_returns_self(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text(
        '[interactions]\nuser = "user_id"\nitem = "item_id"\n'
        '[users]\nid = "user_id"\n[[users.features]]\nname = "gender"\nkind = "category"\n'
        'column = "gender"\n[items]\nid = "item_id"\n[[items.features]]\nkind = "identity"\n',
        encoding="utf-8")
    m = HybridRecommender(path, no_components=2, epochs=1)

    assert m.fit(INTERACTIONS, USERS) is m
    assert m.is_fitted
    assert m.user_ids.tolist() == list(range(1, 21))
    assert m.item_ids.tolist() == ITEMS.item_id.tolist()
    assert m.feature_names["users"] == ["gender:F", "gender:M"]


def test_learned_shapes(model):
    biases, vectors = model.user_representations()

    assert vectors.shape == (20, 4) and biases.shape == (20,)
    assert model.item_embeddings_.shape == (12 + 2, 4)  # 12 ids and 2 genres
    assert model.feature_names["items"][-2:] == ["genre:A", "genre:B"]
    assert np.isfinite(vectors).all()


def test_same_seed_gives_identical_embeddings():
    a, b = fit_model(random_state=7), fit_model(random_state=7)
    c = fit_model(random_state=8)

    np.testing.assert_array_equal(a.item_embeddings_, b.item_embeddings_)
    np.testing.assert_array_equal(a.user_embeddings_, b.user_embeddings_)
    np.testing.assert_array_equal(a.item_biases_, b.item_biases_)
    assert not np.array_equal(a.item_embeddings_, c.item_embeddings_)


def test_generator_random_state_is_accepted():
    m = fit_model(random_state=np.random.default_rng(1), epochs=1)

    assert m.is_fitted


# -- recommending known users ---------------------------------------------------

def test_recommend_learns_the_planted_preference(model):
    recs = model.recommend(USERS.user_id, k=3)
    women = recs[recs.user_id.isin(USERS.user_id[USERS.gender == "F"])]
    men = recs[recs.user_id.isin(USERS.user_id[USERS.gender == "M"])]

    assert list(recs.columns) == ["user_id", "rank", "item_id", "score", "title"]
    assert genre_share(women, "A") >= 0.9
    assert genre_share(men, "B") >= 0.9


def test_recommend_excludes_seen_items(model):
    recs = model.recommend(USERS.user_id, k=12)
    seen = set(zip(INTERACTIONS.user_id, INTERACTIONS.item_id))

    assert not {(u, i) for u, i in zip(recs.user_id, recs.item_id)} & seen
    assert (recs.groupby("user_id").size() == 12 - 4).all()  # 4 rated, even the 1s
    assert recs.groupby("user_id")["rank"].apply(list).map(lambda r: r == list(range(1, 9))
                                                           ).all()


def test_recommend_can_include_seen_items(model):
    recs = model.recommend([1], k=12, exclude_seen=False)

    assert sorted(recs.item_id) == ITEMS.item_id.tolist()


def test_recommend_titles(model):
    recs = model.recommend([2], k=2)

    assert recs.title.tolist() == [f"Movie {i}" for i in recs.item_id]


def test_recommend_unknown_user(model):
    with pytest.raises(InputDataError, match=r"1 unknown user id\(s\), e\.g\. \[999\].*use "
                                             r"recommend_new"):
        model.recommend([1, 999])


@pytest.mark.parametrize("k", [-1, 2.0, True])
def test_bad_k(model, k):
    with pytest.raises(ValueError, match=rf"k must be a non-negative integer, got {k!r}"):
        model.recommend([1], k=k)


def test_k_zero_gives_an_empty_table(model):
    recs = model.recommend([1, 2], k=0)

    assert len(recs) == 0
    assert "item_id" in recs.columns


# -- brand-new users --------------------------------------------------------------

def new_users(*genders, start=900):
    return pd.DataFrame({"user_id": range(start, start + len(genders)),
                         "gender": list(genders)})


def test_recommend_new_from_metadata_only(model):
    recs = model.recommend_new(new_users("F", "M"), k=3)

    assert recs.user_id.unique().tolist() == [900, 901]
    assert genre_share(recs[recs.user_id == 900], "A") == 1.0
    assert genre_share(recs[recs.user_id == 901], "B") == 1.0


def test_new_user_with_a_training_users_metadata_gets_its_vector(model):
    # the spec gives users no identity feature, so metadata is all a user's vector is
    ids, biases, vectors, rated = model.new_user_representations(new_users("F"))
    train_biases, train_vectors = model.user_representations()

    np.testing.assert_allclose(vectors[0], train_vectors[0], rtol=1e-6)
    assert biases[0] == pytest.approx(train_biases[0])
    assert rated.nnz == 0


def test_recommend_new_excludes_rated_items_and_folds_in(model):
    users = new_users("M")
    ratings = pd.DataFrame({"user_id": 900, "item_id": A_ITEMS[:3] + [B_ITEMS[0]],
                            "rating": [5, 5, 5, 1], "timestamp": range(4)})
    plain = model.recommend_new(users, k=12, fold_in=False)
    folded = model.recommend_new(users, ratings, k=12)
    rated = set(ratings.item_id)

    assert not rated & set(folded.item_id)
    assert not rated & set(model.recommend_new(users, ratings, k=12, fold_in=False).item_id)
    assert len(folded) == 12 - 4
    # an M user who likes A: the unrated A items climb above where metadata put them
    rest = [i for i in A_ITEMS if i not in rated]
    rank = lambda recs: recs.set_index("item_id")["rank"]  # noqa: E731
    assert rank(folded)[rest].mean() < rank(plain)[rest].mean()


def test_fold_in_signal_positive_ignores_low_ratings(model):
    m = fit_model(fold_in_signal="positive")
    users = new_users("F")
    low = pd.DataFrame({"user_id": 900, "item_id": [B_ITEMS[0], A_ITEMS[0]],
                        "rating": [1, 5], "timestamp": [0, 1]})
    high_only = low.iloc[[1]]
    _, _, v_low, rated = m.new_user_representations(users, low)
    _, _, v_high, _ = m.new_user_representations(users, high_only)
    _, _, v_rated, _ = model.new_user_representations(users, low)

    np.testing.assert_array_equal(v_low, v_high)
    assert rated.nnz == 2
    assert not np.allclose(v_rated, v_high)  # "rated" (the default) folds in the 1 too


def test_user_without_metadata_or_ratings_gets_the_bias_only_ranking(model):
    recs = model.recommend_new(new_users(None), k=12)
    biases = model.item_bias_vector_
    order = sorted(range(len(biases)), key=lambda j: (-biases[j], j))

    assert recs.item_id.tolist() == model.item_ids[order].tolist()
    np.testing.assert_allclose(recs.score, biases[order], rtol=1e-6)


def test_ratings_for_unknown_items_warn(model):
    ratings = pd.DataFrame({"user_id": [900, 900], "item_id": [101, 5555],
                            "rating": [5, 5], "timestamp": [0, 1]})
    with pytest.warns(UserWarning, match=r"1 rating\(s\) are for items the model does not "
                                         r"know"):
        recs = model.recommend_new(new_users("F"), ratings, k=12)

    assert 101 not in set(recs.item_id)


def test_new_users_need_the_id_column(model):
    with pytest.raises(InputDataError, match=r"new users have no id column 'user_id'"):
        model.recommend_new(pd.DataFrame({"gender": ["F"]}))


def test_recommend_new_ratings_without_time_column(model):
    ratings = pd.DataFrame({"user_id": [900, 900], "item_id": [101, 101], "rating": [5, 1]})
    _, _, _, rated = model.new_user_representations(new_users("F"), ratings)
    recs = model.recommend_new(new_users("F"), ratings, k=3)

    assert 101 not in set(recs.item_id)
    assert rated.toarray()[0].tolist() == [1] + [0] * 11


def test_new_user_with_text_id_in_an_int_model(model):
    users = pd.DataFrame({"user_id": ["alice"], "gender": ["F"]})
    ratings = pd.DataFrame({"user_id": ["alice"], "item_id": [101], "rating": [5],
                            "timestamp": [0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        recs = model.recommend_new(users, ratings, k=3)

    assert set(recs.user_id) == {"alice"}
    assert 101 not in set(recs.item_id)


def test_fold_in_signal_positive_with_threshold_zero():
    raw = {**RAW_SPEC, "interactions": {**RAW_SPEC["interactions"], "positive_threshold": 0}}
    signed = INTERACTIONS.assign(rating=np.where(INTERACTIONS.rating >= 4, 1, -1))
    m = HybridRecommender(parse_spec(raw), fold_in_signal="positive", **PARAMS)
    m.fit(signed, USERS, ITEMS)
    both = pd.DataFrame({"user_id": 900, "item_id": [B_ITEMS[0], A_ITEMS[0]],
                         "rating": [-1, 1], "timestamp": [0, 1]})
    _, _, v_both, _ = m.new_user_representations(new_users("F"), both)
    _, _, v_pos, _ = m.new_user_representations(new_users("F"), both.iloc[[1]])

    np.testing.assert_array_equal(v_both, v_pos)


# -- items ----------------------------------------------------------------------

def test_similar_items_excludes_the_item_itself(model):
    sims = model.similar_items([101, 107], k=11)

    assert list(sims.columns[:4]) == ["item_id", "rank", "similar_item_id", "score"]
    for item, group in sims.groupby("item_id"):
        assert item not in set(group.similar_item_id)
        assert len(group) == 11
        assert (group.score <= 1 + 1e-6).all()
        assert GENRE[group.similar_item_id.iloc[0]] == GENRE[item]


def test_similar_items_unknown_item(model):
    with pytest.raises(InputDataError, match=r"unknown item id\(s\), e\.g\. \[1\]"):
        model.similar_items([1])


def test_add_items_makes_new_items_recommendable():
    m = fit_model()
    new = pd.DataFrame({"item_id": [201, 202], "genres": ["A", "B"],
                        "title": ["New A", "New B"]})
    expected_biases, expected_vectors = m.item_representations(new)

    assert m.add_items(new) is m
    assert m.item_ids.tolist()[-2:] == [201, 202]
    np.testing.assert_allclose(m.item_vectors_[-2:], expected_vectors, rtol=1e-6)
    women = USERS.user_id[USERS.gender == "F"]
    recs = m.recommend(women, k=20)
    assert set(recs.item_id) >= {201, 202}
    assert (recs.groupby("user_id").size() == 14 - 4).all()
    ranks = recs.pivot(index="user_id", columns="item_id", values="rank")
    assert (ranks[201] < ranks[202]).mean() >= 0.9  # women prefer the new A item
    assert recs.loc[recs.item_id == 201, "title"].eq("New A").all()
    assert 201 in set(m.recommend_new(new_users("F"), k=5).item_id)
    assert m.similar_items([201], k=1).similar_item_id.map(GENRE).eq("A").all()


def test_add_items_rejects_known_ids(model):
    with pytest.raises(InputDataError, match=r"1 item\(s\) are already in the catalogue, "
                                             r"e\.g\. \[101\]"):
        model.add_items(pd.DataFrame({"item_id": [101], "genres": ["A"]}))


def test_packaged_100k_spec_trains_on_a_slice_of_real_data(spec_100k_path, data_dir):
    from hybrid_rec import load_movielens

    ml = load_movielens("100k", data_dir, download=False)
    part = ml.interactions.head(3000)
    users = ml.users[ml.users.user_id.isin(part.user_id)]
    items = ml.items[ml.items.item_id.isin(part.item_id)]
    m = HybridRecommender(spec_100k_path, no_components=4, epochs=2).fit(part, users, items)
    twin = users.head(1).assign(user_id=10_000)
    recs = m.recommend_new(twin, k=5)

    assert len(recs) == 5 and recs.title.ne("").all()
    # no user identity in the 100k spec: a metadata twin gets the training user's vector
    np.testing.assert_allclose(m.new_user_representations(twin, fold_in=False)[2][0],
                               m.user_representations()[1][0], rtol=1e-5)


def test_add_items_with_float_ids_keeps_the_catalogue_usable():
    m = fit_model(epochs=1)
    m.add_items(pd.DataFrame({"item_id": [201.0], "genres": ["A"]}))

    assert m.item_ids.tolist()[-1] == 201
    assert len(m.similar_items([101], k=2)) == 2
