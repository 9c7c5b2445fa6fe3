"""Tests for hybrid_rec.synthetic: deterministic tables with a planted signal."""

import numpy as np
import pandas as pd

from hybrid_rec.synthetic import make_dataset, make_interactions, make_items, make_users


def test_same_seed_same_tables_other_seed_other_tables():
    a, b, c = (make_dataset(300, 200, per_user=8, seed=s) for s in (1, 1, 2))

    for name in ("interactions", "users", "items"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.interactions.equals(c.interactions)


def test_tables_have_the_movielens_columns_and_sane_values():
    data = make_dataset(500, 300, per_user=10, seed=0)
    inter = data.interactions

    assert list(inter.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert list(data.users.columns) == ["user_id", "age", "gender", "occupation", "zip_code"]
    assert list(data.items.columns) == ["item_id", "title", "genres", "year"]
    assert inter.rating.between(1, 5).all() and not inter.duplicated(["user_id", "item_id"]).any()
    assert inter.groupby("user_id").size().between(1, 10).all()
    assert set(inter.item_id) <= set(data.items.item_id)


def test_users_of_one_segment_share_tastes():
    items = make_items(300, seed=3)
    users = make_users(3000, seed=3).assign(age=30, gender="M")
    users["occupation"] = np.where(np.arange(3000) < 2000, "occupation00", "occupation01")
    inter = make_interactions(users, items, per_user=15, seed=3)

    def profile(lo, hi):
        picked = inter[inter.user_id.between(lo, hi)].item_id
        return picked.value_counts().reindex(items.item_id, fill_value=0).to_numpy()

    first, second, other = profile(1, 1000), profile(1001, 2000), profile(2001, 3000)
    same = np.corrcoef(first, second)[0, 1]
    different = np.corrcoef(first, other)[0, 1]
    assert same > different + 0.1
