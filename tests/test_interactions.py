"""Tests for hybrid_rec.interactions: validation, duplicates, threshold, canonical matrices."""

import numpy as np
import pandas as pd
import pytest

from hybrid_rec.exceptions import InputDataError
from hybrid_rec.idmap import IdMap
from hybrid_rec.interactions import build_interactions, check_interactions_frame
from hybrid_rec.spec import InteractionsSpec

SPEC = InteractionsSpec(user="u", item="i", rating="r", time="t", positive_threshold=4)


def frame(rows, columns=("u", "i", "r", "t")):
    return pd.DataFrame(rows, columns=list(columns))


def is_canonical(matrix):
    csr = matrix.tocsr()
    copy = csr.copy()
    copy.sum_duplicates()
    return (csr.has_canonical_format and (csr.data != 0).all()
            and copy.nnz == csr.nnz)


def test_missing_column_is_named():
    with pytest.raises(InputDataError, match=r"interactions have no column 't' \(the spec "
                                             r"names 'u', 'i', 'r', 't'; found 'u', 'i', 'r'\)"):
        check_interactions_frame(frame([[1, 1, 5]], ("u", "i", "r")), SPEC)


def test_missing_user_reports_count_and_rows():
    rows = [[1, 1, 5, 0], [None, 1, 5, 0], [2, 1, 5, 0], [None, 2, 4, 0]]
    with pytest.raises(InputDataError, match=r"2 row\(s\) with no 'u', e.g. at rows \[1, 3\]"):
        check_interactions_frame(frame(rows), SPEC)


@pytest.mark.parametrize("bad", [None, "five", np.inf])
def test_bad_rating_is_an_error(bad):
    rows = [[1, 1, 5, 0], [1, 2, bad, 0]]
    with pytest.raises(InputDataError, match=r"1 row\(s\) with a missing, non-numeric or "
                                             r"infinite 'r', e.g. at rows \[1\]"):
        check_interactions_frame(frame(rows), SPEC)


def test_rating_weight_needs_positive_ratings():
    spec = InteractionsSpec(user="u", item="i", rating="r", weight="rating")
    with pytest.raises(InputDataError, match=r"1 row\(s\) with 'r' <= 0, which weight = "
                                             r"'rating' cannot use"):
        check_interactions_frame(frame([[1, 1, 0], [1, 2, 3]], ("u", "i", "r")), spec)


def test_last_duplicate_wins_by_time():
    rows = [[1, 1, 5, 30], [1, 1, 2, 10], [1, 2, 3, 5], [1, 1, 4, 20]]
    out = check_interactions_frame(frame(rows), SPEC)

    assert len(out) == 2
    assert out.loc[(out.u == 1) & (out.i == 1), "r"].item() == 5
    assert out["i"].tolist() == [1, 2]  # original row order kept


def test_last_duplicate_wins_by_row_order_without_time():
    spec = InteractionsSpec(user="u", item="i", rating="r")
    rows = [[1, 1, 5], [1, 1, 2]]
    out = check_interactions_frame(frame(rows, ("u", "i", "r")), spec)

    assert out["r"].tolist() == [2.0]


def test_equal_times_fall_back_to_row_order():
    rows = [[1, 1, 5, 10], [1, 1, 2, 10]]
    out = check_interactions_frame(frame(rows), SPEC)

    assert out["r"].tolist() == [2.0]


def test_threshold_splits_signal_from_seen():
    rows = [[1, 10, 5, 0], [1, 20, 3, 0], [2, 20, 4, 0], [2, 10, 1, 0]]
    users, items = IdMap([1, 2]), IdMap([10, 20, 30])
    data = build_interactions(check_interactions_frame(frame(rows), SPEC), SPEC, users, items)

    assert data.seen.shape == data.signal.shape == (2, 3)
    assert data.seen.toarray().tolist() == [[1, 1, 0], [1, 1, 0]]
    assert data.signal.toarray().tolist() == [[1, 0, 0], [0, 1, 0]]
    assert data.weights.toarray().tolist() == [[1, 0, 0], [0, 1, 0]]


def test_rating_weights_and_canonical_matrices():
    spec = InteractionsSpec(user="u", item="i", rating="r", time="t", weight="rating",
                            positive_threshold=3)
    rows = [[2, 20, 4, 1], [1, 10, 5, 1], [1, 10, 3, 0], [2, 10, 2, 0], [1, 20, 3.5, 0]]
    users, items = IdMap([1, 2]), IdMap([10, 20])
    data = build_interactions(check_interactions_frame(frame(rows), spec), spec, users, items)

    assert data.weights.toarray().tolist() == [[5.0, 3.5], [0, 4.0]]
    assert data.signal.toarray().tolist() == [[1, 1], [0, 1]]
    for m in (data.signal, data.weights, data.seen):
        assert is_canonical(m)
    assert (data.signal.row == data.weights.row).all()
    assert (data.signal.col == data.weights.col).all()


def test_unknown_ids_in_build_raise():
    spec = InteractionsSpec(user="u", item="i")
    with pytest.raises(InputDataError, match=r"1 unknown item id\(s\), e.g. \[99\]"):
        build_interactions(frame([[1, 99]], ("u", "i")), spec, IdMap([1]), IdMap([10]))
