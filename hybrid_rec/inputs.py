"""Reading new users and their ratings from CSV files, with a reason for every rejected row.

Files are read with the ``csv`` module in the delimiter and encoding that
:mod:`hybrid_rec.csvformat` is given or detects (UTF-8 by default, a
byte-order mark is fine), so quoted fields may hold the delimiter or line
breaks and may be of any length; line numbers are
1-based and count the header as line 1. A row that cannot be used becomes a
:class:`Reject` naming the file, the line, the column and the value; every
other row is kept.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .csvformat import detect
from .exceptions import InputDataError
from .features import make_kind
from .idmap import IdMap
from .spec import Spec

__all__ = ["Reject", "read_new_users", "read_new_ratings"]


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


def _rows(path: Path, delimiter: str | None, required: list[str], what: str,
          encoding: str | None = None):
    """Yield (line, cells, problem) for each non-blank record of a CSV file.

    ``cells`` maps column names to stripped values; when the record has the
    wrong number of fields it is None and ``problem`` says why. A missing
    required column is an error before any row is read. ``delimiter`` and
    ``encoding`` of None are detected (see :mod:`hybrid_rec.csvformat`).
    """
    fmt = detect(path, delimiter, encoding)
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
            line = reader.line_num + 1
            for fields in reader:
                if any(f.strip() for f in fields):
                    cells = {c: v.strip() for c, v in zip(header, fields)}
                    problem = None
                    if len(fields) != len(header):
                        problem = f"expected {len(header)} fields, found {len(fields)}"
                    yield line, cells, problem
                line = reader.line_num + 1
        except UnicodeDecodeError as e:
            raise InputDataError(_decode_error(path, fmt, e)) from None
        except csv.Error as e:
            raise InputDataError(f"{path}: line {reader.line_num}: malformed CSV: {e}") from e


def _rejecter(path: Path, rejects: list):
    """A function that records a rejected row of ``path`` in ``rejects``."""
    def reject(line: int, column: str, value: str, reason: str, uid: str = "") -> None:
        rejects.append(Reject(str(path), line, uid, column, value, reason))
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


def read_new_users(path: str | Path, spec: Spec, delimiter: str | None = None,
                   encoding: str | None = None):
    """New users' metadata.

    Returns
    -------
    (users, accepted, rejects, seen, n_read) : a DataFrame of accepted users
    (text cells; blank cells as missing), dicts id -> line of the accepted
    users and of every id met, the rejects, and the number of users read.
    """
    path = Path(path)
    side = spec.users
    columns = [side.id] + side.metadata_columns
    kinds = {f.column: make_kind(f) for f in side.features if f.column in columns[1:]}
    rows, lines, rejects, seen_at = [], {}, [], {}
    reject = _rejecter(path, rejects)
    n_read = 0
    for line, cells, problem in _rows(path, delimiter, columns, "users", encoding):
        n_read += 1
        if problem:
            reject(line, "", "", problem, cells.get(side.id, ""))
            continue
        uid = cells[side.id]
        if not uid:
            reject(line, side.id, "", "the user id is blank")
            continue
        if uid in seen_at:
            reject(line, side.id, uid, f"user id already given on line {seen_at[uid]}", uid)
            continue
        seen_at[uid] = line
        bad = None
        for column, kind in kinds.items():
            try:
                kind.parse(cells[column])
            except ValueError as e:
                bad = (column, cells[column], f"{column}: {e}")
                break
        if bad:
            reject(line, *bad, uid=uid)
            continue
        lines[uid] = line
        rows.append([uid] + [cells[c] or None for c in columns[1:]])
    users = pd.DataFrame(rows, columns=columns, dtype=object)
    return users, lines, rejects, seen_at, n_read


def read_new_ratings(path: str | Path, spec: Spec, users_seen: dict, users_ok: dict,
                     items: IdMap, delimiter: str | None = None,
                     encoding: str | None = None):
    """The new users' ratings, keeping only rows that can be used.

    Returns
    -------
    (ratings, rejects, n_read)
    """
    path = Path(path)
    inter = spec.interactions
    columns = [c for c in (inter.user, inter.item, inter.rating) if c]
    rows, rejects, where = [], [], {}
    reject = _rejecter(path, rejects)
    n_read = 0
    for line, cells, problem in _rows(path, delimiter, columns, "ratings", encoding):
        n_read += 1
        if problem:
            reject(line, "", "", problem, cells.get(inter.user, ""))
            continue
        uid, item = cells[inter.user], cells[inter.item]
        if uid not in users_ok:
            reason = (f"the user was rejected on line {users_seen[uid]} of the users file"
                      if uid in users_seen else "the user is not in the users file")
            reject(line, inter.user, uid, reason, uid)
            continue
        if items.to_index([item], missing="ignore")[0] < 0:
            reject(line, inter.item, item, _unknown_item(item, items), uid)
            continue
        rating = None
        if inter.rating:
            rating, why = _rating(cells[inter.rating], inter.rating_scale)
            if why:
                reject(line, inter.rating, cells[inter.rating], why, uid)
                continue
        if (uid, item) in where:
            earlier, first = where[(uid, item)]
            rows[earlier] = None
            reject(first, inter.item, item, f"the same item is rated again on line {line}; "
                   "the last rating wins", uid)
        where[(uid, item)] = (len(rows), line)
        rows.append([uid, item, rating][: len(columns)])
    rows = [r for r in rows if r is not None]
    rejects.sort(key=lambda r: r.line)
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
