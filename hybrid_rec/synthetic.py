"""A deterministic synthetic recommendation dataset with planted preferences.

The tables have the columns of :func:`hybrid_rec.load_movielens` ("100k"),
so ``features/movielens-100k.toml`` trains on them unchanged, and any size
can be made: users (age, gender, occupation, zip code), items (title,
``|``-joined genres, year), and interactions (rating, timestamp).

Planted preferences: every user *segment* (occupation x age group x gender)
has a hidden taste for each genre. A user picks items with probability
proportional to ``exp(strength * taste(segment, item genres) + quality)``,
where quality is a per-item popularity, and rates them higher the more the
segment likes their genres. So metadata predicts interactions, as the model
assumes, and the same seed always gives the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SyntheticData", "make_dataset", "make_interactions", "make_items", "make_users"]

N_OCCUPATIONS = 21
AGE_EDGES = (18, 25, 35, 45, 50, 56)
N_SEGMENTS = N_OCCUPATIONS * (len(AGE_EDGES) + 1) * 2


@dataclass
class SyntheticData:
    """Interactions, users and items tables, as :class:`hybrid_rec.MovieLens` has them."""

    interactions: pd.DataFrame
    users: pd.DataFrame
    items: pd.DataFrame


def make_items(n_items: int, seed: int = 0, n_genres: int = 30) -> pd.DataFrame:
    """A catalogue: item_id 1..n, title, 1-3 genres (Zipf-like frequencies), year."""
    rng = np.random.default_rng([seed, 1])
    weights = 1.0 / np.arange(1, n_genres + 1)
    weights /= weights.sum()
    counts = rng.choice([1, 2, 3], size=n_items, p=[0.45, 0.4, 0.15])
    genres = ["|".join(sorted(f"genre{g:02d}" for g in
                              rng.choice(n_genres, size=c, replace=False, p=weights)))
              for c in counts]
    ids = np.arange(1, n_items + 1)
    return pd.DataFrame({"item_id": ids, "title": [f"Item {i}" for i in ids],
                         "genres": genres,
                         "year": rng.integers(1930, 2025, size=n_items).astype(float)})


def make_users(n_users: int, seed: int = 0, first_id: int = 1) -> pd.DataFrame:
    """Users with ids first_id.. and MovieLens-like demographics."""
    rng = np.random.default_rng([seed, 2])
    return pd.DataFrame({
        "user_id": np.arange(first_id, first_id + n_users),
        "age": rng.integers(12, 75, size=n_users),
        "gender": rng.choice(["F", "M"], size=n_users, p=[0.3, 0.7]),
        "occupation": [f"occupation{o:02d}" for o in rng.integers(0, N_OCCUPATIONS, n_users)],
        "zip_code": [f"{z:05d}" for z in rng.integers(0, 100_000, size=n_users)],
    })


def make_interactions(users: pd.DataFrame, items: pd.DataFrame, per_user: int = 20,
                      seed: int = 0, strength: float = 2.5) -> pd.DataFrame:
    """About ``per_user`` distinct rated items per user, drawn by the planted tastes.

    Returns
    -------
    DataFrame with columns user_id, item_id, rating (1-5), timestamp.
    """
    rng = np.random.default_rng([seed, 3])
    genre_of = _genre_matrix(items)
    taste = rng.normal(size=(N_SEGMENTS, genre_of.shape[1]))
    quality = rng.normal(scale=1.0, size=len(items))
    segments = _segments(users)
    parts = []
    for segment in np.unique(segments):
        members = np.flatnonzero(segments == segment)
        affinity = strength * (genre_of @ taste[segment])
        logits = affinity + quality
        p = np.exp(logits - logits.max())
        p /= p.sum()
        draws = rng.choice(len(items), size=(len(members), per_user), p=p)
        user_rows = np.repeat(members, per_user)
        parts.append(pd.DataFrame({"u": user_rows, "i": draws.ravel(),
                                   "a": affinity[draws.ravel()]}))
    frame = pd.concat(parts, ignore_index=True).drop_duplicates(["u", "i"])
    frame = frame.sort_values(["u", "i"], kind="stable").reset_index(drop=True)
    noise = rng.normal(scale=0.8, size=len(frame))
    rating = np.clip(np.rint(2.6 + frame["a"].to_numpy() + noise), 1, 5).astype(np.int64)
    return pd.DataFrame({
        "user_id": users["user_id"].to_numpy()[frame["u"].to_numpy()],
        "item_id": items["item_id"].to_numpy()[frame["i"].to_numpy()],
        "rating": rating,
        "timestamp": 880_000_000 + rng.integers(0, 10**7, size=len(frame)),
    })


def make_dataset(n_users: int, n_items: int, per_user: int = 20, seed: int = 0,
                 n_genres: int = 30) -> SyntheticData:
    """Users, items and their interactions, all from one seed."""
    items = make_items(n_items, seed, n_genres)
    users = make_users(n_users, seed)
    return SyntheticData(make_interactions(users, items, per_user, seed), users, items)


def _genre_matrix(items: pd.DataFrame) -> np.ndarray:
    """Items x genres, each item's row summing to one."""
    lists = items["genres"].str.split("|")
    names = sorted({g for gs in lists for g in gs})
    column = {g: j for j, g in enumerate(names)}
    matrix = np.zeros((len(items), len(names)))
    for row, gs in enumerate(lists):
        for g in gs:
            matrix[row, column[g]] = 1.0 / len(gs)
    return matrix


def _segments(users: pd.DataFrame) -> np.ndarray:
    """Segment number of each user: occupation x age group x gender."""
    occupation = users["occupation"].str[-2:].astype(int).to_numpy() % N_OCCUPATIONS
    age = np.searchsorted(AGE_EDGES, users["age"].to_numpy(), side="right")
    gender = (users["gender"].to_numpy() == "F").astype(int)
    return (occupation * (len(AGE_EDGES) + 1) + age) * 2 + gender
