"""Tests for hybrid_rec.spec: the packaged specs parse, and every error names its place."""

import copy
import re
from pathlib import Path

import pytest

from hybrid_rec.exceptions import SpecError
from hybrid_rec.spec import load_spec, parse_spec

FEATURES = Path(__file__).resolve().parents[1] / "features"

BASE = {
    "interactions": {"user": "user_id", "item": "item_id", "rating": "rating"},
    "users": {"id": "user_id", "features": [
        {"name": "gender", "kind": "category", "column": "gender"},
    ]},
    "items": {"id": "item_id", "features": [
        {"kind": "identity"},
        {"name": "genre", "kind": "multi", "column": "genres"},
    ]},
}


def spec_with(path, value):
    """BASE with the entry at ``path`` (a tuple of keys and indices) set to ``value``."""
    raw = copy.deepcopy(BASE)
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return raw


def user_feature(**entry):
    return spec_with(("users", "features"), [entry])


def test_packaged_specs_parse(spec_100k_path):
    s100k = load_spec(spec_100k_path)
    small = load_spec(FEATURES / "movielens-latest-small.toml")

    assert [f.name for f in s100k.users.features] == ["age", "gender", "occupation", "zip"]
    assert s100k.users.identity is None
    assert s100k.items.identity is not None
    assert s100k.interactions.positive_threshold == 4
    assert s100k.interactions.rating_scale == (1.0, 5.0)
    assert s100k.users.metadata_columns == ["age", "gender", "occupation", "zip_code"]
    assert small.users.identity is not None
    tag = next(f for f in small.items.features if f.kind == "tags")
    assert tag.option("min_count") == 2 and tag.option("top_n") == 10
    assert "tag" not in small.items.metadata_columns
    assert s100k.source == str(spec_100k_path)


def test_defaults():
    spec = parse_spec(BASE)
    genre = spec.items.features[1]

    assert genre.option("separator") == "|"
    assert genre.weight == 1.0
    assert spec.items.features[0].name == "id"
    assert spec.items.features[0].column == "item_id"
    assert spec.interactions.weight == "binary"
    assert spec.users.normalise is True
    assert spec.items.total_weight == 2.0


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(SpecError, match=re.escape(f"{path}: spec file not found")):
        load_spec(path)


def test_invalid_toml_names_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[interactions\nuser = 1\n", encoding="utf-8")
    with pytest.raises(SpecError, match=re.escape(f"{path}: not valid TOML")):
        load_spec(path)


def test_error_names_file_section_and_key(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text('[interactions]\nuser = "u"\nitem = "i"\nratting = "r"\n'
                    '[users]\nid = "u"\n[items]\nid = "i"\n', encoding="utf-8")
    with pytest.raises(SpecError, match=re.escape(f"{path}: [interactions] unknown key "
                                                  "'ratting'; allowed keys: item,")):
        load_spec(path)


@pytest.mark.parametrize("raw, message", [
    ({**BASE, "extra": 1}, r"\[top level\] unknown key 'extra'"),
    ({k: v for k, v in BASE.items() if k != "users"}, r"\[users\] section is missing"),
    ({**BASE, "items": 3}, r"\[items\] must be a table, got int"),
    (spec_with(("interactions", "user"), " "),
     r"\[interactions\] key 'user' must be a non-empty string, got ' '"),
    (spec_with(("interactions", "weight"), "log"),
     r"\[interactions\] key 'weight' must be one of binary, rating, got 'log'"),
    (spec_with(("interactions", "positive_threshold"), "4"),
     r"\[interactions\] key 'positive_threshold' must be a finite number, got '4'"),
    (spec_with(("interactions", "positive_threshold"), float("inf")),
     r"\[interactions\] key 'positive_threshold' must be a finite number"),
    (spec_with(("interactions", "rating_scale"), [5, 1]),
     r"\[interactions\] key 'rating_scale' must be \[low, high\] with low < high"),
    (spec_with(("users", "id"), None), r"\[users\] key 'id' is required"),
    (spec_with(("users", "normalise"), "yes"),
     r"\[users\] key 'normalise' must be true or false, got 'yes'"),
    (spec_with(("users", "features"), {"name": "x"}),
     r"\[users\] key 'features' must be an array of tables \(\[\[users.features\]\]\)"),
])
def test_section_errors(raw, message):
    with pytest.raises(SpecError, match=r"^<spec>: " + message):
        parse_spec(raw)


def test_rating_rules_need_rating_column():
    raw = spec_with(("interactions", "positive_threshold"), 4)
    del raw["interactions"]["rating"]
    with pytest.raises(SpecError, match=r"\[interactions\] .*need key 'rating'"):
        parse_spec(raw)


@pytest.mark.parametrize("entry, message", [
    ({"name": "g", "kind": "colour", "column": "c"},
     r"\[users.features.0 \(g\)\] key 'kind' must be one of category, multi, bucket, prefix, "
     r"tags, identity, got 'colour'"),
    ({"kind": "colour", "column": "c"}, r"\[users.features.0\] key 'kind' must be one of "),
    ({"name": "g", "kind": "category", "column": "c", "edges": [1]},
     r"\[users.features.0 \(g\)\] unknown key 'edges'; allowed keys: column, kind, min_count"),
    ({"kind": "category", "column": "c"}, r"\[users.features.0 \(category\)\] key 'name' is "
                                          r"required"),
    ({"name": "g", "kind": "category"}, r"\[users.features.0 \(g\)\] key 'column' is required"),
    ({"name": "a:b", "kind": "category", "column": "c"}, r"key 'name' must not contain ':'"),
    ({"name": "g", "kind": "category", "column": "c", "weight": 0},
     r"\(g\)\] key 'weight' must be positive, got 0"),
    ({"name": "g", "kind": "category", "column": "c", "weight": True},
     r"\(g\)\] key 'weight' must be a finite number, got True"),
    ({"name": "g", "kind": "category", "column": "c", "min_count": 1.5},
     r"\(g\)\] key 'min_count' must be an integer, got 1.5"),
    ({"name": "g", "kind": "multi", "column": "c", "separator": ""},
     r"\(g\)\] key 'separator' must be a non-empty string"),
    ({"name": "z", "kind": "prefix", "column": "c"},
     r"\(z\)\] key 'length' is required for kind 'prefix'"),
    ({"name": "z", "kind": "prefix", "column": "c", "length": 0},
     r"\(z\)\] key 'length' must be positive, got 0"),
    ({"name": "t", "kind": "tags", "column": "c", "top_n": -1},
     r"\(t\)\] key 'top_n' must be positive"),
    ({"name": "a", "kind": "bucket", "column": "c"},
     r"\(a\)\] kind 'bucket' needs exactly one of 'edges' or 'width'"),
    ({"name": "a", "kind": "bucket", "column": "c", "edges": [1], "width": 2},
     r"\(a\)\] kind 'bucket' needs exactly one of 'edges' or 'width'"),
    ({"name": "a", "kind": "bucket", "column": "c", "edges": [3, 2]},
     r"\(a\)\] key 'edges' must be a non-empty list of increasing numbers, got \[3, 2\]"),
    ({"name": "a", "kind": "bucket", "column": "c", "width": -1},
     r"\(a\)\] key 'width' must be positive"),
    ({"name": "a", "kind": "bucket", "column": "c", "width": 5, "range": [9, 1]},
     r"\(a\)\] key 'range' must be \[low, high\] with low <= high"),
    ({"kind": "identity", "column": "c"}, r"\(identity\)\] unknown key 'column'"),
])
def test_feature_errors(entry, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(user_feature(**entry))


def test_feature_entry_must_be_a_table():
    with pytest.raises(SpecError, match=r"\[users.features.0\] must be a table, got str"):
        parse_spec(spec_with(("users", "features"), ["gender"]))


def test_duplicate_feature_names():
    entries = [{"name": "g", "kind": "category", "column": "a"},
               {"name": "g", "kind": "prefix", "column": "b", "length": 1}]
    with pytest.raises(SpecError, match=r"\[users.features\] feature name 'g' is used twice"):
        parse_spec(spec_with(("users", "features"), entries))


def test_two_identity_features():
    entries = [{"kind": "identity"}, {"kind": "identity", "name": "other"}]
    with pytest.raises(SpecError, match=r"\[items.features\] at most one feature of kind "
                                        r"'identity'"):
        parse_spec(spec_with(("items", "features"), entries))


def test_spec_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse_spec({})
