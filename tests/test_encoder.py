"""Tests for hybrid_rec.features and hybrid_rec.encoder: kinds, layout, weights, reports."""

import numpy as np
import pandas as pd
import pytest

from hybrid_rec.encoder import FeatureEncoder
from hybrid_rec.exceptions import InputDataError
from hybrid_rec.features import make_kind
from hybrid_rec.idmap import IdMap
from hybrid_rec.spec import FeatureSpec, parse_spec


def side(features, normalise=True, side_name="users"):
    raw = {"interactions": {"user": "uid", "item": "iid"},
           "users": {"id": "uid"}, "items": {"id": "iid"}}
    raw[side_name] = {"id": "uid" if side_name == "users" else "iid",
                      "features": features, "normalise": normalise}
    return parse_spec(raw).side(side_name)


def kind(**entry):
    entry.setdefault("name", "f")
    return make_kind(side([{**entry}]).features[0])


def encode(features, meta, ids=None, new=None, **kw):
    """Fit on ``meta`` (ids: its uid column), transform ``new`` (default: the same)."""
    enc_side = side(features, **kw)
    id_map = IdMap(meta["uid"] if ids is None else ids)
    enc = FeatureEncoder(enc_side).fit(id_map, meta)
    rows = new if new is not None else meta
    matrix, report = enc.transform(rows["uid"], rows, id_map=id_map)
    return enc, matrix.toarray(), report


USERS = pd.DataFrame({
    "uid": [1, 2, 3, 4],
    "gender": ["F", "M", "F", None],
    "genres": ["A|B", "B", "A|B|C", ""],
    "age": [17, 30, 61, 25],
    "zip": ["02139", "94110", "0", "94"],
})


# -- feature kinds ----------------------------------------------------------

def test_category_tokens_and_min_count():
    k = kind(kind="category", column="gender", min_count=2)
    k.fit(pd.Series(["F", "M", "F", None, " "]))

    assert k.tokens(" F ") == [("F", 1.0)]
    assert k.tokens(None) == [] and k.tokens(np.nan) == []
    assert k.tokens(3.0) == [("3", 1.0)]
    assert k.vocabulary_ == ["F"]


def test_multi_splits_dedups_and_accepts_lists():
    k = kind(kind="multi", column="genres", separator=",")

    assert k.tokens("A, B,,A") == [("A", 1.0), ("B", 1.0)]
    assert k.tokens(["X", None, "Y"]) == [("X", 1.0), ("Y", 1.0)]
    assert k.tokens(None) == []


def test_bucket_edges_labels():
    k = kind(kind="bucket", column="age", edges=[18, 25, 35], range=[1, 120])

    assert [k.tokens(x)[0][0] for x in (17, 18, 24.9, 25, 35, 99)] == [
        "<18", "18-24", "18-24", "25-34", "35+", "35+"]
    assert k.tokens("30") == [("25-34", 1.0)]
    assert k.tokens(0) == [] and k.tokens(121) == []
    assert k.tokens(np.nan) == []


def test_bucket_width_labels():
    k = kind(kind="bucket", column="year", width=10)
    half = kind(kind="bucket", column="x", width=0.5)

    assert k.tokens(1995) == [("1990-1999", 1.0)]
    assert k.tokens(2000.0) == [("2000-2009", 1.0)]
    assert half.tokens(1.2) == [("[1,1.5)", 1.0)]


def test_bucket_parse_rejects_bad_text():
    k = kind(kind="bucket", column="age", edges=[18], range=[1, 120])

    with pytest.raises(ValueError, match="not a number: 'old'"):
        k.parse("old")
    with pytest.raises(ValueError, match=r"200 is outside the valid range \[1, 120\]"):
        k.parse("200")
    assert k.parse(" ") is None


def test_prefix_takes_first_characters():
    k = kind(kind="prefix", column="zip", length=2)

    assert k.tokens("02139") == [("02", 1.0)]
    assert k.tokens("9") == [("9", 1.0)]
    assert k.tokens(None) == []


def test_tags_normalise_min_count_and_frequency():
    k = kind(kind="tags", column="tag", min_count=2)
    entity = pd.Series([1, 1, 1, 2, 2])
    tags = pd.Series(["Sci  Fi", "sci fi", "Dark", "DARK ", "once"])
    k.fit_table(entity, tags)

    assert k.vocabulary_ == ["dark", "sci fi"]
    assert k.entity_tokens(entity, tags)[1] == [("sci fi", 2.0), ("dark", 1.0)]


# -- the encoder --------------------------------------------------------------

def test_layout_and_feature_names():
    features = [{"name": "g", "kind": "category", "column": "gender"},
                {"name": "genre", "kind": "multi", "column": "genres"},
                {"kind": "identity"}]
    enc, _, _ = encode(features, USERS)

    assert enc.feature_names == ["g:F", "g:M", "genre:A", "genre:B", "genre:C",
                                 "id:1", "id:2", "id:3", "id:4"]
    assert enc.n_features == 9
    assert enc.feature_index("genre:B") == 3
    assert enc.feature_index("id:4") == 8
    with pytest.raises(KeyError, match="no feature named 'genre:Z'"):
        enc.feature_index("genre:Z")


def test_unfitted_encoder_raises():
    enc = FeatureEncoder(side([{"name": "g", "kind": "category", "column": "gender"}]))
    with pytest.raises(RuntimeError, match="not fitted"):
        enc.n_features


def test_weights_spread_then_divided_by_total_declared_weight():
    features = [{"name": "g", "kind": "category", "column": "gender", "weight": 2.0},
                {"name": "genre", "kind": "multi", "column": "genres", "weight": 1.0},
                {"kind": "identity", "weight": 1.0}]
    enc, m, _ = encode(features, USERS)
    col = {n: i for i, n in enumerate(enc.feature_names)}

    # user 1: F (2/4), genres A,B (1/2 each, /4), id (1/4): a full row sums to 1
    assert m[0, col["g:F"]] == pytest.approx(0.5)
    assert m[0, col["genre:A"]] == pytest.approx(0.125)
    assert m[0, col["genre:B"]] == pytest.approx(0.125)
    assert m[0, col["id:1"]] == pytest.approx(0.25)
    assert m[0].sum() == pytest.approx(1.0)
    # user 3 has three genres: each 1/3 of the genre weight, gender unchanged
    assert m[2, col["genre:C"]] == pytest.approx(1 / 12)
    assert m[2, col["g:F"]] == pytest.approx(0.5)
    # user 4 lacks gender and genres: its other features keep their weight
    assert m[3, col["id:4"]] == pytest.approx(0.25)
    assert m[3].sum() == pytest.approx(0.25)


def test_normalise_false_keeps_raw_weights():
    features = [{"name": "g", "kind": "category", "column": "gender", "weight": 3.0},
                {"name": "genre", "kind": "multi", "column": "genres"}]
    enc, m, _ = encode(features, USERS, normalise=False)

    assert m[0].tolist() == pytest.approx([3.0, 0, 0.5, 0.5, 0])


def test_new_entity_gets_exactly_the_metadata_part_of_a_training_row():
    features = [{"name": "g", "kind": "category", "column": "gender"},
                {"name": "genre", "kind": "multi", "column": "genres"},
                {"name": "age", "kind": "bucket", "column": "age", "edges": [18, 25]},
                {"kind": "identity"}]
    twin = USERS.iloc[[2]].assign(uid=99)
    enc, m_train, _ = encode(features, USERS)
    _, m_new, report = encode(features, USERS, new=twin)
    identity = [i for i, n in enumerate(enc.feature_names) if n.startswith("id:")]
    metadata_part = m_train[2].copy()
    metadata_part[identity] = 0

    assert m_new.shape == (1, enc.n_features)
    assert m_new[0].tolist() == metadata_part.tolist()
    assert report.rows_without_features == 0


def test_identity_can_be_switched_off():
    features = [{"name": "g", "kind": "category", "column": "gender"}, {"kind": "identity"}]
    enc_side = side(features)
    id_map = IdMap(USERS["uid"])
    enc = FeatureEncoder(enc_side).fit(id_map, USERS)
    m, _ = enc.transform([1], USERS, identity=False, id_map=id_map)

    assert m.toarray()[0].tolist() == [0.5, 0, 0, 0, 0, 0]


def test_unseen_and_missing_values_add_nothing_and_are_counted():
    features = [{"name": "g", "kind": "category", "column": "gender"},
                {"name": "genre", "kind": "multi", "column": "genres"},
                {"name": "age", "kind": "bucket", "column": "age", "edges": [18, 25],
                 "range": [1, 120]}]
    new = pd.DataFrame({"uid": [7, 8, 9], "gender": ["X", None, "F"],
                        "genres": ["A|Z|Y", None, "Q"], "age": [200, None, 30]})
    enc, m, report = encode(features, USERS, new=new)
    col = {n: i for i, n in enumerate(enc.feature_names)}

    assert report.rows == 3
    assert report.unseen == {"g": 1, "genre": 3, "age": 0}
    assert report.missing["g"] == 1 and report.missing["genre"] == 1
    assert report.missing["age"] == 2  # None and the out-of-range 200
    assert np.count_nonzero(m[1]) == 0
    assert report.rows_without_features == 1
    # the unseen genres take nothing from the one that is known
    assert m[0, col["genre:A"]] == pytest.approx(1 / 3)
    assert m[2, col["g:F"]] == pytest.approx(1 / 3)


def test_entities_absent_from_metadata_get_no_metadata_features():
    features = [{"name": "g", "kind": "category", "column": "gender"}, {"kind": "identity"}]
    enc_side = side(features)
    id_map = IdMap([1, 2, 5])
    enc = FeatureEncoder(enc_side).fit(id_map, USERS)
    m, report = enc.transform([5], USERS, id_map=id_map)

    assert m.toarray()[0].tolist() == [0, 0, 0, 0, 0.5]
    assert report.missing == {"g": 1}


def test_no_metadata_table_counts_every_row_missing():
    enc_side = side([{"name": "g", "kind": "category", "column": "gender"}])
    enc = FeatureEncoder(enc_side).fit(IdMap([1, 2]), USERS)
    m, report = enc.transform([1, 2], None)

    assert m.nnz == 0
    assert report.missing == {"g": 2} and report.rows_without_features == 2


def test_output_is_canonical_float32():
    features = [{"name": "genre", "kind": "multi", "column": "genres"}]
    enc_side = side(features)
    enc = FeatureEncoder(enc_side).fit(IdMap(USERS["uid"]), USERS)
    m, _ = enc.transform(USERS["uid"], USERS)

    assert m.dtype == np.float32
    assert m.has_canonical_format
    assert (m.data != 0).all()


def test_missing_metadata_column_is_named():
    enc = FeatureEncoder(side([{"name": "z", "kind": "prefix", "column": "zipcode",
                                "length": 1}]))
    with pytest.raises(InputDataError, match=r"users metadata has no column 'zipcode'"):
        enc.fit(IdMap([1]), USERS)


def test_duplicate_metadata_ids_are_an_error():
    enc = FeatureEncoder(side([{"name": "g", "kind": "category", "column": "gender"}]))
    meta = pd.concat([USERS, USERS.iloc[[0]]])
    with pytest.raises(InputDataError, match=r"id column 'uid' repeats ids \[1\]"):
        enc.fit(IdMap([1, 2]), meta)


def test_tags_feature_from_long_table():
    features = [{"name": "tag", "kind": "tags", "column": "tag", "min_count": 2}]
    enc_side = side(features, side_name="items")
    tags = pd.DataFrame({"iid": [1, 1, 1, 2, 2, 3], "tag": ["Fun", "fun", "dark", "Dark",
                                                            "fun", "rare"]})
    id_map = IdMap([1, 2, 3])
    enc = FeatureEncoder(enc_side).fit(id_map, None, tags)
    m, report = enc.transform([1, 2, 3], None, tags, id_map=id_map)

    assert enc.feature_names == ["tag:dark", "tag:fun"]
    np.testing.assert_allclose(m.toarray(), [[1 / 3, 2 / 3], [0.5, 0.5], [0, 0]], rtol=1e-6)
    assert report.unseen == {"tag": 1}


def test_tags_table_missing_column():
    enc = FeatureEncoder(side([{"name": "tag", "kind": "tags", "column": "tag"}],
                              side_name="items"))
    with pytest.raises(InputDataError, match=r"items tags table has no column 'tag' \(needed "
                                             r"by feature 'tag'"):
        enc.fit(IdMap([1]), None, pd.DataFrame({"iid": [1], "label": ["x"]}))


def test_tags_top_n_counts_only_kept_tags():
    features = [{"name": "tag", "kind": "tags", "column": "tag", "min_count": 2, "top_n": 2}]
    enc_side = side(features, side_name="items")
    # item 1: a x3, b x1 (b is rare overall, dropped), c x1 (c is common overall)
    tags = pd.DataFrame({"iid": [1, 1, 1, 1, 1, 2, 2, 2],
                         "tag": ["a", "a", "a", "b", "c", "c", "c", "c"]})
    id_map = IdMap([1, 2])
    enc = FeatureEncoder(enc_side).fit(id_map, None, tags)
    m, _ = enc.transform([1], None, tags, id_map=id_map)

    assert enc.feature_names == ["tag:a", "tag:c"]
    assert m.toarray()[0].tolist() == pytest.approx([0.75, 0.25])


def test_bad_bucket_text_error_names_the_feature():
    features = [{"name": "age", "kind": "bucket", "column": "age", "edges": [18]}]
    enc_side = side(features)
    enc = FeatureEncoder(enc_side).fit(IdMap([1]), pd.DataFrame({"uid": [1], "age": [20]}))
    with pytest.raises(InputDataError, match=r"id 1, column 'age' .*not a number: 'old'"):
        enc.transform([1], pd.DataFrame({"uid": [1], "age": ["old"]}))


def test_state_round_trip():
    features = [{"name": "g", "kind": "category", "column": "gender"}, {"kind": "identity"}]
    enc_side = side(features)
    enc = FeatureEncoder(enc_side).fit(IdMap(USERS["uid"]), USERS)
    back = FeatureEncoder.from_state(enc_side, enc.state())
    a, _ = enc.transform(USERS["uid"], USERS)
    b, _ = back.transform(USERS["uid"], USERS)

    assert back.feature_names == enc.feature_names
    assert (a != b).nnz == 0
    with pytest.raises(ValueError, match=r"users: 1 vocabularies for 2 features"):
        FeatureEncoder.from_state(enc_side, enc.state()[:1])


def test_feature_spec_option_default():
    spec = FeatureSpec(name="x", kind="category", column="c")

    assert spec.option("min_count", 1) == 1
