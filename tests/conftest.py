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
