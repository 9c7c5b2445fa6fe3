"""Where ``hybrid-rec train --data`` finds its tables.

``--data`` is a MovieLens name (``100k``, ``latest-small``), a MovieLens
folder (``ml-100k/`` or ``ml-latest-small/`` as published), or a folder of
your own CSV files: ``interactions.csv`` and, optionally, ``users.csv``,
``items.csv``, ``user_tags.csv`` and ``item_tags.csv``, with the columns
your spec names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .datasets import load_movielens
from .exceptions import InputDataError

__all__ = ["TrainingData", "load_training_data"]

_NAMES = {"100k": "100k", "ml-100k": "100k", "latest-small": "latest-small",
          "ml-latest-small": "latest-small"}
_TABLES = ("interactions", "users", "items", "user_tags", "item_tags")


@dataclass
class TrainingData:
    interactions: pd.DataFrame
    users: pd.DataFrame | None = None
    items: pd.DataFrame | None = None
    user_tags: pd.DataFrame | None = None
    item_tags: pd.DataFrame | None = None


def load_training_data(data: str, data_dir=None) -> TrainingData:
    """Tables for training from a dataset name or a folder; see the module docstring."""
    path = Path(data)
    if data.lower() in _NAMES and not path.is_dir():
        ml = load_movielens(_NAMES[data.lower()], data_dir)
        return TrainingData(ml.interactions, ml.users, ml.items, None, ml.item_tags)
    if not path.is_dir():
        raise InputDataError(f"--data {data!r} is neither a dataset name (100k, latest-small) "
                             "nor a folder")
    if (path / "u.data").exists():
        ml = load_movielens("100k", path)
        return TrainingData(ml.interactions, ml.users, ml.items, None, ml.item_tags)
    if (path / "ratings.csv").exists() and (path / "movies.csv").exists():
        ml = load_movielens("latest-small", path)
        return TrainingData(ml.interactions, ml.users, ml.items, None, ml.item_tags)
    if not (path / "interactions.csv").exists():
        raise InputDataError(f"{path}: no interactions.csv (nor a MovieLens layout) in this "
                             "folder")
    tables = {}
    for name in _TABLES:
        file = path / f"{name}.csv"
        if file.exists():
            lines = name == "interactions"
            try:
                tables[name] = pd.read_csv(file, encoding="utf-8-sig",
                                           skip_blank_lines=not lines)
            except (pd.errors.ParserError, UnicodeDecodeError) as e:
                raise InputDataError(f"{file}: cannot parse: {e}") from e
            if lines:
                tables[name] = _with_lines(tables[name], file)
    return TrainingData(**tables)


def _with_lines(frame: pd.DataFrame, file: Path) -> pd.DataFrame:
    """Blank lines dropped, the index set to each row's 1-based line in ``file``.

    The header is line 1. This holds while no quoted field spans lines, which
    is true of id, number and time columns.
    """
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    frame = frame.dropna(how="all")
    frame.attrs["source"] = str(file)
    return frame
