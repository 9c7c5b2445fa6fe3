"""Shared fixtures: the packaged specs and the real data directory."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def spec_100k_path() -> Path:
    return ROOT / "features" / "movielens-100k.toml"


@pytest.fixture
def data_dir() -> Path:
    path = Path(os.environ.get("HYBRID_REC_DATA") or ROOT / ".." / "shared" / "data")
    if not path.is_dir():
        pytest.skip(f"no data directory at {path}")
    return path


@pytest.fixture(scope="session")
def ml100k():
    """MovieLens 100k from the real data directory."""
    from hybrid_rec import load_movielens

    path = Path(os.environ.get("HYBRID_REC_DATA") or ROOT / ".." / "shared" / "data")
    if not (path / "ml-100k").is_dir():
        pytest.skip(f"no MovieLens 100k under {path}")
    return load_movielens("100k", path)


@pytest.fixture(scope="session")
def small_model_100k(ml100k):
    """A quickly trained model on all of MovieLens 100k (few epochs: for plumbing tests)."""
    from hybrid_rec import HybridRecommender

    model = HybridRecommender(ROOT / "features" / "movielens-100k.toml", epochs=3,
                              random_state=7)
    return model.fit(ml100k.interactions, ml100k.users, ml100k.items)


@pytest.fixture(scope="session")
def model_file_100k(small_model_100k, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.npz"
    small_model_100k.save(path)
    return path
