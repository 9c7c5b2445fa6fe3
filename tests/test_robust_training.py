"""Degenerate training data, determinism and parameter checks, through the CLI and the library."""

import logging

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from lightfm import LightFM

from hybrid_rec import HybridRecommender, TrainingDivergedError
from hybrid_rec.cli import EXIT_FAILURE, EXIT_OK, main
from hybrid_rec.encoder import FeatureEncoder
from hybrid_rec.spec import parse_spec

SPEC_TOML = """
[interactions]
user = "user_id"
item = "item_id"
rating = "rating"
time = "timestamp"
positive_threshold = 4
weight = "{weight}"
rating_scale = [1, 5]

[users]
id = "user_id"

[[users.features]]
name = "gender"
kind = "category"
column = "gender"

[items]
id = "item_id"

[[items.features]]
kind = "identity"

[[items.features]]
name = "genre"
kind = "multi"
column = "genres"
"""
RAW = {
    "interactions": {"user": "user_id", "item": "item_id", "rating": "rating",
                     "time": "timestamp", "positive_threshold": 4},
    "users": {"id": "user_id", "features": [
        {"name": "gender", "kind": "category", "column": "gender"}]},
    "items": {"id": "item_id", "features": [
        {"kind": "identity"}, {"name": "genre", "kind": "multi", "column": "genres"}]},
}
USERS = pd.DataFrame({"user_id": np.arange(1, 13), "gender": ["F", "M"] * 6})
ITEMS = pd.DataFrame({"item_id": np.arange(101, 109), "genres": ["A"] * 4 + ["B"] * 4})


def interactions(seed=0):
    rng = np.random.default_rng(seed)
    rows = [(u, int(rng.choice(ITEMS.item_id)), int(rng.integers(1, 6)), t)
            for t, u in enumerate(np.repeat(USERS.user_id, 4))]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])


@pytest.fixture
def folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    interactions().to_csv(data / "interactions.csv", index=False)
    USERS.to_csv(data / "users.csv", index=False)
    ITEMS.to_csv(data / "items.csv", index=False)
    return data


def spec_file(tmp_path, weight="binary"):
    path = tmp_path / f"spec-{weight}.toml"
    path.write_text(SPEC_TOML.format(weight=weight), encoding="utf-8")
    return path


def train(tmp_path, folder, out, *extra, weight="binary"):
    return main(["-q", "--no-progress", "train", "--spec", str(spec_file(tmp_path, weight)),
                 "--data", str(folder), "--out", str(out), "--epochs", "2", *extra])


def corrupt(folder, line, value, blank_line_at=None):
    """Set the rating on a 1-based line of interactions.csv (header is line 1)."""
    path = folder / "interactions.csv"
    lines = path.read_text().splitlines()
    cells = lines[line - 1].split(",")
    cells[2] = value
    lines[line - 1] = ",".join(cells)
    if blank_line_at:
        lines.insert(blank_line_at - 1, "")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("value, weight, reason", [
    ("nan", "binary", "a missing, non-numeric or infinite 'rating'"),
    ("", "binary", "a missing, non-numeric or infinite 'rating'"),
    ("-2", "rating", "'rating' <= 0, which weight = 'rating' cannot use"),
    ("9", "binary", "'rating' outside rating_scale [1, 5]"),
])
def test_bad_training_ratings_name_file_and_line(tmp_path, folder, capsys, value, weight,
                                                 reason):
    corrupt(folder, 6, value, blank_line_at=3)      # the bad row moves to line 7
    out = tmp_path / "m.npz"
    assert train(tmp_path, folder, out, weight=weight) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert f"interactions.csv: 1 row(s) with {reason}, e.g. on lines [7]" in err
    assert "Traceback" not in err and not out.exists()


def test_divergence_is_reported_with_its_epoch_and_nothing_is_saved(tmp_path, folder, capsys):
    out = tmp_path / "m.npz"
    code = train(tmp_path, folder, out, "--learning-rate", "1e12")
    err = capsys.readouterr().err
    assert code == EXIT_FAILURE
    assert "training diverged at epoch 1" in err and "try a lower learning_rate" in err
    assert "Traceback" not in err and not out.exists()


def test_library_divergence_raises():
    model = HybridRecommender(parse_spec(RAW), learning_rate=1e6, loss="bpr", epochs=3)
    with pytest.raises(TrainingDivergedError, match="diverged at epoch 1"):
        model.fit(interactions(), USERS, ITEMS)
    assert not model.is_fitted


def test_train_out_into_a_missing_folder(tmp_path, folder, capsys):
    out = tmp_path / "absent" / "m.npz"
    assert train(tmp_path, folder, out) == EXIT_FAILURE
    assert "the folder" in capsys.readouterr().err
    assert not (tmp_path / "absent").exists()


def test_same_command_twice_gives_byte_identical_files(tmp_path, folder):
    users = tmp_path / "new.csv"
    users.write_text("user_id,gender\na,F\nb,M\nc,X\n", encoding="utf-8")
    outputs = []
    for run in ("one", "two"):
        model, recs = tmp_path / f"{run}.npz", tmp_path / f"{run}.csv"
        assert train(tmp_path, folder, model) == EXIT_OK
        assert main(["-q", "score", "--model", str(model), "--users", str(users), "--out",
                     str(recs), "--k", "3"]) == EXIT_OK
        outputs.append((model.read_bytes(), recs.read_bytes()))
    assert outputs[0] == outputs[1]


def test_featureless_and_idle_entities_are_named_before_fitting(caplog, monkeypatch):
    calls, original = [], LightFM.fit_partial

    def record(self, *args, **kwargs):
        calls.append(len(caplog.records))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(LightFM, "fit_partial", record)
    items = pd.concat([ITEMS, pd.DataFrame({"item_id": [999], "genres": ["C"]})])
    frame = pd.concat([interactions(), pd.DataFrame(
        {"user_id": [77], "item_id": [101], "rating": [5], "timestamp": [99]})])
    caplog.set_level(logging.INFO, logger="hybrid_rec")
    HybridRecommender(parse_spec(RAW), epochs=1).fit(frame, USERS, items)
    text = [r.getMessage() for r in caplog.records]
    featureless = [i for i, t in enumerate(text) if "1 users have no features at all" in t]
    idle = [i for i, t in enumerate(text) if "1 items have no interactions" in t]
    assert featureless and idle
    assert "[77]" in text[featureless[0]] and "[999]" in text[idle[0]]
    assert max(featureless[0], idle[0]) < calls[0]


def is_canonical_coo(m):
    order = np.lexsort((m.col, m.row))
    pairs = np.stack([m.row, m.col], axis=1)
    return ((order == np.arange(m.nnz)).all() and (m.data != 0).all()
            and len(np.unique(pairs, axis=0)) == m.nnz)


def test_lightfm_gets_canonical_matrices_of_the_right_width(monkeypatch):
    seen, original = [], LightFM.fit_partial

    def record(self, interactions, user_features=None, item_features=None,
               sample_weight=None, **kwargs):
        seen.append((interactions, user_features, item_features, sample_weight))
        return original(self, interactions, user_features=user_features,
                        item_features=item_features, sample_weight=sample_weight, **kwargs)

    monkeypatch.setattr(LightFM, "fit_partial", record)
    frame = interactions()
    frame = pd.concat([frame, frame.iloc[:5].assign(timestamp=frame.timestamp[:5] + 100)])
    model = HybridRecommender(parse_spec(RAW), epochs=1, no_components=4)
    model.fit(frame, USERS, ITEMS)
    (inter, users, items, weights), = seen
    assert is_canonical_coo(inter) and is_canonical_coo(weights)
    for features in (users, items):
        assert features.has_canonical_format and (features.data != 0).all()
    assert users.shape == (12, model.user_encoder_.n_features)
    assert items.shape == (8, model.item_encoder_.n_features)


def test_a_feature_matrix_of_the_wrong_width_never_reaches_lightfm(monkeypatch):
    calls = []
    monkeypatch.setattr(LightFM, "fit_partial", lambda self, *a, **k: calls.append(1))
    original = FeatureEncoder.transform

    def narrow(self, *args, **kwargs):
        matrix, report = original(self, *args, **kwargs)
        return sp.csr_matrix(matrix[:, :-1]), report

    monkeypatch.setattr(FeatureEncoder, "transform", narrow)
    with pytest.raises(ValueError, match=r"the user feature matrix is 12 x 1, but the "
                                         r"interactions have 12 users and the encoder 2"):
        HybridRecommender(parse_spec(RAW), epochs=1).fit(interactions(), USERS, ITEMS)
    assert calls == []


@pytest.mark.parametrize("value", [1.5, True, "7", None, -1, np.random.RandomState(0)])
def test_random_state_must_be_an_integer_or_a_generator(value):
    model = HybridRecommender(parse_spec(RAW), random_state=value, epochs=1)
    with pytest.raises(ValueError, match="random_state must be a non-negative integer or a "
                                         "numpy.random.Generator"):
        model.fit(interactions(), USERS, ITEMS)


def test_numpy_integer_seed_gives_the_same_model_as_a_python_int():
    a = HybridRecommender(parse_spec(RAW), random_state=np.int64(5), epochs=2)
    b = HybridRecommender(parse_spec(RAW), random_state=5, epochs=2)
    a.fit(interactions(), USERS, ITEMS)
    b.fit(interactions(), USERS, ITEMS)
    assert np.array_equal(a.item_embeddings_, b.item_embeddings_)
    new = pd.DataFrame({"user_id": ["n"], "gender": ["F"]})
    pd.testing.assert_frame_equal(a.recommend_new(new, k=5), b.recommend_new(new, k=5))


def test_two_saves_of_one_model_are_byte_identical(tmp_path):
    model = HybridRecommender(parse_spec(RAW), epochs=1).fit(interactions(), USERS, ITEMS)
    first, second = model.save(tmp_path / "a.npz"), model.save(tmp_path / "b.npz")
    assert first.read_bytes() == second.read_bytes()
    again = HybridRecommender.load(first)
    assert np.array_equal(again.item_vectors_, model.item_vectors_)


def test_non_ascii_tags_survive_training_saving_and_loading(tmp_path, folder):
    spec = spec_file(tmp_path).read_text(encoding="utf-8") + (
        '\n[[items.features]]\nname = "tag"\nkind = "tags"\ncolumn = "tag"\n'
        'entity = "item_id"\n')
    (tmp_path / "tags.toml").write_text(spec, encoding="utf-8")
    tags = pd.DataFrame({"item_id": [101, 102, 103, 104], "tag": ["Café", "日本映画",
                                                                  "  café ", "naïve  art"]})
    tags.to_csv(folder / "item_tags.csv", index=False, encoding="utf-8")
    out = tmp_path / "m.npz"
    assert main(["-q", "train", "--spec", str(tmp_path / "tags.toml"), "--data", str(folder),
                 "--out", str(out), "--epochs", "1"]) == EXIT_OK
    names = HybridRecommender.load(out).feature_names["items"]
    assert {"tag:café", "tag:日本映画", "tag:naïve art"} <= set(names)
