"""Load the MovieLens 100k and latest-small releases as clean DataFrames.

Both releases come out with the same column names and dtypes, so the rest of
the library never needs to know which one it got:

- ``interactions``: ``user_id`` (int64), ``item_id`` (int64), ``rating``
  (float64), ``timestamp`` (int64, unix seconds);
- ``users``: ``user_id`` plus, for 100k only, ``age``, ``gender``,
  ``occupation`` and ``zip_code`` (text: some codes are Canadian);
- ``items``: ``item_id``, ``title``, ``year`` (nullable Int64) and ``genres``
  (``|``-joined names, empty when none), plus ``release_date`` and
  ``imdb_url`` for 100k;
- ``item_tags`` (latest-small only): ``user_id``, ``item_id``, ``tag``,
  ``timestamp``.

The files are looked for in an explicit folder, then in ``$HYBRID_REC_DATA``,
then in a per-user cache; when none holds them they are downloaded from
GroupLens into the cache (unless ``download=False``).
"""

from __future__ import annotations

import csv
import http.client
import logging
import os
import re
import shutil
import tempfile
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from hybrid_rec.exceptions import DatasetNotFoundError, InputDataError

__all__ = [
    "DOWNLOAD_BASE_URL",
    "MovieLens",
    "load_movielens",
    "resolve_movielens_dir",
]

logger = logging.getLogger(__name__)

#: Where the official zips live; ``$HYBRID_REC_DOWNLOAD_URL`` overrides it.
DOWNLOAD_BASE_URL = "https://files.grouplens.org/datasets/movielens"

_DOWNLOAD_TIMEOUT_S = 60
# The real archives unpack to a few MB; anything far larger is not MovieLens.
_MAX_UNPACKED_BYTES = 1 << 30
_HOW_TO_POINT = (
    "Point at a local copy with load_movielens({name!r}, data_dir='/path/holding/"
    "{folder}') or by setting HYBRID_REC_DATA=/path/holding/{folder}."
)


@dataclass(frozen=True)
class _Release:
    name: str
    folder: str
    title: str
    files: tuple[str, ...]


_RELEASES = {
    "100k": _Release("100k", "ml-100k", "MovieLens 100k",
                     ("u.data", "u.user", "u.item", "u.genre")),
    "latest-small": _Release("latest-small", "ml-latest-small", "MovieLens latest-small",
                             ("ratings.csv", "movies.csv", "tags.csv")),
}


@dataclass(frozen=True, eq=False)
class MovieLens:
    """One MovieLens release, loaded.

    Attributes
    ----------
    name : str
        ``"100k"`` or ``"latest-small"``.
    interactions : pandas.DataFrame
        ``user_id``, ``item_id``, ``rating``, ``timestamp``, in file order.
    users : pandas.DataFrame
        One row per user; demographics for 100k, only ``user_id`` otherwise.
    items : pandas.DataFrame
        One row per item (movie), including items nobody rated.
    item_tags : pandas.DataFrame or None
        Free-text tags (latest-small); None for 100k.
    """

    name: str
    interactions: pd.DataFrame
    users: pd.DataFrame
    items: pd.DataFrame
    item_tags: pd.DataFrame | None = None

    def __repr__(self) -> str:
        tags = "None" if self.item_tags is None else f"{len(self.item_tags)} rows"
        return (f"MovieLens(name={self.name!r}, "
                f"interactions={len(self.interactions)} rows, "
                f"users={len(self.users)} rows, items={len(self.items)} rows, "
                f"item_tags={tags})")


def load_movielens(name, data_dir=None, *, download=True) -> MovieLens:
    """Load a MovieLens release, downloading it into the cache if needed.

    Parameters
    ----------
    name : {"100k", "latest-small"}
        The release; ``"ml-100k"`` and ``"ml-latest-small"`` are accepted too.
    data_dir : str or path-like, optional
        A folder holding ``ml-100k/`` (or ``ml-latest-small/``), or that
        release folder itself. When given, it must hold the files: nothing
        else is searched and nothing is downloaded.
    download : bool, default True
        Whether to download the release when no local copy is found.

    Returns
    -------
    MovieLens
        The loaded frames; see the module docstring for their columns.

    Raises
    ------
    ValueError
        If ``name`` is not a known release.
    DatasetNotFoundError
        If the files are neither found nor downloadable; the message lists
        every place searched.
    InputDataError
        If a file is malformed; the message names the file and the line.
    """
    release = _release(name)
    folder = resolve_movielens_dir(release.name, data_dir, download)
    logger.info("Loading %s from %s", release.title, folder)
    if release.name == "100k":
        return _load_100k(folder)
    return _load_latest_small(folder)


def resolve_movielens_dir(name, data_dir=None, download=True) -> Path:
    """Return the folder that holds a MovieLens release's files.

    Searches ``data_dir`` if given (and only it), else ``$HYBRID_REC_DATA``,
    then the cache (``$HYBRID_REC_CACHE``, else ``$XDG_CACHE_HOME/hybrid_rec``,
    else ``~/.cache/hybrid_rec``), then downloads into the cache.

    Parameters
    ----------
    name : {"100k", "latest-small"}
        The release, as for :func:`load_movielens`.
    data_dir : str or path-like, optional
        A folder holding the release folder, or the release folder itself.
    download : bool, default True
        Whether to download the release when no local copy is found.

    Returns
    -------
    pathlib.Path
        The folder with the release's files (e.g. ``.../ml-100k``).

    Raises
    ------
    DatasetNotFoundError
        If ``data_dir`` lacks the files, or nothing was found or downloaded.
    """
    release = _release(name)
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        found = _find_in(root, release)
        if found is None:
            raise DatasetNotFoundError(
                f"data_dir={str(root)!r} does not hold {release.title}: "
                f"{_why_not(root, release)}. Pass the folder that holds "
                f"{release.folder}/ (or that folder itself), or leave data_dir out "
                f"to search HYBRID_REC_DATA and the cache and to download.")
        return found

    looked = []
    env_root = os.environ.get("HYBRID_REC_DATA")
    if env_root:
        root = Path(env_root).expanduser()
        found = _find_in(root, release)
        if found is not None:
            return found
        if not root.exists():
            logger.warning("HYBRID_REC_DATA=%s does not exist; ignoring it", root)
        looked.append(f"HYBRID_REC_DATA={root}: {_why_not(root, release)}")
    else:
        looked.append("HYBRID_REC_DATA: not set")

    cache = _cache_root()
    found = _find_in(cache, release)
    if found is not None:
        return found
    looked.append(f"cache {cache}: {_why_not(cache, release)}")

    url = f"{_base_url()}/{release.folder}.zip"
    cause = None
    if not download:
        looked.append(f"download from {url}: skipped (download=False)")
    else:
        try:
            return _download(release, url, cache)
        except (OSError, http.client.HTTPException, _BadArchive) as exc:
            looked.append(f"download from {url}: failed ({exc})")
            cause = exc
    how = _HOW_TO_POINT.format(name=release.name, folder=release.folder)
    places = "\n".join(f"  - {line}" for line in looked)
    raise DatasetNotFoundError(
        f"{release.title} ({release.folder}/ with {', '.join(release.files)}) was not "
        f"found. Looked in:\n{places}\n{how}") from cause


# --- Finding the files -------------------------------------------------------


def _release(name) -> _Release:
    key = str(name).lower()
    key = key[3:] if key.startswith("ml-") else key
    if key not in _RELEASES:
        names = [n for r in _RELEASES.values() for n in (r.name, r.folder)]
        accepted = ", ".join(repr(n) for n in names)
        raise ValueError(f"MovieLens release must be one of {accepted}; got {name!r}.")
    return _RELEASES[key]


def _missing(folder: Path, release: _Release) -> list[str]:
    return [f for f in release.files if not (folder / f).is_file()]


def _find_in(root: Path, release: _Release) -> Path | None:
    """Return ``root/<folder>`` or ``root`` itself if it holds every file."""
    for folder in (root / release.folder, root):
        if folder.is_dir() and not _missing(folder, release):
            return folder
    return None


def _why_not(root: Path, release: _Release) -> str:
    """Say in a few words why ``root`` does not hold the release."""
    if not root.is_dir():
        return f"{root} does not exist"
    sub = root / release.folder
    if sub.is_dir():
        return f"{sub} lacks {', '.join(_missing(sub, release))}"
    missing = _missing(root, release)
    if len(missing) < len(release.files):  # looks like the release folder itself
        return f"{root} lacks {', '.join(missing)}"
    return f"{sub} does not exist"


def _cache_root() -> Path:
    explicit = os.environ.get("HYBRID_REC_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "hybrid_rec"
    return Path.home() / ".cache" / "hybrid_rec"


def _base_url() -> str:
    return (os.environ.get("HYBRID_REC_DOWNLOAD_URL") or DOWNLOAD_BASE_URL).rstrip("/")


# --- Downloading -------------------------------------------------------------


class _BadArchive(Exception):
    """The downloaded file is not a usable MovieLens zip (internal)."""


def _download(release: _Release, url: str, cache: Path) -> Path:
    """Fetch ``url`` into the cache, check it, and unpack it atomically."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / release.folder
    logger.info("Downloading %s from %s into %s", release.title, url, cache)
    fd, part = tempfile.mkstemp(prefix=f".{release.folder}-", suffix=".zip.part",
                                dir=cache)
    part = Path(part)
    try:
        with os.fdopen(fd, "wb") as out, \
                urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response:
            shutil.copyfileobj(response, out, 1 << 20)
        _unpack(part, release, target)
    finally:
        part.unlink(missing_ok=True)
    logger.info("Unpacked %s into %s", release.title, target)
    return target


def _unsafe_member(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or bool(re.match(r"[A-Za-z]:", name))


def _unpack(archive: Path, release: _Release, target: Path) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise _BadArchive(f"the file received is not a valid zip archive: {exc}") from exc
    with zf:
        names = zf.namelist()
        unsafe = [n for n in names if _unsafe_member(n)]
        if unsafe:
            raise _BadArchive(f"the zip has members with absolute paths or '..', "
                              f"refused: {unsafe[:3]}")
        expected = [f"{release.folder}/{f}" for f in release.files]
        absent = [n for n in expected if n not in names]
        if absent:
            raise _BadArchive(f"the zip lacks {', '.join(absent)}")
        try:
            corrupt = zf.testzip()
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError,
                RuntimeError) as exc:  # bad data, odd compression, encryption
            corrupt = f"? ({exc})"
        if corrupt is not None:
            raise _BadArchive(f"the zip is corrupt (member {corrupt} fails its check)")
        prefix = release.folder + "/"
        members = [i for i in zf.infolist() if i.filename.startswith(prefix)]
        if sum(i.file_size for i in members) > _MAX_UNPACKED_BYTES:
            raise _BadArchive("the zip unpacks to more than 1 GiB; that is not MovieLens")

        # Unpack beside the target, then rename: a crash never leaves half a folder.
        staging = Path(tempfile.mkdtemp(prefix=f".{release.folder}-", dir=target.parent))
        try:
            zf.extractall(staging, members=members)
            _move_into_place(staging / release.folder, target, staging, release)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _move_into_place(new: Path, target: Path, staging: Path, release: _Release) -> None:
    if target.exists():
        if target.is_dir() and not _missing(target, release):
            return  # another process finished first; keep theirs
        logger.info("Replacing the incomplete %s", target)
        target.rename(staging / "stale")
    try:
        new.rename(target)
    except OSError:
        if target.is_dir() and not _missing(target, release):
            return  # lost a race to another process; its copy is complete
        raise


# --- Parsing -----------------------------------------------------------------


def _read_rows(path: Path, columns, *, delimiter, encoding="utf-8", header=None,
               quoting=csv.QUOTE_MINIMAL):
    """Read a delimited file as text columns, checking the number of fields.

    Returns the frame (Python ``str`` values, ``object`` dtype) and the
    1-based line of each row. Blank lines are skipped.
    """
    reader = None
    try:
        with open(path, encoding=encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter, quoting=quoting, strict=True)
            if header is not None:
                first = next(reader, None)
                if first != list(header):
                    raise InputDataError(
                        f"{path}, line 1: expected the header {','.join(header)!r}, got "
                        f"{first!r}. Is this the right file?")
            start = reader.line_num
            rows = list(reader)
            one_line_each = reader.line_num - start == len(rows)
            if one_line_each and all(len(row) == len(columns) for row in rows):
                lines = np.arange(start + 1, start + 1 + len(rows))
            else:  # blank lines, multi-line fields or bad rows: redo, tracking lines
                handle.seek(0)
                reader = csv.reader(handle, delimiter=delimiter, quoting=quoting,
                                    strict=True)
                rows, lines = _rows_with_lines(reader, path, columns, delimiter, header)
    except UnicodeDecodeError as exc:
        raise InputDataError(
            f"{path}, line {_bad_text_line(path, encoding)}: not valid {encoding} text "
            f"({exc.reason}). The file may be damaged; download it again.") from exc
    except csv.Error as exc:
        raise InputDataError(f"{path}, line {reader.line_num + 1}: malformed CSV "
                             f"({exc}). Fix the quoting on that line.") from exc
    data = zip(*rows) if rows else [()] * len(columns)
    frame = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in zip(columns, data)})
    return frame, np.asarray(lines, dtype="int64")


def _bad_text_line(path: Path, encoding: str) -> int | str:
    """Return the 1-based line of the first undecodable byte ("?" if none)."""
    data = path.read_bytes()
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1
    return "?"


def _rows_with_lines(reader, path, columns, delimiter, header):
    rows, lines = [], []
    if header is not None:
        next(reader)
    for row in reader:
        if not row:
            continue
        if len(row) != len(columns):
            raise InputDataError(
                f"{path}, line {reader.line_num}: expected {len(columns)} fields "
                f"separated by {delimiter!r} ({', '.join(columns)}), got {len(row)}: "
                f"{delimiter.join(row)[:120]!r}. Fix or remove that line.")
        rows.append(row)
        lines.append(reader.line_num)
    return rows, lines


def _reject(bad, values: pd.Series, lines, path: Path, column: str, rule: str) -> None:
    """Raise InputDataError if any row is flagged ``bad``, citing the first few."""
    where = np.flatnonzero(np.asarray(bad, dtype=bool))
    if where.size == 0:
        return
    examples = "; ".join(f"line {lines[i]}: {values.iat[i]!r}" for i in where[:3])
    raise InputDataError(
        f"{path}: column {column!r} must hold {rule}, but {where.size} row(s) do not "
        f"(first: {examples}). Fix or remove those lines.")


def _number(frame, lines, path, column, *, integer) -> pd.Series:
    raw = frame[column]
    dtype = "int64" if integer else "float64"
    try:  # the fast path: numpy parses clean text in C
        values = np.asarray(raw.to_numpy(), dtype=str).astype(dtype)
    except (ValueError, OverflowError):
        values = None
    if values is None or not (integer or np.isfinite(values).all()):
        num = pd.to_numeric(raw, errors="coerce")
        num = num.to_numpy(dtype="float64", na_value=np.nan)
        bad = ~np.isfinite(num)
        if integer:
            bad |= np.mod(np.nan_to_num(num), 1) != 0
        rule = "integers" if integer else "finite numbers"
        _reject(bad, raw, lines, path, column, rule)
        values = num.astype(dtype)
    return pd.Series(values, index=frame.index, name=column)


def _text(frame, column) -> pd.Series:
    return frame[column].astype("str")


def _check_unique(ids: pd.Series, lines, path: Path, column: str) -> None:
    _reject(ids.duplicated(), ids.astype("str"), lines, path, column, "unique ids")


def _interactions(path, lines, frame) -> pd.DataFrame:
    return pd.DataFrame({
        "user_id": _number(frame, lines, path, "user_id", integer=True),
        "item_id": _number(frame, lines, path, "item_id", integer=True),
        "rating": _number(frame, lines, path, "rating", integer=False),
        "timestamp": _number(frame, lines, path, "timestamp", integer=True),
    })


_COLS_RATINGS = ("user_id", "item_id", "rating", "timestamp")
_MONTHS = {m: i for i, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}


def _release_dates(raw: pd.Series, lines, path: Path) -> pd.Series:
    """Parse ``01-Jan-1995`` without depending on the locale; empty -> NaT."""
    text = raw.str.strip()
    parts = text.str.extract(r"^(\d{1,2})-([A-Za-z]{3})-(\d{4})$")
    ymd = pd.DataFrame({"year": pd.to_numeric(parts[2]),
                        "month": parts[1].str.lower().map(_MONTHS),
                        "day": pd.to_numeric(parts[0])})
    dates = pd.to_datetime(ymd, errors="coerce")
    _reject((text != "") & dates.isna(), raw, lines, path, "release_date",
            "dates like 01-Jan-1995 or nothing")
    return dates


def _load_100k(folder: Path) -> MovieLens:
    path = folder / "u.data"
    frame, lines = _read_rows(path, _COLS_RATINGS, delimiter="\t", quoting=csv.QUOTE_NONE)
    interactions = _interactions(path, lines, frame)

    path = folder / "u.user"
    cols = ("user_id", "age", "gender", "occupation", "zip_code")
    frame, lines = _read_rows(path, cols, delimiter="|", quoting=csv.QUOTE_NONE)
    users = pd.DataFrame({
        "user_id": _number(frame, lines, path, "user_id", integer=True),
        "age": _number(frame, lines, path, "age", integer=True),
        "gender": _text(frame, "gender"),
        "occupation": _text(frame, "occupation"),
        "zip_code": _text(frame, "zip_code"),
    })
    _check_unique(users["user_id"], lines, path, "user_id")

    path = folder / "u.genre"
    frame, lines = _read_rows(path, ("genre", "index"), delimiter="|",
                              encoding="latin-1", quoting=csv.QUOTE_NONE)
    order = _number(frame, lines, path, "index", integer=True)
    genre_names = frame["genre"].to_numpy(dtype=object)[np.argsort(order.to_numpy())]

    path = folder / "u.item"
    flag_cols = tuple(f"g{i}" for i in range(len(genre_names)))
    cols = ("item_id", "title", "release_date", "video_release_date", "imdb_url")
    frame, lines = _read_rows(path, cols + flag_cols, delimiter="|",
                              encoding="latin-1", quoting=csv.QUOTE_NONE)
    flags = frame[list(flag_cols)]
    for col in flag_cols:
        _reject(~flags[col].isin(["0", "1"]), flags[col], lines, path,
                f"genre flag {col[1:]}", "0 or 1")
    chosen = flags.to_numpy() == "1"
    genres = ["|".join(genre_names[row]) for row in chosen]
    dates = _release_dates(_text(frame, "release_date"), lines, path)
    items = pd.DataFrame({
        "item_id": _number(frame, lines, path, "item_id", integer=True),
        "title": _text(frame, "title"),
        "year": dates.dt.year.astype("Int64"),
        "genres": pd.Series(genres, dtype="str"),
        "release_date": dates,
        "imdb_url": _text(frame, "imdb_url"),
    })
    _check_unique(items["item_id"], lines, path, "item_id")
    return MovieLens("100k", interactions, users, items, None)


def _load_latest_small(folder: Path) -> MovieLens:
    path = folder / "ratings.csv"
    frame, lines = _read_rows(path, _COLS_RATINGS, delimiter=",",
                              header=("userId", "movieId", "rating", "timestamp"))
    interactions = _interactions(path, lines, frame)
    ids = np.unique(interactions["user_id"].to_numpy())
    users = pd.DataFrame({"user_id": pd.Series(ids, dtype="int64")})

    path = folder / "movies.csv"
    frame, lines = _read_rows(path, ("item_id", "title", "genres"), delimiter=",",
                              header=("movieId", "title", "genres"))
    # The year closes the title: "(1995)", or a span such as "(1975-1979)" or "(2007-)".
    titles, genres = _text(frame, "title"), _text(frame, "genres")
    year = titles.str.extract(r"\((\d{4})(?:-\d{0,4})?\)\s*$")[0]
    items = pd.DataFrame({
        "item_id": _number(frame, lines, path, "item_id", integer=True),
        "title": titles,
        "year": pd.to_numeric(year).astype("Int64"),
        "genres": genres.where(genres != "(no genres listed)", ""),
    })
    _check_unique(items["item_id"], lines, path, "item_id")

    path = folder / "tags.csv"
    frame, lines = _read_rows(path, ("user_id", "item_id", "tag", "timestamp"),
                              delimiter=",",
                              header=("userId", "movieId", "tag", "timestamp"))
    tags = pd.DataFrame({
        "user_id": _number(frame, lines, path, "user_id", integer=True),
        "item_id": _number(frame, lines, path, "item_id", integer=True),
        "tag": _text(frame, "tag"),
        "timestamp": _number(frame, lines, path, "timestamp", integer=True),
    })
    return MovieLens("latest-small", interactions, users, items, tags)
