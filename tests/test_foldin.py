"""Tests for hybrid_rec.foldin: one user's vector against frozen items."""

import numpy as np
import pytest

from hybrid_rec.foldin import fold_in


def catalogue(seed=0, n_items=30, dim=4):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n_items, dim)).astype(np.float32),
            rng.normal(scale=0.1, size=n_items).astype(np.float32),
            rng.normal(scale=0.1, size=dim).astype(np.float32))


def relative_gain(q, b, before, after, rated):
    """How much the rated items' mean score rose minus how much the others' did."""
    s0, s1 = q @ before + b, q @ after + b
    others = np.setdiff1d(np.arange(len(q)), rated)
    return (s1[rated] - s0[rated]).mean() - (s1[others] - s0[others]).mean()


def test_no_items_returns_the_start():
    q, b, u0 = catalogue()
    u = fold_in(q, b, u0, np.array([], dtype=np.int64), np.array([]))

    assert u.dtype == np.float32
    np.testing.assert_array_equal(u, u0)


def test_zero_weights_return_the_start():
    q, b, u0 = catalogue()
    u = fold_in(q, b, u0, np.array([1, 2]), np.zeros(2))

    np.testing.assert_array_equal(u, u0)


def test_rated_items_rise_relative_to_the_others():
    q, b, u0 = catalogue()
    rated = np.array([3, 7, 11])
    u = fold_in(q, b, u0, rated, np.ones(3))
    before = np.argsort(-(q @ u0 + b)).tolist()
    after = np.argsort(-(q @ u + b)).tolist()

    assert u.shape == u0.shape and np.isfinite(u).all()
    assert relative_gain(q, b, u0, u, rated) > 0
    assert np.mean([after.index(i) for i in rated]) < np.mean([before.index(i) for i in rated])


def test_single_rated_item_climbs_the_ranking():
    q, b, u0 = catalogue(5)
    rank0 = np.argsort(-(q @ u0 + b))
    item = int(rank0[-1])  # the worst-ranked item at the start
    u = fold_in(q, b, u0, np.array([item]), np.ones(1), regularisation=0.1)

    assert np.argsort(-(q @ u + b)).tolist().index(item) < len(q) // 2


def test_stronger_regularisation_stays_closer_to_start():
    q, b, u0 = catalogue(1)
    rated = np.array([0, 5])
    distances = [np.linalg.norm(fold_in(q, b, u0, rated, np.ones(2), regularisation=lam) - u0)
                 for lam in (0.1, 1.0, 10.0, 100.0)]

    assert all(a > b_ for a, b_ in zip(distances, distances[1:]))
    assert distances[-1] < 0.1 * distances[0]


def test_more_ratings_move_further():
    q, b, u0 = catalogue(2)
    # three ratings of one item move the vector more than one rating
    one = fold_in(q, b, u0, np.array([4]), np.ones(1))
    three = fold_in(q, b, u0, np.array([4]), np.array([3.0]))

    assert np.linalg.norm(three - u0) > np.linalg.norm(one - u0)


def test_solution_is_a_stationary_point():
    q, b, u0 = catalogue(3)
    rated, w, lam, t = np.array([2, 9]), np.array([1.0, 2.0]), 0.5, 0.5
    u = fold_in(q, b, u0, rated, w, regularisation=lam, temperature=t).astype(np.float64)
    logits = t * (q @ u + b)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    grad = t * (w @ q[rated]) - t * w.sum() * (p @ q) - lam * (u - u0)

    assert np.abs(grad).max() == pytest.approx(0, abs=1e-4)


def test_starting_vector_is_not_modified():
    q, b, u0 = catalogue(4)
    copy = u0.copy()
    fold_in(q, b, u0, np.array([1]), np.ones(1))

    np.testing.assert_array_equal(u0, copy)


def many_problem(seed=0, n_users=40, n_items=60, dim=5):
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    q, b, _ = catalogue(seed, n_items, dim)
    starts = rng.normal(scale=0.1, size=(n_users, dim)).astype(np.float32)
    rows, cols, vals = [], [], []
    for user in range(n_users):
        count = int(rng.integers(0, 8))  # some users rate nothing
        items = rng.choice(n_items, size=count, replace=False)
        rows += [user] * count
        cols += items.tolist()
        vals += rng.choice([1.0, 2.0], size=count).tolist()
    signal = sp.csr_matrix((vals, (rows, cols)), shape=(n_users, n_items))
    return q, b, starts, signal


@pytest.mark.parametrize("block_cells", [60, 7 * 60, 10**6])
def test_many_users_at_once_equal_one_at_a_time(block_cells):
    from hybrid_rec.foldin import fold_in_many

    q, b, starts, signal = many_problem()
    many = fold_in_many(q, b, starts, signal, regularisation=0.7, temperature=0.6,
                        block_cells=block_cells)
    for user in range(len(starts)):
        row = signal[user]
        one = fold_in(q, b, starts[user], row.indices, row.data, regularisation=0.7,
                      temperature=0.6)
        np.testing.assert_allclose(many[user], one, rtol=1e-5, atol=1e-6)
    empty = np.diff(signal.indptr) == 0
    assert empty.any()
    np.testing.assert_array_equal(many[empty], starts[empty])


def test_many_users_leaves_the_starts_alone_and_handles_nobody():
    from hybrid_rec.foldin import fold_in_many

    q, b, starts, signal = many_problem(1, n_users=6)
    copy = starts.copy()
    fold_in_many(q, b, starts, signal)
    none = fold_in_many(q, b, starts[:0], signal[:0])

    np.testing.assert_array_equal(starts, copy)
    assert none.shape == (0, starts.shape[1]) and none.dtype == np.float32
