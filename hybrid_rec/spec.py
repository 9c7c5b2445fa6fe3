"""Feature specs: the declarative TOML files that say how raw columns become features.

A spec has three sections. ``[interactions]`` names the columns of the
interactions table and says how ratings become training signal.
``[users]`` and ``[items]`` name each side's id column and list its features
as ``[[users.features]]`` / ``[[items.features]]`` tables, each with a
``name``, a ``kind`` and the options of that kind (see
:mod:`hybrid_rec.features`). Unknown keys are errors, so a typo never
silently changes what a model learns.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exceptions import SpecError

__all__ = ["FeatureSpec", "InteractionsSpec", "SideSpec", "Spec", "load_spec", "parse_spec"]

FEATURE_KINDS = ("category", "multi", "bucket", "prefix", "tags", "identity")
WEIGHT_RULES = ("binary", "rating")

# Keys each feature kind accepts, besides the common ones.
_COMMON_KEYS = {"name", "kind", "weight"}
_KIND_KEYS = {
    "category": {"column", "min_count"},
    "multi": {"column", "separator", "min_count"},
    "bucket": {"column", "edges", "width", "range"},
    "prefix": {"column", "length", "min_count"},
    "tags": {"column", "entity", "min_count", "top_n"},
    "identity": set(),
}
_INTERACTION_KEYS = {"user", "item", "rating", "time", "positive_threshold", "weight",
                     "rating_scale"}
_SIDE_KEYS = {"id", "title", "normalise", "features"}


@dataclass(frozen=True)
class FeatureSpec:
    """One feature entry of a side: a raw column turned into features of one kind."""

    name: str
    kind: str
    column: str | None = None
    weight: float = 1.0
    options: dict[str, Any] = field(default_factory=dict)

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


@dataclass(frozen=True)
class SideSpec:
    """The users or the items side: its id column and its features."""

    side: str
    id: str
    features: tuple[FeatureSpec, ...] = ()
    title: str | None = None
    normalise: bool = True

    @property
    def identity(self) -> FeatureSpec | None:
        return next((f for f in self.features if f.kind == "identity"), None)

    @property
    def metadata_columns(self) -> list[str]:
        """Columns of the side's metadata table that its features read."""
        cols = [f.column for f in self.features if f.kind not in ("identity", "tags")]
        return list(dict.fromkeys(cols))

    @property
    def total_weight(self) -> float:
        return sum(f.weight for f in self.features)


@dataclass(frozen=True)
class InteractionsSpec:
    """Column names of the interactions table and how ratings become signal."""

    user: str
    item: str
    rating: str | None = None
    time: str | None = None
    positive_threshold: float | None = None
    weight: str = "binary"
    rating_scale: tuple[float, float] | None = None


@dataclass(frozen=True)
class Spec:
    """A whole feature spec, as loaded from TOML and validated."""

    interactions: InteractionsSpec
    users: SideSpec
    items: SideSpec
    source: str = "<spec>"
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def side(self, name: str) -> SideSpec:
        return self.users if name == "users" else self.items


def load_spec(path: str | Path) -> Spec:
    """Read and validate a TOML feature spec.

    Parameters
    ----------
    path : str or Path
        The spec file.

    Returns
    -------
    Spec

    Raises
    ------
    SpecError
        The file is missing, is not valid TOML, or breaks a rule; the message
        names the file, the section and the key.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: spec file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"{path}: cannot read spec file: {e}") from e
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{path}: not valid TOML: {e}") from e
    return parse_spec(raw, source=str(path))


def parse_spec(raw: dict[str, Any], source: str = "<spec>") -> Spec:
    """Validate a spec given as a dict (the parsed TOML); see :func:`load_spec`."""
    checker = _Checker(source)
    checker.keys(raw, "", {"interactions", "users", "items", "dataset"})
    inter = checker.interactions(checker.table(raw, "interactions", required=True))
    users = checker.side("users", checker.table(raw, "users", required=True))
    items = checker.side("items", checker.table(raw, "items", required=True))
    return Spec(interactions=inter, users=users, items=items, source=source, raw=raw)


class _Checker:
    """Validation helpers that turn every problem into a SpecError with its location."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, message: str) -> SpecError:
        return SpecError(f"{self.source}: [{where}] {message}")

    def keys(self, table: dict, where: str, allowed: set[str]) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            allowed_keys = ", ".join(sorted(allowed))
            raise self.fail(where or "top level",
                            f"unknown key {unknown[0]!r}; allowed keys: {allowed_keys}")

    def table(self, raw: dict, key: str, required: bool = False) -> dict:
        value = raw.get(key)
        if value is None:
            if required:
                raise self.fail(key, "section is missing")
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table, got {type(value).__name__}")
        return value

    def string(self, table: dict, where: str, key: str, required: bool = False) -> str | None:
        value = table.get(key)
        if value is None:
            if required:
                raise self.fail(where, f"key {key!r} is required")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"key {key!r} must be a non-empty string, got {value!r}")
        return value

    def number(self, table: dict, where: str, key: str, default: float | None = None,
               positive: bool = False, integer: bool = False) -> float | None:
        value = table.get(key, default)
        if value is None:
            return None
        ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type or not math.isfinite(value):
            kind = "an integer" if integer else "a finite number"
            raise self.fail(where, f"key {key!r} must be {kind}, got {value!r}")
        if positive and value <= 0:
            raise self.fail(where, f"key {key!r} must be positive, got {value!r}")
        return value

    def interactions(self, table: dict) -> InteractionsSpec:
        where = "interactions"
        self.keys(table, where, _INTERACTION_KEYS)
        rating = self.string(table, where, "rating")
        threshold = self.number(table, where, "positive_threshold")
        weight = table.get("weight", "binary")
        if weight not in WEIGHT_RULES:
            raise self.fail(where, f"key 'weight' must be one of {', '.join(WEIGHT_RULES)}, "
                                   f"got {weight!r}")
        if rating is None and (threshold is not None or weight == "rating"):
            raise self.fail(where, "keys 'positive_threshold' and weight = 'rating' need "
                                   "key 'rating' naming the rating column")
        scale = table.get("rating_scale")
        if scale is not None:
            if (not isinstance(scale, list) or len(scale) != 2
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                               for v in scale) or not scale[0] < scale[1]):
                raise self.fail(where, f"key 'rating_scale' must be [low, high] with low < high, "
                                       f"got {scale!r}")
            scale = (float(scale[0]), float(scale[1]))
        return InteractionsSpec(
            user=self.string(table, where, "user", required=True),
            item=self.string(table, where, "item", required=True),
            rating=rating,
            time=self.string(table, where, "time"),
            positive_threshold=threshold,
            weight=weight,
            rating_scale=scale,
        )

    def side(self, side: str, table: dict) -> SideSpec:
        self.keys(table, side, _SIDE_KEYS)
        id_col = self.string(table, side, "id", required=True)
        normalise = table.get("normalise", True)
        if not isinstance(normalise, bool):
            raise self.fail(side, f"key 'normalise' must be true or false, got {normalise!r}")
        entries = table.get("features", [])
        if not isinstance(entries, list):
            raise self.fail(side, "key 'features' must be an array of tables "
                                  f"([[{side}.features]])")
        features = []
        for i, entry in enumerate(entries):
            where = f"{side}.features.{i}"
            if not isinstance(entry, dict):
                raise self.fail(where, f"must be a table, got {type(entry).__name__}")
            features.append(self.feature(entry, where, id_col))
        names = [f.name for f in features]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise self.fail(f"{side}.features", f"feature name {dupes[0]!r} is used twice")
        if sum(f.kind == "identity" for f in features) > 1:
            raise self.fail(f"{side}.features", "at most one feature of kind 'identity'")
        return SideSpec(side=side, id=id_col, features=tuple(features),
                        title=self.string(table, side, "title"), normalise=normalise)

    def feature(self, entry: dict, where: str, id_col: str) -> FeatureSpec:
        kind = entry.get("kind")
        if "name" in entry or kind in FEATURE_KINDS:
            where = f"{where} ({entry.get('name', kind)})"
        if kind not in FEATURE_KINDS:
            raise self.fail(where, f"key 'kind' must be one of {', '.join(FEATURE_KINDS)}, "
                                   f"got {kind!r}")
        self.keys(entry, where, _COMMON_KEYS | _KIND_KEYS[kind])
        name = self.string(entry, where, "name", required=kind != "identity") or "id"
        if ":" in name:
            raise self.fail(where, f"key 'name' must not contain ':', got {name!r}")
        weight = self.number(entry, where, "weight", default=1.0, positive=True)
        if kind == "identity":
            return FeatureSpec(name=name, kind=kind, column=id_col, weight=weight)
        column = self.string(entry, where, "column", required=True)
        options = {k: v for k, v in entry.items() if k not in _COMMON_KEYS | {"column"}}
        for key in ("min_count", "top_n", "length"):
            if key in options:
                self.number(options, where, key, positive=True, integer=True)
        if kind == "multi":
            sep = options.setdefault("separator", "|")
            if not isinstance(sep, str) or not sep:
                raise self.fail(where, f"key 'separator' must be a non-empty string, got {sep!r}")
        if kind == "prefix" and "length" not in options:
            raise self.fail(where, "key 'length' is required for kind 'prefix'")
        if kind == "bucket":
            self.bucket(options, where)
        return FeatureSpec(name=name, kind=kind, column=column, weight=weight, options=options)

    def bucket(self, options: dict, where: str) -> None:
        edges, width = options.get("edges"), options.get("width")
        if (edges is None) == (width is None):
            raise self.fail(where, "kind 'bucket' needs exactly one of 'edges' or 'width'")
        if edges is not None:
            if (not isinstance(edges, list) or not edges
                    or not all(isinstance(e, (int, float)) and not isinstance(e, bool)
                               for e in edges)
                    or any(a >= b for a, b in zip(edges, edges[1:]))):
                raise self.fail(where, f"key 'edges' must be a non-empty list of increasing "
                                       f"numbers, got {edges!r}")
        else:
            self.number(options, where, "width", positive=True)
        bounds = options.get("range")
        if bounds is not None and (
                not isinstance(bounds, list) or len(bounds) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bounds)
                or not bounds[0] <= bounds[1]):
            raise self.fail(where, f"key 'range' must be [low, high] with low <= high, "
                                   f"got {bounds!r}")
