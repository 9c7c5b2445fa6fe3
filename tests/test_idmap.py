"""Tests for hybrid_rec.idmap: external ids and internal indices never mix."""

import numpy as np
import pytest

from hybrid_rec.exceptions import InputDataError
from hybrid_rec.idmap import IdMap


def test_int_ids_keep_their_order():
    ids = IdMap([30, 10, 20])

    assert ids.kind == "int"
    assert ids.ids.dtype == np.int64
    assert len(ids) == 3
    assert ids.to_index([10, 30]).tolist() == [1, 0]
    assert ids.to_ids([2, 0]).tolist() == [20, 30]


def test_str_ids():
    ids = IdMap(["tt2", "tt1"])

    assert ids.kind == "str"
    assert ids.to_index(["tt1"]).tolist() == [1]
    assert repr(ids) == "IdMap(2 str ids)"


def test_mixed_ids_become_strings():
    ids = IdMap([1, "a"])

    assert ids.kind == "str"
    assert ids.to_index([1, "1", "a"]).tolist() == [0, 0, 1]


def test_duplicates_are_rejected():
    with pytest.raises(InputDataError, match=r"ids must be unique; repeated: \[2\]"):
        IdMap([1, 2, 2, 3])


def test_text_ids_are_coerced_to_int_kind():
    ids = IdMap([1, 2, 3])

    assert ids.to_index(["2", 3.0]).tolist() == [1, 2]


def test_unknown_ids_raise_with_count_and_examples():
    ids = IdMap([1, 2])
    with pytest.raises(InputDataError,
                       match=r"2 unknown user id\(s\), e.g. \[7, 'x'\]; the model knows 2 ids"):
        ids.to_index([1, 7, "x"], what="user id")


def test_unknown_ids_ignored_map_to_minus_one():
    ids = IdMap(["a", "b"])

    assert ids.to_index(["b", "zz"], missing="ignore").tolist() == [1, -1]


def test_append_adds_at_the_end():
    ids = IdMap([5, 3]).append([9])

    assert ids.ids.tolist() == [5, 3, 9]
    assert ids.kind == "int"


def test_append_rejects_known_ids():
    with pytest.raises(InputDataError, match="repeated: \\[3\\]"):
        IdMap([5, 3]).append([3])


def test_append_float_valued_ids_keeps_int_kind():
    ids = IdMap([1, 2]).append([4.0])

    assert ids.kind == "int"
    assert ids.to_index([1, 4]).tolist() == [0, 2]


def test_append_unparsable_id_to_int_map_raises():
    with pytest.raises(InputDataError, match="'x'"):
        IdMap([1, 2]).append(["x"])


@pytest.mark.parametrize("values", [[3, 1, 2], ["b", "a"], []])
def test_array_round_trip(values):
    ids = IdMap(values)
    array = ids.to_array()
    back = IdMap.from_array(array)

    assert array.dtype.kind in "iU"
    assert back.kind == ids.kind
    assert back.ids.tolist() == ids.ids.tolist()
