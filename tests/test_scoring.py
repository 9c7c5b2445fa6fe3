"""Tests for hybrid_rec.scoring: exact top-k, exclusions, ties, short lists."""

import numpy as np
import pandas as pd
import scipy.sparse as sp

from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_rec.scoring import _select, group_width, select_grouped, to_frame, top_k


def scores_of(user_vectors, user_biases, item_vectors, item_biases):
    return user_vectors @ item_vectors.T + item_biases[None, :] + user_biases[:, None]


def brute_force(scores, k, exclude=None):
    scores = scores.astype(np.float64).copy()
    if exclude is not None:
        scores[exclude.toarray() != 0] = -np.inf
    result = []
    for row in scores:
        order = sorted(range(len(row)), key=lambda j: (-row[j], j))
        result.append([j for j in order[:k] if np.isfinite(row[j])])
    return result


def random_problem(seed, n_users=7, n_items=12, dim=3):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n_users, dim)).astype(np.float32),
            rng.normal(size=n_users).astype(np.float32),
            rng.normal(size=(n_items, dim)).astype(np.float32),
            rng.normal(size=n_items).astype(np.float32))


def test_matches_brute_force_with_exclusions():
    uv, ub, iv, ib = random_problem(0)
    exclude = sp.random(7, 12, density=0.3, random_state=1, format="csr")
    exclude.data[:] = 1
    idx, scores = top_k(uv, ub, iv, ib, k=4, exclude=exclude)
    expected = brute_force(scores_of(uv, ub, iv, ib), 4, exclude)

    assert idx.shape == scores.shape == (7, 4)
    for row, want in zip(idx, expected):
        assert [j for j in row if j >= 0] == want
    assert (np.diff(scores, axis=1) <= 0).all()


def test_excluded_items_never_returned():
    uv, ub, iv, ib = random_problem(2, n_users=3, n_items=5)
    exclude = sp.csr_matrix(np.array([[1, 1, 1, 1, 0], [0] * 5, [1] * 5]))
    idx, scores = top_k(uv, ub, iv, ib, k=3, exclude=exclude)

    assert idx[0].tolist() == [4, -1, -1]
    assert np.isneginf(scores[0, 1:]).all()
    assert sorted(idx[1].tolist()) == sorted(brute_force(scores_of(uv, ub, iv, ib), 3)[1])
    assert idx[2].tolist() == [-1, -1, -1]
    for u in range(3):
        assert not set(idx[u]) & set(exclude[u].indices)


def test_ties_go_to_the_lower_index():
    uv = np.zeros((2, 2), dtype=np.float32)
    iv = np.zeros((6, 2), dtype=np.float32)
    ib = np.array([1, 2, 2, 0, 2, 1], dtype=np.float32)
    exclude = sp.csr_matrix(([1.0], ([1], [1])), shape=(2, 6))
    idx, scores = top_k(uv, np.zeros(2), iv, ib, k=4, exclude=exclude)

    assert idx[0].tolist() == [1, 2, 4, 0]
    assert idx[1].tolist() == [2, 4, 0, 5]
    assert scores[0].tolist() == [2, 2, 2, 1]


def test_k_larger_than_catalogue_gives_shorter_lists():
    uv, ub, iv, ib = random_problem(3, n_users=2, n_items=3)
    idx, scores = top_k(uv, ub, iv, ib, k=10)

    assert idx.shape == (2, 3)
    assert all(sorted(row) == [0, 1, 2] for row in idx.tolist())


def test_k_zero_and_no_users():
    uv, ub, iv, ib = random_problem(4)
    idx, scores = top_k(uv, ub, iv, ib, k=0)
    none_idx, _ = top_k(uv[:0], ub[:0], iv, ib, k=3)

    assert idx.shape == scores.shape == (7, 0)
    assert none_idx.shape == (0, 3)


def test_chunking_does_not_change_results():
    uv, ub, iv, ib = random_problem(5, n_users=9)
    exclude = sp.random(9, 12, density=0.25, random_state=2, format="csr")
    whole = top_k(uv, ub, iv, ib, k=5, exclude=exclude)
    chunked = top_k(uv, ub, iv, ib, k=5, exclude=exclude, chunk_size=2)

    assert (whole[0] == chunked[0]).all()
    # BLAS may round a row differently in a product of another shape (by 1 ulp)
    np.testing.assert_allclose(whole[1], chunked[1], rtol=1e-6)


def test_user_bias_does_not_change_the_order():
    uv, ub, iv, ib = random_problem(6)
    with_bias, _ = top_k(uv, ub, iv, ib, k=5)
    without, _ = top_k(uv, np.zeros_like(ub), iv, ib, k=5)

    assert (with_bias == without).all()


def test_to_frame_drops_padding_and_ranks_from_one():
    idx = np.array([[2, 0], [1, -1]])
    scores = np.array([[0.9, 0.5], [0.7, -np.inf]], dtype=np.float32)
    frame = to_frame(np.array([10, 20]), idx, scores, np.array(["a", "b", "c"]),
                     titles=np.array(["A", "B", "C"]))

    expected = pd.DataFrame({"user_id": [10, 10, 20], "rank": [1, 2, 1],
                             "item_id": ["c", "a", "b"],
                             "score": np.array([0.9, 0.5, 0.7], dtype=np.float32),
                             "title": ["C", "A", "B"]})
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    assert frame["rank"].dtype == np.int64


def test_near_and_exact_ties_at_the_cut_follow_the_rule():
    rng = np.random.default_rng(8)
    iv = np.zeros((50, 2), dtype=np.float32)
    ib = rng.integers(0, 4, size=50).astype(np.float32)  # many exact ties
    uv = np.zeros((5, 2), dtype=np.float32)
    exclude = sp.random(5, 50, density=0.2, random_state=3, format="csr")
    idx, _ = top_k(uv, np.zeros(5), iv, ib, k=7, exclude=exclude)
    expected = brute_force(scores_of(uv, np.zeros(5), iv, ib), 7, exclude)

    assert [row.tolist() for row in idx] == expected


def test_large_random_problem_matches_brute_force():
    uv, ub, iv, ib = random_problem(9, n_users=40, n_items=300, dim=8)
    exclude = sp.random(40, 300, density=0.05, random_state=4, format="csr")
    idx, scores = top_k(uv, ub, iv, ib, k=10, exclude=exclude, chunk_size=16)
    expected = brute_force(scores_of(uv, ub, iv, ib), 10, exclude)

    assert [row.tolist() for row in idx] == expected
    want = np.sort(np.where(exclude.toarray() != 0, -np.inf, scores_of(uv, ub, iv, ib)),
                   axis=1)[:, ::-1][:, :10]
    np.testing.assert_allclose(scores, want, rtol=1e-5, atol=1e-5)


def test_catalogues_large_enough_are_selected_through_groups():
    assert group_width(1_682, 10) == 16
    assert group_width(10_000, 10) == 32
    assert group_width(50_000, 10) == 64
    assert group_width(500, 10) == 0          # too few items per candidate: whole rows
    assert group_width(10_000, 500) == 0


def test_grouped_top_k_matches_brute_force_with_ties_and_exclusions():
    rng = np.random.default_rng(7)
    n_users, n_items = 60, 2_001          # not a multiple of the group width: padded
    uv = rng.integers(-2, 3, size=(n_users, 2)).astype(np.float32)   # many exact ties
    iv = rng.integers(-2, 3, size=(n_items, 2)).astype(np.float32)
    ub, ib = np.zeros(n_users, np.float32), rng.integers(0, 2, n_items).astype(np.float32)
    dense = rng.random((n_users, n_items)) < 0.2
    dense[0] = True                       # a user who rated everything: an empty list
    dense[1, 5:] = True                   # fewer items left than k
    exclude = sp.csr_matrix(dense.astype(np.float32))
    assert group_width(n_items, 10) > 0
    idx, scores = top_k(uv, ub, iv, ib, k=10, exclude=exclude, chunk_size=7)
    expected = brute_force(scores_of(uv, ub, iv, ib), 10, exclude)
    assert [row[row >= 0].tolist() for row in idx] == expected


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_grouped_selection_equals_whole_row_selection(data):
    group = data.draw(st.sampled_from([2, 4, 8, 16]))
    n_groups = data.draw(st.integers(1, 40))
    rows = data.draw(st.integers(1, 5))
    k = data.draw(st.integers(1, 12))
    cells = data.draw(st.lists(st.sampled_from([-np.inf, -1.0, 0.0, 0.5, 1.0, 2.0]),
                               min_size=rows * group * n_groups,
                               max_size=rows * group * n_groups))
    block = np.array(cells, dtype=np.float32).reshape(rows, group * n_groups)
    k = min(k, block.shape[1])
    got, want = select_grouped(block, k, group), _select(block, k)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
