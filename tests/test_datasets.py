"""Tests for hybrid_rec.datasets: real MovieLens files, downloads, bad input.

Downloads are served from a loopback HTTP server; nothing here reaches the
internet.
"""

import http.server
import io
import os
import socket
import threading
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from hybrid_rec.datasets import (
    DOWNLOAD_BASE_URL,
    MovieLens,
    load_movielens,
    resolve_movielens_dir,
)
from hybrid_rec.exceptions import DatasetNotFoundError, InputDataError

ENV_VARS = ("HYBRID_REC_DATA", "HYBRID_REC_CACHE", "HYBRID_REC_DOWNLOAD_URL",
            "XDG_CACHE_HOME")


def _shared_data() -> Path:
    env = os.environ.get("HYBRID_REC_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


SHARED_DATA = _shared_data()


def _closed_port_url() -> str:
    """A loopback URL nobody listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/movielens"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No real cache, no real data folder, and downloads aimed at a dead port."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HYBRID_REC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HYBRID_REC_DOWNLOAD_URL", _closed_port_url())
    return tmp_path / "cache"


def _need_shared(folder: str) -> Path:
    if not (SHARED_DATA / folder).is_dir():
        pytest.skip(f"real MovieLens data not found at {SHARED_DATA / folder}; set "
                    f"HYBRID_REC_DATA to the folder holding {folder}/")
    return SHARED_DATA


def _load_shared(name: str, folder: str) -> MovieLens:
    root = _need_shared(folder)
    with pytest.MonkeyPatch.context() as mp:
        for var in ENV_VARS:
            mp.delenv(var, raising=False)
        mp.setenv("HYBRID_REC_DATA", str(root))
        mp.setenv("HYBRID_REC_DOWNLOAD_URL", _closed_port_url())
        return load_movielens(name, download=False)


@pytest.fixture(scope="module")
def ml100k() -> MovieLens:
    return _load_shared("100k", "ml-100k")


@pytest.fixture(scope="module")
def ml_small() -> MovieLens:
    return _load_shared("latest-small", "ml-latest-small")


# --- Real data ---------------------------------------------------------------


def _assert_interactions(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert [str(t) for t in frame.dtypes] == ["int64", "int64", "float64", "int64"]


def test_100k_counts_and_dtypes(ml100k):
    assert ml100k.name == "100k"
    assert len(ml100k.interactions) == 100_000
    assert ml100k.interactions["user_id"].nunique() == 943
    assert len(ml100k.users) == 943
    assert len(ml100k.items) == 1682
    assert ml100k.item_tags is None
    _assert_interactions(ml100k.interactions)

    users = ml100k.users
    assert list(users.columns) == ["user_id", "age", "gender", "occupation", "zip_code"]
    assert users["user_id"].dtype == "int64" and users["age"].dtype == "int64"
    assert pd.api.types.is_string_dtype(users["zip_code"])
    assert "T8H1N" in set(users["zip_code"])  # a Canadian code survives as text
    assert "05201" in set(users["zip_code"])  # leading zero kept

    items = ml100k.items
    assert list(items.columns) == ["item_id", "title", "year", "genres",
                                   "release_date", "imdb_url"]
    assert items["year"].dtype == "Int64"
    assert pd.api.types.is_datetime64_any_dtype(items["release_date"])


def test_100k_titles_genres_and_years(ml100k):
    items = ml100k.items.set_index("item_id")
    assert items.loc[1, "title"] == "Toy Story (1995)"
    assert items.loc[1, "genres"] == "Animation|Children's|Comedy"
    assert items.loc[1, "year"] == 1995
    assert items.loc[1, "release_date"] == pd.Timestamp("1995-01-01")
    # u.item is Latin-1: these must not come out as mojibake or U+FFFD.
    assert items.loc[1633, "title"] == "Á köldum klaka (Cold Fever) (1994)"
    assert items.loc[543, "title"] == "Misérables, Les (1995)"
    # Item 267 has no date at all.
    assert pd.isna(items.loc[267, "year"]) and pd.isna(items.loc[267, "release_date"])


def test_latest_small_counts_and_dtypes(ml_small):
    assert ml_small.name == "latest-small"
    assert len(ml_small.interactions) == 100_004
    assert len(ml_small.users) == 671
    assert list(ml_small.users.columns) == ["user_id"]
    assert ml_small.users["user_id"].is_monotonic_increasing
    assert len(ml_small.items) == 9125
    assert len(ml_small.item_tags) == 1296
    _assert_interactions(ml_small.interactions)
    assert list(ml_small.items.columns) == ["item_id", "title", "year", "genres"]
    assert ml_small.items["year"].dtype == "Int64"
    tags = ml_small.item_tags
    assert list(tags.columns) == ["user_id", "item_id", "tag", "timestamp"]
    assert [str(t) for t in tags.dtypes[["user_id", "item_id", "timestamp"]]] == [
        "int64", "int64", "int64"]


def test_latest_small_titles_genres_and_years(ml_small):
    items = ml_small.items.set_index("item_id")
    assert items.loc[1, "year"] == 1995
    assert items.loc[83829, "genres"] == ""  # "(no genres listed)"
    assert (ml_small.items["genres"] == "(no genres listed)").sum() == 0
    assert items.loc[29, "title"] == (
        "City of Lost Children, The (Cité des enfants perdus, La) (1995)")
    assert items.loc[89045, "year"] == 1986  # "Rocky VI (1986) " has a trailing space
    no_year = items.loc[items["year"].isna(), "title"]
    assert "Hyena Road" in set(no_year)


def test_name_aliases_and_unknown_name(tmp_path):
    root = _need_shared("ml-100k")
    assert resolve_movielens_dir("ml-100k", root) == root / "ml-100k"
    assert resolve_movielens_dir("100k", root / "ml-100k") == root / "ml-100k"
    with pytest.raises(ValueError, match=r"'100k'.*'ml-latest-small'.*got '1m'"):
        load_movielens("1m", root)


# --- Small hand-made releases ------------------------------------------------

GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy",
          "Crime", "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror",
          "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]


def _flags(*names):
    return "|".join("1" if g in names else "0" for g in GENRES)


MINI_100K = {
    "u.data": "1\t1\t5\t881250949\n2\t1\t3\t891717742\n2\t2\t4\t878887116\n"
              "3\t3\t1\t880606923\n",
    "u.user": "1|24|M|technician|85711\n2|53|F|other|T8H1N\n3|23|M|writer|05201\n",
    "u.genre": "".join(f"{g}|{i}\n" for i, g in enumerate(GENRES)) + "\n",
    "u.item": (f"1|Toy Story (1995)|01-Jan-1995||http://x/1|"
               f"{_flags('Animation', 'Children' + chr(39) + 's', 'Comedy')}\n"
               f"2|Misérables, Les (1995)|27-Jun-1997||http://x/2|{_flags('Drama')}\n"
               f"3|unknown||||{_flags('unknown')}\n"),
}

MINI_SMALL = {
    "ratings.csv": "userId,movieId,rating,timestamp\n2,10,3.5,1260759144\n"
                   "1,20,4.0,1260759179\n",
    "movies.csv": 'movieId,title,genres\n10,"Big, ""Bad"" Wolf, The (1999)",Drama\n'
                  "20,Hyena Road,(no genres listed)\n",
    "tags.csv": 'userId,movieId,tag,timestamp\n1,10,"dark, funny",1138537770\n'
                "2,20,NA,1193435061\n",
}


def _write_release(root: Path, folder: str, files: dict) -> Path:
    (root / folder).mkdir(parents=True)
    for name, text in files.items():
        encoding = "latin-1" if folder == "ml-100k" else "utf-8"
        (root / folder / name).write_bytes(text.encode(encoding))
    return root


def _zip_bytes(files: dict, folder="ml-100k", extra=()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(f"{folder}/{name}", text.encode("latin-1"))
        for name, data in extra:
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def server(monkeypatch):
    """Serve ``server.files[path] = bytes`` on loopback; record request paths."""
    files, requests = {}, []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,),
                              daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/movielens"
    monkeypatch.setenv("HYBRID_REC_DOWNLOAD_URL", url)
    httpd.files, httpd.requests, httpd.url = files, requests, url
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_download_extracts_loads_and_then_uses_the_cache(server, isolated_env, caplog):
    server.files["/movielens/ml-100k.zip"] = _zip_bytes(MINI_100K)
    caplog.set_level("INFO", logger="hybrid_rec.datasets")

    data = load_movielens("100k")
    assert server.requests == ["/movielens/ml-100k.zip"]
    assert sorted(p.name for p in isolated_env.iterdir()) == ["ml-100k"]
    assert server.url in caplog.text and str(isolated_env) in caplog.text
    assert len(data.interactions) == 4
    items = data.items.set_index("item_id")
    assert items.loc[1, "genres"] == "Animation|Children's|Comedy"
    assert items.loc[2, "title"] == "Misérables, Les (1995)"
    assert items.loc[2, "year"] == 1997
    assert items.loc[3, "genres"] == "unknown" and pd.isna(items.loc[3, "year"])
    assert list(data.users["zip_code"]) == ["85711", "T8H1N", "05201"]

    again = load_movielens("ml-100k")
    assert server.requests == ["/movielens/ml-100k.zip"]  # served from the cache
    pd.testing.assert_frame_equal(again.items, data.items)


def test_download_goes_to_xdg_cache_when_no_cache_var(server, tmp_path, monkeypatch):
    monkeypatch.delenv("HYBRID_REC_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    server.files["/movielens/ml-100k.zip"] = _zip_bytes(MINI_100K)
    folder = resolve_movielens_dir("100k")
    assert folder == tmp_path / "xdg" / "hybrid_rec" / "ml-100k"


def test_download_replaces_an_incomplete_cache_folder(server, isolated_env):
    (isolated_env / "ml-100k").mkdir(parents=True)
    (isolated_env / "ml-100k" / "u.data").write_text("leftover")
    server.files["/movielens/ml-100k.zip"] = _zip_bytes(MINI_100K)
    assert len(load_movielens("100k").interactions) == 4
    assert sorted(p.name for p in isolated_env.iterdir()) == ["ml-100k"]


BAD_ZIPS = {
    "not a zip": (b"<html>rate limited</html>", "not a valid zip"),
    "missing file": (_zip_bytes({k: v for k, v in MINI_100K.items() if k != "u.item"}),
                     "lacks ml-100k/u.item"),
    "path traversal": (_zip_bytes(MINI_100K, extra=[("ml-100k/../../evil", "x")]),
                       r"absolute paths or '\.\.'"),
    "absolute path": (_zip_bytes(MINI_100K, extra=[("/etc/evil", "x")]),
                      r"absolute paths"),
}


def _flip_crc(data: bytes) -> bytes:
    """Damage one member's compressed bytes so that its CRC check fails."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo("ml-100k/u.data")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    damaged = bytearray(data)
    damaged[start + 2] ^= 0xFF
    return bytes(damaged)


BAD_ZIPS["crc"] = (_flip_crc(_zip_bytes(MINI_100K)), "corrupt")


@pytest.mark.parametrize("case", list(BAD_ZIPS))
def test_bad_download_leaves_no_dataset_folder(server, isolated_env, case):
    body, message = BAD_ZIPS[case]
    server.files["/movielens/ml-100k.zip"] = body
    with pytest.raises(DatasetNotFoundError, match=message):
        load_movielens("100k")
    assert not (isolated_env / "ml-100k").exists()
    assert list(isolated_env.iterdir()) == []  # no temp file or staging folder left


def test_server_down_lists_every_place(isolated_env, tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRID_REC_DATA", str(tmp_path / "nowhere"))
    url = os.environ["HYBRID_REC_DOWNLOAD_URL"]
    with pytest.raises(DatasetNotFoundError) as info:
        load_movielens("latest-small")
    text = str(info.value)
    assert f"HYBRID_REC_DATA={tmp_path / 'nowhere'}" in text
    assert f"cache {isolated_env}" in text
    assert f"download from {url}/ml-latest-small.zip: failed" in text
    assert "data_dir=" in text and "HYBRID_REC_DATA=/path/holding/ml-latest-small" in text
    assert not (isolated_env / "ml-latest-small").exists()


def test_download_false_does_not_connect(server):
    server.files["/movielens/ml-100k.zip"] = _zip_bytes(MINI_100K)
    with pytest.raises(DatasetNotFoundError, match=r"skipped \(download=False\)"):
        load_movielens("100k", download=False)
    assert server.requests == []


def test_explicit_data_dir_missing_file_is_an_error(server, tmp_path):
    server.files["/movielens/ml-100k.zip"] = _zip_bytes(MINI_100K)
    root = _write_release(tmp_path / "data", "ml-100k", MINI_100K)
    (root / "ml-100k" / "u.item").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"ml-100k lacks u\.item") as info:
        load_movielens("100k", root)
    assert str(root) in str(info.value)
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_movielens("100k", tmp_path / "absent")
    assert server.requests == []  # no silent fall-back to a download


def test_default_url_is_grouplens():
    assert DOWNLOAD_BASE_URL == "https://files.grouplens.org/datasets/movielens"


def test_latest_small_csv_quoting_and_text(tmp_path):
    root = _write_release(tmp_path, "ml-latest-small", MINI_SMALL)
    data = load_movielens("ml-latest-small", root)
    assert list(data.users["user_id"]) == [1, 2]
    items = data.items.set_index("item_id")
    assert items.loc[10, "title"] == 'Big, "Bad" Wolf, The (1999)'
    assert items.loc[10, "year"] == 1999
    assert items.loc[20, "genres"] == "" and pd.isna(items.loc[20, "year"])
    assert list(data.item_tags["tag"]) == ["dark, funny", "NA"]  # "NA" stays text


# --- Malformed files ---------------------------------------------------------


@pytest.mark.parametrize("folder, files, name, text, message", [
    ("ml-100k", MINI_100K, "u.data", "1\t1\t5\t881250949\n2\t1\t3\n",
     r"u\.data, line 2: expected 4 fields.*got 3"),
    ("ml-100k", MINI_100K, "u.data", "1\t1\t5\t881250949\n\n2\t1\t3\t1\t9\n",
     r"u\.data, line 3: expected 4 fields.*got 5"),
    ("ml-100k", MINI_100K, "u.data", "1\t1\t5\t881250949\n2\t1\tgood\t891717742\n",
     r"u\.data: column 'rating' must hold finite numbers.*line 2: 'good'"),
    ("ml-100k", MINI_100K, "u.user", "1|2x|M|technician|85711\n",
     r"u\.user: column 'age' must hold integers.*line 1: '2x'"),
    ("ml-100k", MINI_100K, "u.item", "1|Toy|1995-01-01||u|" + _flags("Drama") + "\n",
     r"u\.item: column 'release_date'.*line 1: '1995-01-01'"),
    ("ml-latest-small", MINI_SMALL, "ratings.csv",
     "userId,movieId,rating,timestamp\n1,10,4.0,1\n1,20,,2\n",
     r"ratings\.csv: column 'rating'.*line 3: ''"),
    ("ml-latest-small", MINI_SMALL, "movies.csv",
     "movieId,title,genres\n10,Big, Bad Wolf (1999),Drama\n",
     r"movies\.csv, line 2: expected 3 fields"),
    ("ml-latest-small", MINI_SMALL, "tags.csv", "user,movie,tag,time\n",
     r"tags\.csv, line 1: expected the header"),
])
def test_malformed_files_name_the_file_and_line(tmp_path, folder, files, name, text,
                                                 message):
    root = _write_release(tmp_path, folder, files)
    (root / folder / name).write_text(text, encoding="utf-8")
    with pytest.raises(InputDataError, match=message):
        load_movielens(folder, root)


def test_non_utf8_csv_names_the_file(tmp_path):
    root = _write_release(tmp_path, "ml-latest-small", MINI_SMALL)
    (root / "ml-latest-small" / "movies.csv").write_bytes(
        b"movieId,title,genres\n10,Mis\xe9rables (1995),Drama\n")
    with pytest.raises(InputDataError, match=r"movies\.csv, line 2: not valid utf-8"):
        load_movielens("latest-small", root)


def test_data_var_without_the_release_falls_back_to_download(server, tmp_path,
                                                              monkeypatch, isolated_env):
    # HYBRID_REC_DATA may hold only some releases; the others come from the cache.
    data_root = _write_release(tmp_path / "d", "ml-latest-small", MINI_SMALL)
    monkeypatch.setenv("HYBRID_REC_DATA", str(data_root))
    server.files["/movielens/ml-100k.zip"] = _zip_bytes(MINI_100K)
    assert resolve_movielens_dir("100k") == isolated_env / "ml-100k"
    assert resolve_movielens_dir("latest-small") == tmp_path / "d" / "ml-latest-small"
    assert "interactions=4 rows" in repr(load_movielens("100k"))
