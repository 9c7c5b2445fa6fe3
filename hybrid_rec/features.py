"""Feature kinds: how one raw column becomes weighted features.

Every kind turns each entity's raw value into *tokens* (a genre, an age bucket,
a tag) with relative weights; :class:`~hybrid_rec.encoder.FeatureEncoder`
then maps tokens to feature columns. Kinds:

``category``
    one feature per distinct value (gender, occupation).
``multi``
    a separator-joined list, one feature per element (``Action|Comedy``).
``bucket``
    a number cut at ``edges`` (ages 18/25/35/...) or into bins of ``width``
    (release decades); values outside ``range`` are invalid.
``prefix``
    the first ``length`` characters of a text (zip-code region).
``tags``
    free text from a long table of (entity, tag) pairs: case and spacing
    normalised, tags seen fewer than ``min_count`` times dropped, the
    ``top_n`` most frequent per entity kept, weighted by frequency.
``identity``
    the entity's own id, so known entities get a vector of their own.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from .spec import FeatureSpec

__all__ = ["FeatureKind", "make_kind"]

_SPACES = re.compile(r"\s+")


def is_missing(value) -> bool:
    """True for None, NaN, pandas' NA and NaT."""
    if value is None:
        return True
    if isinstance(value, (str, list, tuple, np.ndarray)):
        return False
    return bool(pd.isna(value))


def _text(value) -> str | None:
    """A raw cell as clean text, or None when it is missing."""
    if is_missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


class FeatureKind:
    """Base class: tokens for raw values, and a vocabulary fitted on training data."""

    def __init__(self, spec: FeatureSpec):
        self.spec = spec
        self.vocabulary_: list[str] = []

    # -- per value ------------------------------------------------------
    def parse(self, raw: str):
        """Validate one raw text cell; raise ValueError with a reason when it is invalid."""
        return raw

    def tokens(self, value) -> list[tuple[str, float]]:
        """Tokens of one value with weights relative to each other."""
        text = _text(value)
        return [] if text is None else [(text, 1.0)]

    # -- fitting --------------------------------------------------------
    def fit(self, values: pd.Series) -> "FeatureKind":
        counts: dict[str, int] = {}
        for value in values:
            for token, _ in self.tokens(value):
                counts[token] = counts.get(token, 0) + 1
        min_count = self.spec.option("min_count", 1)
        self.vocabulary_ = sorted(t for t, c in counts.items() if c >= min_count)
        return self

    def state(self) -> dict:
        return {"vocabulary": list(self.vocabulary_)}

    def load_state(self, state: dict) -> None:
        self.vocabulary_ = list(state["vocabulary"])


class CategoryKind(FeatureKind):
    pass


class MultiKind(FeatureKind):
    def tokens(self, value):
        if isinstance(value, (list, tuple, np.ndarray)):
            parts = [_text(v) or "" for v in value]
        else:
            text = _text(value)
            if text is None:
                return []
            parts = [p.strip() for p in text.split(self.spec.option("separator", "|"))]
        return [(p, 1.0) for p in dict.fromkeys(p for p in parts if p)]


class PrefixKind(FeatureKind):
    def tokens(self, value):
        text = _text(value)
        return [] if text is None else [(text[: self.spec.option("length")], 1.0)]


class BucketKind(FeatureKind):
    def parse(self, raw: str):
        text = _text(raw)
        if text is None:
            return None
        try:
            if "_" in text:  # Python's digit grouping (1_000), not a number in data
                raise ValueError
            x = float(text)
        except ValueError:
            raise ValueError(f"not a number: {text!r}") from None
        if not math.isfinite(x):
            raise ValueError(f"not a finite number: {text!r}")
        bounds = self.spec.option("range")
        if bounds is not None and not bounds[0] <= x <= bounds[1]:
            raise ValueError(f"{text} is outside the valid range "
                             f"[{_number(bounds[0])}, {_number(bounds[1])}]")
        return x

    def tokens(self, value):
        if is_missing(value):
            return []
        if isinstance(value, str):
            value = self.parse(value)
            if value is None:
                return []
        x = float(value)
        if not math.isfinite(x):
            return []
        bounds = self.spec.option("range")
        if bounds is not None and not bounds[0] <= x <= bounds[1]:
            return []
        return [(self.label(x), 1.0)]

    def label(self, x: float) -> str:
        edges = self.spec.option("edges")
        if edges is None:
            width = self.spec.option("width")
            low = math.floor(x / width) * width
            return self._span(low, low + width)
        i = int(np.searchsorted(edges, x, side="right"))
        if i == 0:
            return f"<{_number(edges[0])}"
        if i == len(edges):
            return f"{_number(edges[-1])}+"
        return self._span(edges[i - 1], edges[i])

    @staticmethod
    def _span(low: float, high: float) -> str:
        if float(low).is_integer() and float(high).is_integer():
            return f"{int(low)}-{int(high) - 1}"
        return f"[{_number(low)},{_number(high)})"


class TagsKind(FeatureKind):
    """Tags come from a long table, so they are fitted and read per entity."""

    @staticmethod
    def normalise(tag) -> str | None:
        text = _text(tag)
        return None if text is None else _SPACES.sub(" ", text.lower())

    def fit_table(self, entity_ids: pd.Series, tags: pd.Series) -> "TagsKind":
        clean = tags.map(self.normalise)
        counts = clean.dropna().value_counts()
        min_count = self.spec.option("min_count", 1)
        self.vocabulary_ = sorted(counts.index[counts >= min_count])
        return self

    def entity_tokens(self, entity_ids: pd.Series, tags: pd.Series) -> dict:
        """For each entity id: its kept tokens with frequency weights."""
        frame = pd.DataFrame({"entity": entity_ids.to_numpy(),
                              "tag": tags.map(self.normalise).to_numpy()}).dropna()
        counts = frame.groupby(["entity", "tag"], sort=True).size().reset_index(name="n")
        # Tags outside the vocabulary are listed after the kept ones, so the encoder can
        # count them as unseen, and they use up none of the top n slots.
        known = counts["tag"].isin(self.vocabulary_)
        unknown = {e: list(zip(g["tag"], g["n"].astype(float)))
                   for e, g in counts[~known].groupby("entity", sort=False)}
        counts = counts[known]
        counts = counts.sort_values(["entity", "n", "tag"], ascending=[True, False, True])
        top_n = self.spec.option("top_n")
        result: dict = {}
        for entity, group in counts.groupby("entity", sort=False):
            if top_n is not None:
                group = group.head(top_n)
            result[entity] = list(zip(group["tag"], group["n"].astype(float)))
        for entity, tokens in unknown.items():
            result[entity] = result.get(entity, []) + tokens
        return result


class IdentityKind(FeatureKind):
    def fit(self, values):
        self.vocabulary_ = [str(v) for v in values]
        return self


_KINDS = {
    "category": CategoryKind,
    "multi": MultiKind,
    "bucket": BucketKind,
    "prefix": PrefixKind,
    "tags": TagsKind,
    "identity": IdentityKind,
}


def make_kind(spec: FeatureSpec) -> FeatureKind:
    """The feature kind object for a spec entry."""
    return _KINDS[spec.kind](spec)
