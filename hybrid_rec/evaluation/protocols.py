"""Evaluation protocols: seeded splits of a dataset into training data and test cases.

- ``new-users``: a seeded share of users is held out as brand-new. For each
  number of revealed ratings ``n`` a case reveals each new user's first
  ``n`` ratings by time and tests on the rest. Only users with more than
  ``n`` ratings and at least one positive among the rest take part in it.
- ``new-items``: a seeded share of the rated items is held out. Training
  never sees them; the case ranks only those items for every user who
  liked one of them, so they must be recommended from their features.
- ``warm``: a seeded random share of the interactions is held out; users
  are ranked over the whole catalogue, their training items excluded.

Positives are test interactions rated at or above the spec's
``positive_threshold`` (every test interaction when the spec has none).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..spec import InteractionsSpec, Spec

__all__ = ["PROTOCOLS", "Case", "Split", "make_split"]

logger = logging.getLogger(__name__)

PROTOCOLS = ("new-users", "new-items", "warm")


@dataclass
class Case:
    """One test case: who is scored, what they revealed, what they are tested on.

    ``revealed`` and ``test`` are interaction tables with the spec's columns;
    ``users`` is the users' metadata (or a one-column frame of ids).
    """

    shots: int
    users: pd.DataFrame
    revealed: pd.DataFrame
    test: pd.DataFrame


@dataclass
class Split:
    """Training data for one seed and the cases to test on.

    ``users`` is the training users' metadata and ``items`` the catalogue
    known at training time; ``new_items`` (new-items only) are added after.
    """

    protocol: str
    seed: int
    train: pd.DataFrame
    users: pd.DataFrame | None
    items: pd.DataFrame | None
    item_tags: pd.DataFrame | None = None
    new_items: pd.DataFrame | None = None
    cases: list[Case] = field(default_factory=list)


def _positives(frame: pd.DataFrame, inter: InteractionsSpec) -> pd.DataFrame:
    if inter.rating and inter.positive_threshold is not None:
        return frame[frame[inter.rating] >= inter.positive_threshold]
    return frame


def _seeded_choice(ids, fraction: float, rng: np.random.Generator) -> np.ndarray:
    ids = np.sort(pd.unique(np.asarray(ids)))
    if not 0 < fraction < 1:
        raise ValueError(f"the held-out fraction must be between 0 and 1, got {fraction}")
    n = max(1, int(round(fraction * len(ids))))
    return np.sort(rng.choice(ids, size=n, replace=False))


def _metadata(table: pd.DataFrame | None, id_col: str, ids) -> pd.DataFrame:
    if table is None:
        return pd.DataFrame({id_col: np.asarray(ids)})
    return table[table[id_col].isin(ids)]


def _cap(users: np.ndarray, max_users: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_users is None or len(users) <= max_users:
        return users
    return np.sort(rng.choice(users, size=max_users, replace=False))


def new_users_split(spec: Spec, interactions: pd.DataFrame, users: pd.DataFrame | None,
                    items: pd.DataFrame | None, seed: int, shots=(0, 1, 3, 5, 10, 20),
                    fraction: float = 0.2, max_users: int | None = None,
                    item_tags: pd.DataFrame | None = None) -> Split:
    """Hold out brand-new users; one case per number of revealed ratings."""
    inter = spec.interactions
    if inter.time is None or inter.time not in interactions.columns:
        raise ValueError("the new-users protocol reveals each user's first ratings by time, "
                         "but the spec's [interactions] names no time column present in the "
                         "data")
    rng = np.random.default_rng(seed)
    new_ids = _seeded_choice(interactions[inter.user], fraction, rng)
    is_new = interactions[inter.user].isin(new_ids).to_numpy()
    history = interactions[is_new].sort_values([inter.user, inter.time, inter.item],
                                               kind="stable")
    order = history.groupby(inter.user).cumcount().to_numpy()
    counts = history.groupby(inter.user).size()
    cases = []
    for n in shots:
        revealed, rest = history[order < n], history[order >= n]
        liked = _positives(rest, inter)[inter.user].unique()
        eligible = counts.index[(counts > n).to_numpy()].intersection(pd.Index(liked))
        ids = _cap(np.sort(eligible.to_numpy()), max_users, rng)
        cases.append(Case(n, _metadata(users, spec.users.id, ids),
                          revealed[revealed[inter.user].isin(ids)],
                          rest[rest[inter.user].isin(ids)]))
        logger.info("new users, %d revealed: %d of %d new users take part", n, len(ids),
                    len(new_ids))
    train_users = None if users is None else users[~users[spec.users.id].isin(new_ids)]
    return Split("new-users", seed, interactions[~is_new], train_users, items, item_tags,
                 cases=cases)


def new_items_split(spec: Spec, interactions: pd.DataFrame, users: pd.DataFrame | None,
                    items: pd.DataFrame | None, seed: int, fraction: float = 0.2,
                    max_users: int | None = None,
                    item_tags: pd.DataFrame | None = None) -> Split:
    """Hold out items; one case ranking only them, from their features."""
    inter, id_col = spec.interactions, spec.items.id
    if items is None:
        raise ValueError("the new-items protocol needs an items table with the features "
                         "new items are described by")
    rng = np.random.default_rng(seed)
    rated = pd.Index(interactions[inter.item].unique()).intersection(pd.Index(items[id_col]))
    new_ids = _seeded_choice(rated.to_numpy(), fraction, rng)
    is_new = interactions[inter.item].isin(new_ids).to_numpy()
    test = interactions[is_new]
    known_users = pd.Index(interactions.loc[~is_new, inter.user].unique())
    liked = pd.Index(_positives(test, inter)[inter.user].unique()).intersection(known_users)
    ids = _cap(np.sort(liked.to_numpy()), max_users, rng)
    logger.info("new items: %d held out; %d users liked one of them", len(new_ids), len(ids))
    case = Case(0, _metadata(users, spec.users.id, ids), test.iloc[:0],
                test[test[inter.user].isin(ids)])
    known = items[~items[id_col].isin(new_ids)]
    return Split("new-items", seed, interactions[~is_new], users, known, item_tags,
                 new_items=items[items[id_col].isin(new_ids)], cases=[case])


def warm_split(spec: Spec, interactions: pd.DataFrame, users: pd.DataFrame | None,
               items: pd.DataFrame | None, seed: int, fraction: float = 0.2,
               max_users: int | None = None, item_tags: pd.DataFrame | None = None) -> Split:
    """Hold out a random share of the interactions."""
    inter = spec.interactions
    rng = np.random.default_rng(seed)
    held = rng.random(len(interactions)) < fraction
    train, test = interactions[~held], interactions[held]
    known = pd.Index(train[inter.user].unique())
    liked = pd.Index(_positives(test, inter)[inter.user].unique()).intersection(known)
    ids = _cap(np.sort(liked.to_numpy()), max_users, rng)
    case = Case(0, _metadata(users, spec.users.id, ids), train[train[inter.user].isin(ids)],
                test[test[inter.user].isin(ids)])
    logger.info("warm: %d test interactions; %d users take part", len(test), len(ids))
    return Split("warm", seed, train, users, items, item_tags, cases=[case])


def make_split(protocol: str, spec: Spec, data, seed: int, shots=(0, 1, 3, 5, 10, 20),
               max_users: int | None = None) -> Split:
    """The split of ``data`` (with interactions, users, items, item_tags) for one seed."""
    common = dict(users=data.users, items=data.items, seed=seed, max_users=max_users,
                  item_tags=data.item_tags)
    if protocol == "new-users":
        return new_users_split(spec, data.interactions, shots=tuple(shots), **common)
    if protocol == "new-items":
        return new_items_split(spec, data.interactions, **common)
    if protocol == "warm":
        return warm_split(spec, data.interactions, **common)
    raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
