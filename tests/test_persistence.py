"""Model files: exact round trip, and clear errors for anything that is not a good model."""

import json
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest

from hybrid_rec import HybridRecommender, ModelFileError
from hybrid_rec.persistence import FORMAT_VERSION


def _new_users(ml100k):
    users = ml100k.users.head(20).copy()
    users["user_id"] = users["user_id"] + 10_000
    ratings = pd.DataFrame({"user_id": users["user_id"].repeat(3).to_numpy(),
                            "item_id": np.tile([1, 50, 181], 20), "rating": 5.0})
    return users, ratings


def test_round_trip_scores_identical(small_model_100k, model_file_100k, ml100k):
    loaded = HybridRecommender.load(model_file_100k)
    users, ratings = _new_users(ml100k)
    pd.testing.assert_frame_equal(small_model_100k.recommend([1, 2, 3], k=20),
                                  loaded.recommend([1, 2, 3], k=20))
    pd.testing.assert_frame_equal(small_model_100k.recommend_new(users, ratings, k=20),
                                  loaded.recommend_new(users, ratings, k=20))
    np.testing.assert_array_equal(small_model_100k.item_vectors_, loaded.item_vectors_)
    assert loaded.get_params() == small_model_100k.get_params()
    assert loaded.feature_names == small_model_100k.feature_names


def test_manifest_records_versions_and_checksums(model_file_100k):
    with np.load(model_file_100k, allow_pickle=False) as npz:
        manifest = json.loads(npz["__manifest__"].tobytes())
    assert manifest["format_version"] == FORMAT_VERSION
    assert {"lightfm", "numpy", "hybrid_rec"} <= set(manifest["versions"])
    assert all(len(a["sha256"]) == 64 for a in manifest["arrays"].values())
    assert manifest["spec"]["interactions"]["positive_threshold"] == 4


def test_truncated_file(model_file_100k, tmp_path):
    data = model_file_100k.read_bytes()
    bad = tmp_path / "cut.npz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated or corrupted"):
        HybridRecommender.load(bad)


def test_flipped_bytes_fail_checksum_or_zip_crc(model_file_100k, tmp_path):
    data = bytearray(model_file_100k.read_bytes())
    data[len(data) // 3] ^= 0xFF
    bad = tmp_path / "flipped.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="corrupted|checksum"):
        HybridRecommender.load(bad)


def test_pickle_is_refused_and_not_executed(tmp_path):
    bad = tmp_path / "model.npz"
    bad.write_bytes(pickle.dumps({"not": "a model"}))
    with pytest.raises(ModelFileError, match="looks like a pickle"):
        HybridRecommender.load(bad)


def _rewrite(src, dst, change):
    with np.load(src, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    manifest = json.loads(arrays["__manifest__"].tobytes())
    change(manifest, arrays)
    arrays["__manifest__"] = np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8)
    np.savez(dst, **arrays)
    return dst


def test_newer_format_version(model_file_100k, tmp_path):
    def bump(m, a):
        m["format_version"] = FORMAT_VERSION + 1
    bad = _rewrite(model_file_100k, tmp_path / "new.npz", bump)
    with pytest.raises(ModelFileError, match="format version 2 is not supported"):
        HybridRecommender.load(bad)


def test_missing_array(model_file_100k, tmp_path):
    def drop(m, a):
        del a["item_biases_"]
    bad = _rewrite(model_file_100k, tmp_path / "missing.npz", drop)
    with pytest.raises(ModelFileError, match="'item_biases_' named in the manifest is missing"):
        HybridRecommender.load(bad)


def test_wrong_shape(model_file_100k, tmp_path):
    def shrink(m, a):
        a["item_biases_"] = a["item_biases_"][:-1]
    bad = _rewrite(model_file_100k, tmp_path / "shape.npz", shrink)
    with pytest.raises(ModelFileError, match="'item_biases_' has shape"):
        HybridRecommender.load(bad)


def test_foreign_zip_and_missing_file(tmp_path):
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.arange(3))
    with pytest.raises(ModelFileError, match="no manifest"):
        HybridRecommender.load(foreign)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(ModelFileError):
        HybridRecommender.load(other)
    with pytest.raises(ModelFileError, match="not found"):
        HybridRecommender.load(tmp_path / "absent.npz")


def test_save_is_atomic_and_leaves_no_temp_files(small_model_100k, tmp_path):
    path = tmp_path / "m.npz"
    small_model_100k.save(path)
    small_model_100k.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_npz_with_pickled_objects_is_refused(tmp_path):
    bad = tmp_path / "objects.npz"
    np.savez(bad, __manifest__=np.array([{"format": "hybrid_rec.model"}], dtype=object))
    with pytest.raises(ModelFileError, match="pickled objects, which are never loaded"):
        HybridRecommender.load(bad)
