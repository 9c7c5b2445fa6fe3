"""Metrics of hybrid_rec.evaluation: hand-checked cases, tables vs matrices, lightfm."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from hybrid_rec.evaluation.metrics import (coverage, ranking_metrics, score_metrics,
                                           summarise, top_items)
from hybrid_rec.scoring import to_frame, top_k


def csr(rows, n_items=5):
    dense = np.zeros((len(rows), n_items))
    for u, items in enumerate(rows):
        dense[u, items] = 1
    return sp.csr_matrix(dense)


def test_hand_checked_user():
    # Ranking over candidates 0, 2, 3, 4 (item 1 excluded): 4, 0, 3, 2.
    scores = np.array([[0.8, 0.9, 0.1, 0.3, 1.0]])
    relevant, exclude = csr([[0, 2]]), csr([[1]])
    m = score_metrics(scores, relevant, exclude, k=2).iloc[0]
    assert m["precision"] == pytest.approx(1 / 2)
    assert m["recall"] == pytest.approx(1 / 2)
    ideal = 1 + 1 / np.log2(3)
    assert m["ndcg"] == pytest.approx((1 / np.log2(3)) / ideal)
    assert m["map"] == pytest.approx((1 / 2) / 2)
    # Pairs (relevant, negative): negatives 4, 3; item 0 beats 3, item 2 beats none.
    assert m["auc"] == pytest.approx(1 / 4)


def test_users_without_relevant_items_are_left_out():
    scores = np.random.default_rng(0).random((3, 5))
    m = score_metrics(scores, csr([[1], [], [0, 4]]), k=3)
    assert list(m.index) == [0, 2]
    assert summarise(m)["users"] == 2


def test_ties_go_to_the_lower_item_index():
    scores = np.zeros((1, 5))
    m = score_metrics(scores, csr([[0]]), k=1).iloc[0]
    assert m["precision"] == 1.0
    assert top_items(scores, csr([[0]]), 2).tolist() == [[1, 2]]


def test_excluded_items_are_never_listed_and_lists_run_short():
    scores = np.array([[5.0, 4.0, 3.0, 2.0, 1.0]])
    lists = top_items(scores, csr([[0, 1, 2]]), 4)
    assert lists.tolist() == [[3, 4, -1, -1]]
    assert coverage(lists, 5) == pytest.approx(2 / 5)


def test_overlap_of_revealed_and_test_items_is_an_error():
    with pytest.raises(ValueError, match="overlap"):
        score_metrics(np.ones((1, 5)), csr([[1]]), csr([[1]]))
    with pytest.raises(ValueError, match="same"):
        score_metrics(np.ones((2, 5)), csr([[1]]))


def test_matrix_and_table_agree():
    rng = np.random.default_rng(3)
    n_users, n_items, k = 30, 40, 7
    scores = rng.normal(size=(n_users, n_items)).astype(np.float32)
    mask = rng.random((n_users, n_items))
    exclude = sp.csr_matrix(mask < 0.1)
    relevant = sp.csr_matrix((mask >= 0.1) & (mask < 0.3))
    per_user = summarise(score_metrics(scores, relevant, exclude, k))
    idx, s = top_k(scores, np.zeros(n_users), np.eye(n_items), np.zeros(n_items), k, exclude)
    recs = to_frame(np.arange(n_users), idx, s, np.arange(n_items))
    rel = pd.DataFrame(np.argwhere(relevant.toarray()), columns=["user_id", "item_id"])
    table = ranking_metrics(recs, rel, k, n_items=n_items)
    for name in ("precision", "recall", "ndcg", "map"):
        assert table[name] == pytest.approx(per_user[name], abs=1e-12)
    assert table["users"] == per_user["users"]
    assert table["coverage"] == pytest.approx(coverage(top_items(scores, exclude, k), n_items))


def test_table_exclusion_moves_the_rest_up():
    recs = pd.DataFrame({"user_id": [1, 1, 1], "rank": [1, 2, 3], "item_id": [10, 11, 12]})
    relevant = pd.DataFrame({"user_id": [1], "item_id": [11]})
    exclude = pd.DataFrame({"user_id": [1], "item_id": [10]})
    out = ranking_metrics(recs, relevant, k=1, exclude=exclude)
    assert out["precision"] == 1.0 and out["ndcg"] == 1.0


@pytest.mark.slow
def test_agrees_with_lightfm_evaluation_on_a_warm_split(ml100k, spec_100k_path):
    from lightfm import LightFM
    from lightfm.evaluation import auc_score, precision_at_k, recall_at_k

    from hybrid_rec.evaluation.protocols import warm_split
    from hybrid_rec.idmap import IdMap
    from hybrid_rec.interactions import build_interactions
    from hybrid_rec.spec import load_spec

    spec = load_spec(spec_100k_path)
    split = warm_split(spec, ml100k.interactions, ml100k.users, ml100k.items, seed=5)
    users = IdMap(np.sort(ml100k.users["user_id"].unique()))
    items = IdMap(np.sort(ml100k.items["item_id"].unique()))
    train = build_interactions(split.train, spec.interactions, users, items)
    test = build_interactions(split.cases[0].test, spec.interactions, users, items)
    seen, positives = train.seen.tocsr(), test.signal.tocsr()
    positives = positives - positives.multiply(seen)   # lightfm refuses any overlap
    positives.eliminate_zeros()
    model = LightFM(no_components=8, random_state=1).fit(train.signal, epochs=2)
    u, i = np.meshgrid(np.arange(len(users)), np.arange(len(items)), indexing="ij")
    scores = model.predict(u.ravel().astype(np.int32), i.ravel().astype(np.int32))
    ours = score_metrics(scores.reshape(u.shape), positives, seen, k=10)
    theirs = {"precision": precision_at_k(model, positives, seen, k=10),
              "recall": recall_at_k(model, positives, seen, k=10),
              "auc": auc_score(model, positives, seen)}
    assert len(ours) == len(theirs["auc"]) > 500
    assert theirs["precision"].mean() > 0.05 and theirs["auc"].mean() > 0.6
    for name, values in theirs.items():
        np.testing.assert_allclose(ours[name].to_numpy(), values, rtol=0, atol=1e-5,
                                   err_msg=name)
