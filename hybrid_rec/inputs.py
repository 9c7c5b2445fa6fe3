"""Reading new users and their ratings from CSV files, with a reason for every rejected row.

Files are read with the ``csv`` module in the delimiter and encoding that
:mod:`hybrid_rec.csvformat` is given or detects (UTF-8 by default, a
byte-order mark is fine), so quoted fields may hold the delimiter or line
breaks and may be of any length; line numbers are 1-based and count the
header as line 1. Reading yields :class:`Record` tuples; validation
(:func:`check_users`, :func:`check_ratings`) works on any iterable of records,
so a partition of a file is checked exactly like the whole file. A row that
cannot be used becomes a :class:`Reject` naming the file, the line, the
column and the value; every other row is kept.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple

import pandas as pd

from .csvformat import detect
from .exceptions import InputDataError
from .features import make_kind
from .idmap import IdMap
from .spec import Spec

__all__ = ["Reject", "Record", "UserCheck", "check_ratings", "check_users", "rating_columns",
           "rating_records", "read_new_ratings", "read_new_users", "user_columns",
           "user_records"]


@dataclass(frozen=True)
class Reject:
    """One input row that was not used, and why."""

    file: str
    line: int
    user_id: str
    column: str
    value: str
    reason: str

    FIELDS = ("file", "line", "user_id", "column", "value", "reason")

    def row(self) -> list:
        return [getattr(self, f) for f in self.FIELDS]


class Record(NamedTuple):
    """One non-blank record of an input file.

    ``cells`` maps header names to stripped values (a short row maps only the
    columns it has); ``problem`` is None, or why the row cannot be used at all
    (``"expected 5 fields, found 3"``).
    """

    file: str
    line: int
    cells: dict
    problem: str | None


def user_columns(spec: Spec) -> list[str]:
    """Columns a users file must have: the id column, then the metadata columns."""
    return [spec.users.id] + spec.users.metadata_columns


def rating_columns(spec: Spec) -> list[str]:
    """Columns a ratings file must have: user, item and (if the spec has one) rating."""
    inter = spec.interactions
    return [c for c in (inter.user, inter.item, inter.rating) if c]


def user_records(path: str | Path, spec: Spec, delimiter: str | None = None,
                 encoding: str | None = None) -> Iterator[Record]:
    """Stream the records of a users file (a generator: the header is checked on first use)."""
    return _rows(Path(path), delimiter, user_columns(spec), "users", encoding)


def rating_records(path: str | Path, spec: Spec, delimiter: str | None = None,
                   encoding: str | None = None) -> Iterator[Record]:
    """Stream the records of a ratings file (a generator: the header is checked on first use)."""
    return _rows(Path(path), delimiter, rating_columns(spec), "ratings", encoding)


def _rows(path: Path, delimiter: str | None, required: list[str], what: str,
          encoding: str | None = None):
    """Yield a :class:`Record` for each non-blank record of a CSV file.

    A missing required column is an error before any row is read.
    ``delimiter`` and ``encoding`` of None are detected (see
    :mod:`hybrid_rec.csvformat`).
    """
    fmt = detect(path, delimiter, encoding)
    name = str(path)
    with fmt.open(path) as fh:
        reader = fmt.reader(fh)
        try:
            header = next(reader, None)
            if header is None:
                raise InputDataError(f"{path}: the file is empty; expected a header line")
            header = [h.strip() for h in header]
            missing = [c for c in required if c not in header]
            if missing:
                raise InputDataError(
                    f"{path}: line 1: {what} file has no column {missing[0]!r}; required "
                    f"columns: {', '.join(required)}; found: {', '.join(header) or '(none)'}")
            repeated = [c for c in required if header.count(c) > 1]
            if repeated:
                raise InputDataError(
                    f"{path}: line 1: column {repeated[0]!r} appears {header.count(repeated[0])} "
                    "times in the header; which one holds the data cannot be told")
            line = reader.line_num + 1
            for fields in reader:
                if any(f.strip() for f in fields):
                    cells = {c: v.strip() for c, v in zip(header, fields)}
                    problem = None
                    if len(fields) != len(header):
                        problem = f"expected {len(header)} fields, found {len(fields)}"
                    yield Record(name, line, cells, problem)
                line = reader.line_num + 1
        except UnicodeDecodeError as e:
            raise InputDataError(_decode_error(path, fmt, e)) from None
        except UnicodeError as e:  # a codec's own complaint, e.g. UTF-16 without a BOM
            raise InputDataError(f"{path}: line 1: cannot be read as {fmt.encoding}: {e}; "
                                 "give the file's real encoding") from None
        except csv.Error as e:
            raise InputDataError(f"{path}: line {reader.line_num}: malformed CSV: {e}") from e


def _rejecter(rejects: list):
    """A function that records a rejected record in ``rejects``."""
    def reject(record: Record, column: str, value: str, reason: str, uid: str = "") -> None:
        rejects.append(Reject(record.file, record.line, uid, column, value, reason))
    return reject


def _first_bad_line(path: Path, codec: str = "utf-8") -> int:
    """1-based number of the first line that ``codec`` cannot decode."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                raw.decode(codec)
            except UnicodeDecodeError:
                return number
    return 1


def _decode_error(path: Path, fmt, error: UnicodeDecodeError) -> str:
    if fmt.encoding == "utf-8-sig":
        return (f"{path}: line {_first_bad_line(path)}: not valid UTF-8 ({error.reason}); "
                "save the file as UTF-8 or give its encoding (--encoding latin-1)")
    return (f"{path}: line {_first_bad_line(path, fmt.encoding)}: not valid {fmt.encoding} "
            f"({error.reason}); give the file's real encoding")


@dataclass
class UserCheck:
    """The outcome of checking a sequence of user records.

    ``frame`` holds the accepted users (text cells, blank cells as missing) in
    record order; ``accepted`` and ``seen`` map the ids of the accepted users
    and of every id met to their line; ``files`` maps each accepted id to the
    file of its record.
    """

    frame: pd.DataFrame
    accepted: dict
    seen: dict
    rejects: list = field(default_factory=list)
    n_read: int = 0
    files: dict = field(default_factory=dict)


def check_users(records: Iterable[Record], spec: Spec) -> UserCheck:
    """Accept or reject each user record; the first record of a repeated id wins."""
    side = spec.users
    columns = user_columns(spec)
    kinds = {f.column: make_kind(f) for f in side.features if f.column in columns[1:]}
    rows, lines, files, rejects, seen_at = [], {}, {}, [], {}
    reject = _rejecter(rejects)
    n_read = 0
    for record in records:
        n_read += 1
        cells = record.cells
        if record.problem:
            reject(record, "", "", record.problem, cells.get(side.id, ""))
            continue
        uid = cells[side.id]
        if not uid:
            reject(record, side.id, "", "the user id is blank")
            continue
        if uid in seen_at:
            reject(record, side.id, uid, f"user id already given on line {seen_at[uid]}", uid)
            continue
        seen_at[uid] = record.line
        bad = _bad_cell(cells, kinds)
        if bad:
            reject(record, *bad, uid=uid)
            continue
        lines[uid] = record.line
        files[uid] = record.file
        rows.append([uid] + [cells[c] or None for c in columns[1:]])
    users = pd.DataFrame(rows, columns=columns, dtype=object)
    return UserCheck(users, lines, seen_at, rejects, n_read, files)


def _bad_cell(cells: dict, kinds: dict):
    """(column, value, reason) of the first cell its feature kind cannot parse, or None."""
    for column, kind in kinds.items():
        try:
            kind.parse(cells[column])
        except ValueError as e:
            return column, cells[column], f"{column}: {e}"
    return None


def check_ratings(records: Iterable[Record], spec: Spec, users: UserCheck, items: IdMap):
    """Keep the rating records that can be used.

    Parameters
    ----------
    records : iterable of Record
        Rating records; each must belong to a user checked in ``users``, or
        it is rejected as a rating for a user not in the users file.
    users : UserCheck
        The outcome of :func:`check_users` on the same users.
    items : IdMap
        The model's catalogue.

    Returns
    -------
    (ratings, rejects, n_read) : a DataFrame of usable ratings (item ids in
    the catalogue's kind, ratings as float), the rejects, the records read.
    """
    inter = spec.interactions
    columns = rating_columns(spec)
    entries, n_read = [], 0
    for record in records:
        n_read += 1
        entries.append(_rating_entry(record, inter, users))
    known = _known_items([e[3] for e in entries if not isinstance(e, Reject)], items)
    rows, rejects, where = [], [], {}
    for entry in entries:
        if isinstance(entry, Reject):
            rejects.append(entry)
            continue
        file, line, uid, item, rating, text, why = entry
        if not known[item]:
            rejects.append(Reject(file, line, uid, inter.item, item, _unknown_item(item, items)))
        elif why:
            rejects.append(Reject(file, line, uid, inter.rating, text, why))
        else:
            if (uid, item) in where:  # the last rating of an item wins
                earlier, first_file, first_line = where[(uid, item)]
                rows[earlier] = None
                rejects.append(Reject(first_file, first_line, uid, inter.item, item,
                                      f"the same item is rated again on line {line}; "
                                      "the last rating wins"))
            where[(uid, item)] = (len(rows), file, line)
            rows.append([uid, item, rating][: len(columns)])
    rows = [r for r in rows if r is not None]
    rejects.sort(key=lambda r: (r.file, r.line))
    ratings = pd.DataFrame(rows, columns=columns, dtype=object)
    ratings[inter.item] = items.coerce(ratings[inter.item]).to_numpy()
    if inter.rating:
        ratings[inter.rating] = ratings[inter.rating].astype("float64")
    return ratings, rejects, n_read


def _unknown_item(item: str, items: IdMap) -> str:
    """Why ``item`` matched nothing, with the id it may have meant."""
    reason = "the item is not in the model's catalogue"
    if items.kind == "int":
        try:
            number = float(item)
        except ValueError:
            return reason
        if number.is_integer() and items.to_index([int(number)], missing="ignore")[0] >= 0:
            reason += f" (ids match as written: did you mean {int(number)}?)"
    return reason


def _rating_entry(record: Record, inter, users: UserCheck):
    """A Reject, or (file, line, user id, item text, rating, rating text, why the
    rating is bad or None): the record's dict of cells is not kept.

    The item is checked later for all records at once; a bad rating counts
    only when the item is known, so reasons keep the order user, item, rating.
    """
    cells = record.cells
    if record.problem:
        return Reject(record.file, record.line, cells.get(inter.user, ""), "", "",
                      record.problem)
    uid, item = cells[inter.user], cells[inter.item]
    if uid not in users.accepted:
        reason = (f"the user was rejected on line {users.seen[uid]} of the users file"
                  if uid in users.seen else "the user is not in the users file")
        return Reject(record.file, record.line, uid, inter.user, uid, reason)
    rating, text, why = None, "", None
    if inter.rating:
        text = cells[inter.rating]
        rating, why = _rating(text, inter.rating_scale)
    return record.file, record.line, uid, item, rating, text, why


def _known_items(texts: list[str], items: IdMap) -> dict[str, bool]:
    """Which item ids (as text) are in the catalogue, looked up all at once."""
    unique = list(dict.fromkeys(texts))
    found = items.to_index(unique, missing="ignore") >= 0 if unique else []
    return dict(zip(unique, map(bool, found)))


def read_new_users(path: str | Path, spec: Spec, delimiter: str | None = None,
                   encoding: str | None = None):
    """New users' metadata from a whole CSV file.

    Returns
    -------
    (users, accepted, rejects, seen, n_read) : see :class:`UserCheck`.
    """
    check = check_users(user_records(path, spec, delimiter, encoding), spec)
    return check.frame, check.accepted, check.rejects, check.seen, check.n_read


def read_new_ratings(path: str | Path, spec: Spec, users_seen: dict, users_ok: dict,
                     items: IdMap, delimiter: str | None = None,
                     encoding: str | None = None):
    """The new users' ratings from a whole CSV file, keeping only rows that can be used.

    Returns
    -------
    (ratings, rejects, n_read)
    """
    users = UserCheck(pd.DataFrame(), users_ok, users_seen)
    return check_ratings(rating_records(path, spec, delimiter, encoding), spec, users,
                         items)


def _rating(text: str, scale) -> tuple[float | None, str | None]:
    if not text:
        return None, "the rating is blank"
    try:
        value = float(text)
    except ValueError:
        return None, "the rating is not a number"
    if not math.isfinite(value):
        return None, "the rating is not a finite number"
    if scale is not None and not scale[0] <= value <= scale[1]:
        return None, f"the rating is outside the scale [{scale[0]:g}, {scale[1]:g}]"
    return value, None
