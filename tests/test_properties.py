"""Property-based tests over random small catalogues, users and inputs (hypothesis)."""

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybrid_rec import HybridRecommender
from hybrid_rec.encoder import FeatureEncoder
from hybrid_rec.idmap import IdMap
from hybrid_rec.scoring import to_frame, top_k
from hybrid_rec.spec import parse_spec

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

# Small integers make ties common, which is where ordering bugs hide.
small = st.integers(-3, 3).map(float)


@st.composite
def catalogues(draw):
    n_users, n_items, dim = draw(st.integers(1, 6)), draw(st.integers(1, 14)), draw(
        st.integers(1, 3))
    users = np.array(draw(st.lists(small, min_size=n_users * dim, max_size=n_users * dim)))
    items = np.array(draw(st.lists(small, min_size=n_items * dim, max_size=n_items * dim)))
    item_biases = np.array(draw(st.lists(small, min_size=n_items, max_size=n_items)))
    mask = np.array(draw(st.lists(st.booleans(), min_size=n_users * n_items,
                                  max_size=n_users * n_items))).reshape(n_users, n_items)
    k = draw(st.integers(1, n_items + 3))
    return (users.reshape(n_users, dim), items.reshape(n_items, dim), item_biases,
            sp.csr_matrix(mask.astype(np.float32)), k)


@SETTINGS
@given(catalogues(), st.integers(1, 4))
def test_top_k_lists_are_valid_and_stable(case, chunk_size):
    users, items, item_biases, exclude, k = case
    user_biases = np.zeros(len(users))
    idx, scores = top_k(users, user_biases, items, item_biases, k, exclude, chunk_size)
    again = top_k(users, user_biases, items, item_biases, k, exclude)
    assert np.array_equal(idx, again[0]) and np.array_equal(scores, again[1])
    full = (users @ items.T + item_biases).astype(np.float32)
    dense = exclude.toarray() > 0
    frame = to_frame(np.arange(len(users)), idx, scores, np.arange(len(items)))
    for u in range(len(users)):
        rows = frame[frame.user_id == u]
        allowed = np.flatnonzero(~dense[u])
        assert rows["rank"].tolist() == list(range(1, min(k, len(allowed)) + 1))
        got = rows["item_id"].to_numpy()
        assert not dense[u, got].any()
        s = rows["score"].to_numpy()
        assert np.isfinite(s).all() and (np.diff(s) <= 0).all()
        # Ties go to the lower item index, and nothing better was left out.
        order = allowed[np.lexsort((allowed, -full[u, allowed]))][: len(got)]
        assert got.tolist() == order.tolist()


RAW = {
    "interactions": {"user": "user_id", "item": "item_id", "rating": "rating",
                     "positive_threshold": 3},
    "users": {"id": "user_id", "features": [
        {"kind": "identity", "weight": 0.5},
        {"name": "gender", "kind": "category", "column": "gender", "weight": 2.0},
        {"name": "langs", "kind": "multi", "column": "langs"}]},
    "items": {"id": "item_id", "features": [
        {"kind": "identity"}, {"name": "genre", "kind": "multi", "column": "genres"}]},
}
GENDERS = ["F", "M", "X"]
LANGS = ["en", "fr", "de", "ja"]


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(3)
    users = pd.DataFrame({"user_id": np.arange(30), "gender": rng.choice(GENDERS, 30),
                          "langs": ["|".join(rng.choice(LANGS, rng.integers(1, 3),
                                                        replace=False)) for _ in range(30)]})
    items = pd.DataFrame({"item_id": np.arange(100, 116),
                          "genres": rng.choice(["A", "B", "A|B", "C"], 16)})
    inter = pd.DataFrame({"user_id": rng.integers(0, 30, 200),
                          "item_id": rng.integers(100, 116, 200),
                          "rating": rng.integers(1, 6, 200)})
    m = HybridRecommender(parse_spec(RAW), no_components=4, epochs=5, random_state=1)
    return m.fit(inter, users, items)


@st.composite
def new_users(draw):
    n = draw(st.integers(1, 5))
    ids = [f"n{i}" for i in range(n)]
    gender = draw(st.lists(st.sampled_from(GENDERS + ["unseen", None]), min_size=n,
                           max_size=n))
    langs = draw(st.lists(st.lists(st.sampled_from(LANGS + ["xx"]), max_size=3, unique=True)
                          .map(lambda v: "|".join(v) or None), min_size=n, max_size=n))
    rated = draw(st.lists(st.tuples(st.sampled_from(ids), st.integers(100, 115),
                                    st.integers(1, 5)), max_size=20))
    excluded_all = draw(st.booleans())
    if excluded_all:
        rated += [(ids[0], i, 4) for i in range(100, 116)]
    users = pd.DataFrame({"user_id": ids, "gender": gender, "langs": langs})
    ratings = pd.DataFrame(rated, columns=["user_id", "item_id", "rating"])
    return users, ratings, draw(st.integers(1, 20))


@SETTINGS
@given(case=new_users(), fold=st.booleans())
def test_new_user_lists_never_hold_rated_items_and_rank_without_gaps(model, case, fold):
    users, ratings, k = case
    recs = model.recommend_new(users, ratings, k=k, fold_in=fold)
    again = model.recommend_new(users, ratings, k=k, fold_in=fold)
    pd.testing.assert_frame_equal(recs, again)
    rated = ratings.groupby("user_id")["item_id"].apply(set).to_dict()
    for uid in users.user_id:
        rows = recs[recs.user_id == uid]
        left = 16 - len(rated.get(uid, set()))
        assert rows["rank"].tolist() == list(range(1, min(k, left) + 1))
        assert not set(rows.item_id) & rated.get(uid, set())
        assert np.isfinite(rows.score).all() and (np.diff(rows.score) <= 0).all()


@SETTINGS
@given(st.integers(0, 29))
def test_twin_of_a_training_user_gets_exactly_its_metadata_part(model, user):
    row = model.user_ids_.to_index([user])[0]
    names = model.user_encoder_.feature_names
    metadata = [not n.startswith("id:") for n in names]
    train = model.user_features_[row].toarray().ravel() * metadata
    gender = next(n.split(":", 1)[1] for n, v in zip(names, train) if v and "gender:" in n)
    langs = "|".join(n.split(":", 1)[1] for n, v in zip(names, train) if v and "langs:" in n)
    twin = pd.DataFrame({"user_id": ["twin"], "gender": [gender], "langs": [langs or None]})
    _, biases, vectors, _ = model.new_user_representations(twin, fold_in=False)
    features = sp.csr_matrix(train.astype(np.float32))
    assert np.array_equal(vectors[0], np.asarray(features @ model.user_embeddings_)[0])
    assert np.array_equal(biases, np.asarray(features @ model.user_biases_))


text_values = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=8) \
    .map(str.strip).filter(bool)


@SETTINGS
@given(st.lists(st.tuples(text_values, st.lists(text_values, max_size=3)), min_size=1,
                max_size=12))
def test_feature_names_encode_and_decode_to_themselves(rows):
    raw = {"interactions": {"user": "u", "item": "i"},
           "users": {"id": "u", "features": [
               {"kind": "identity"},
               {"name": "cat", "kind": "category", "column": "c"},
               {"name": "multi", "kind": "multi", "column": "m", "separator": "\u241f"}]},
           "items": {"id": "i"}}
    side = parse_spec(raw).users
    ids = IdMap([f"e{i}" for i in range(len(rows))])
    table = pd.DataFrame({"u": ids.ids, "c": [c for c, _ in rows],
                          "m": ["\u241f".join(m) or None for _, m in rows]})
    encoder = FeatureEncoder(side).fit(ids, table)
    names = encoder.feature_names
    assert [encoder.feature_index(n) for n in names] == list(range(len(names)))
    restored = FeatureEncoder.from_state(side, json.loads(json.dumps(encoder.state())))
    assert restored.feature_names == names
    matrix, _ = encoder.transform(ids.ids, table, id_map=ids)
    decoded = [{names[c] for c in matrix[r].indices} for r in range(len(rows))]
    for r, (cat, multi) in enumerate(rows):
        assert decoded[r] == ({f"id:e{r}", f"cat:{cat}"} | {f"multi:{v}" for v in multi})


def test_one_model_from_many_threads_gives_the_results_of_one(model):
    rng = np.random.default_rng(5)
    batches = []
    for b in range(16):
        users = pd.DataFrame({"user_id": [f"b{b}u{i}" for i in range(8)],
                              "gender": rng.choice(GENDERS, 8), "langs": rng.choice(LANGS, 8)})
        ratings = pd.DataFrame({"user_id": rng.choice(users.user_id, 12),
                                "item_id": rng.integers(100, 116, 12),
                                "rating": rng.integers(1, 6, 12)})
        batches.append((users, ratings))

    def work(batch):
        users, ratings = batch
        return (model.recommend_new(users, ratings, k=5),
                model.recommend(users.index.to_numpy() % 30, k=5),
                model.similar_items([100, 101], k=3))

    serial = [work(b) for b in batches]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            parallel = list(pool.map(work, batches))
            for one, many in zip(serial, parallel):
                for a, b in zip(one, many):
                    pd.testing.assert_frame_equal(a, b)
