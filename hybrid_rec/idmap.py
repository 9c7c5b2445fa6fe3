"""Two names for two kinds of id, never mixed.

An *id* is what the user's files say (``user_id = 196``, ``item_id = "tt0114709"``).
An *index* is the 0-based row of that entity inside the model's matrices.
:class:`IdMap` converts between them; nothing else in the package guesses.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .exceptions import InputDataError

__all__ = ["IdMap"]

_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,18})")
_INT64 = np.iinfo(np.int64)


def _as_int_id(value):
    """A value that can match an int id, or None: plain integer text becomes an int."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not _PLAIN_INT.fullmatch(value):
            return None
        number = int(value)
        return number if _INT64.min <= number <= _INT64.max else None
    return value


class IdMap:
    """An ordered set of external ids; position in the set is the internal index.

    Ids are either all integers (stored as int64) or all strings.
    """

    def __init__(self, ids):
        values = pd.Index(ids)
        if values.has_duplicates:
            dupes = values[values.duplicated()].unique()[:5].tolist()
            raise InputDataError(f"ids must be unique; repeated: {dupes}")
        if len(values) and pd.api.types.is_integer_dtype(values.dtype):
            values = values.astype("int64")
            self.kind = "int"
        else:
            values = pd.Index([str(v) for v in values], dtype=object)
            self.kind = "str"
        self._index = values

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f"IdMap({len(self)} {self.kind} ids)"

    @property
    def ids(self) -> np.ndarray:
        """External ids in index order."""
        return self._index.to_numpy()

    def coerce(self, ids) -> pd.Index:
        """Convert ids to this map's kind; ids that cannot match become -1 lookups.

        Into an int map, numbers pass as they are and text only when it is an
        integer written plainly (``"7"``, ``"-2"``): ``"007"``, ``"7.0"`` and
        ``"+7"`` match nothing, because in another system they may well name
        another entity. Into a str map every id becomes its text, so ``7``
        matches ``"7"`` and never ``"007"``.
        """
        ids = pd.Index(ids)
        if self.kind == "int":
            if pd.api.types.is_integer_dtype(ids.dtype):
                return ids.astype("int64")
            if pd.api.types.is_float_dtype(ids.dtype):
                return ids.astype("float64")
            values = pd.Series([_as_int_id(v) for v in ids], dtype=object)
            return pd.Index(pd.to_numeric(values, errors="coerce"))
        return pd.Index([str(v) for v in ids], dtype=object)

    def to_index(self, ids, missing: str = "raise", what: str = "id") -> np.ndarray:
        """Internal indices of external ids.

        Parameters
        ----------
        ids : array-like
        missing : {"raise", "ignore"}
            With "ignore", unknown ids map to -1.
        what : str
            How to name the ids in an error ("user id", "item id").
        """
        index = self._index.get_indexer(self.coerce(ids))
        if missing == "raise" and (index < 0).any():
            unknown = pd.Index(ids)[index < 0]
            raise InputDataError(
                f"{len(unknown)} unknown {what}(s), e.g. {unknown[:5].tolist()}; "
                f"the model knows {len(self)} ids")
        return index

    def to_ids(self, index) -> np.ndarray:
        """External ids at internal indices."""
        return self._index.to_numpy()[np.asarray(index, dtype=np.int64)]

    def append(self, ids) -> "IdMap":
        """A new map with ``ids`` added at the end (they must be new)."""
        new = self.coerce(ids)
        if self.kind == "int" and not pd.api.types.is_integer_dtype(new.dtype):
            values = new.to_numpy(dtype=np.float64)
            bad = ~np.isfinite(values) | (values != np.round(values))
            if bad.any():
                raise InputDataError(f"ids must be integers like the existing ones; got "
                                     f"{pd.Index(ids)[bad][:5].tolist()}")
            new = pd.Index(values.astype(np.int64))
        return IdMap(np.concatenate([self.ids, np.asarray(new)]))

    def to_array(self) -> np.ndarray:
        """The ids as an array that ``np.load(allow_pickle=False)`` can read back."""
        if self.kind == "int":
            return self.ids.astype(np.int64)
        return np.asarray(self.ids, dtype=str)

    @classmethod
    def from_array(cls, array: np.ndarray) -> "IdMap":
        return cls(array.tolist() if array.dtype.kind == "U" else array)
