"""Scoring on a Dask LocalCluster (loopback) gives the single-process output and rejects."""

import csv
import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from hybrid_rec import HybridRecommender  # noqa: E402
from hybrid_rec.batch import score_files  # noqa: E402
from hybrid_rec.blocks import dataset_files, plan_blocks, read_block, reread  # noqa: E402
from hybrid_rec.cli import EXIT_PARTIAL, main  # noqa: E402
from hybrid_rec.distributed import score_dask  # noqa: E402
from hybrid_rec.shipping import model_loads  # noqa: E402
from hybrid_rec.exceptions import InputDataError  # noqa: E402

HEADER = ["user_id", "age", "gender", "occupation", "zip_code", "note"]
BAD_USERS = [
    ["b1", "abc", "F", "other", "94043", "x"],          # age not a number
    ["", "30", "F", "other", "94043", "x"],             # blank id
    ["u1", "40", "M", "writer", "10001", "x"],          # repeats the first user
    ["b2", "999", "M", "writer", "10001", "x"],         # age out of range
    ["b3", "33", "M"],                                  # too few fields
    ["b4", "33", "M", "astronaut", "10001", "a, \"quoted\"\nnote"],  # fine: unseen job
]


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def write_csv(path: Path, header, rows, newline="\n", bom: bool = False) -> Path:
    buffer = io.StringIO("\ufeff" if bom else "")
    buffer.seek(0, io.SEEK_END)
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    return path


@pytest.fixture(scope="module")
def inputs(ml100k, tmp_path_factory):
    """New users from MovieLens metadata, with bad rows, quoted line breaks and ratings."""
    folder = tmp_path_factory.mktemp("inputs")
    users = ml100k.users.head(60)
    rows = []
    for n, u in enumerate(users.itertuples()):
        note = f"line one\nline {n}, \"two\"" if n % 4 == 0 else "plain"
        rows.append([f"u{u.user_id}", u.age, u.gender, u.occupation, u.zip_code, note])
        if n % 10 == 5:
            rows.append(BAD_USERS[(n // 10) % len(BAD_USERS)])
    rows.extend(BAD_USERS)
    first = ml100k.interactions.sort_values(["user_id", "timestamp"]).groupby("user_id").head(4)
    ratings = [[f"u{r.user_id}", r.item_id, r.rating] for r in first.itertuples()
               if r.user_id in set(users.user_id)]
    ratings += [["u1", 999999, 5], ["u2", 50, 9], ["zz", 50, 5], ["b1", 50, 5],
                ["u3", 1, "nan"], ["u4", 7, ""]]
    return (write_csv(folder / "users.csv", HEADER, rows),
            write_csv(folder / "ratings.csv", ["user_id", "item_id", "rating"], ratings))


def single_process(model_file, users, ratings, tmp_path):
    model = HybridRecommender.load(model_file)
    out = tmp_path / "single.csv"
    report = score_files(model, users, out, ratings=ratings, k=5)
    return report, pd.read_csv(out), (tmp_path / "single.rejects.csv").read_text()


def assert_same_lists(got: pd.DataFrame, want: pd.DataFrame, tol: float = 2e-5) -> None:
    """Same users, ranks, items and titles; scores within ``tol``.

    Two items whose scores tie within ``tol`` may trade places (float32 sums
    in another order), and only those.
    """
    assert got[["user_id", "rank"]].equals(want[["user_id", "rank"]])
    np.testing.assert_allclose(got["score"], want["score"], atol=tol, rtol=0)
    moved = got["item_id"].to_numpy() != want["item_id"].to_numpy()
    for uid in want.loc[moved, "user_id"].unique():
        rows = moved & (want["user_id"] == uid).to_numpy()
        assert sorted(got.loc[rows, "item_id"]) == sorted(want.loc[rows, "item_id"])
        assert np.ptp(want.loc[rows, "score"]) <= tol
    assert (got["title"].to_numpy()[~moved] == want["title"].to_numpy()[~moved]).all()


# First in the file: it runs before the module's threaded cluster starts.
def test_cli_starts_a_local_cluster_of_processes(model_file_100k, inputs, tmp_path, capsys):
    users, ratings = inputs
    local = tmp_path / "in.csv"
    shutil.copy(users, local)
    out = tmp_path / "parts"
    code = main(["--no-progress", "score", "--engine", "dask", "--workers", "1",
                 "--model", str(model_file_100k), "--users", str(local), "--out", str(out),
                 "--partitions", "2", "--blocksize", "2KB"])
    assert code == EXIT_PARTIAL
    assert sorted(p.name for p in out.iterdir()) == ["part-00000.csv", "part-00001.csv"]
    assert "started a local Dask cluster: 1 worker(s)" in capsys.readouterr().err


def test_one_file_equals_the_single_process_output(model_file_100k, inputs, client, tmp_path):
    users, ratings = inputs
    want_report, want, want_rejects = single_process(model_file_100k, users, ratings, tmp_path)
    out = tmp_path / "dask.csv"
    before = client.run(model_loads)
    # Small blocks: some boundaries fall inside quoted fields that hold line breaks.
    report = score_dask(model_file_100k, users, out, ratings=ratings, k=5, scheduler=client,
                        partitions=4, blocksize=700, single_file=True)
    assert_same_lists(pd.read_csv(out), want)
    assert (tmp_path / "dask.rejects.csv").read_text() == want_rejects
    assert report.summary() == want_report.summary()
    assert report.users_read == report.users_scored + report.users_rejected
    assert report.users_rejected == 11 and report.ratings_rejected == 6
    # The model is built from its bytes once per worker process, not once per partition.
    assert all(client.run(model_loads)[w] - before[w] == 1 for w in before)
    assert not list(tmp_path.glob(".dask.csv.*"))


def test_partitioned_output_holds_each_user_once(model_file_100k, inputs, client, tmp_path):
    users, ratings = inputs
    _, want, want_rejects = single_process(model_file_100k, users, ratings, tmp_path)
    out = tmp_path / "parts"
    out.mkdir()
    (out / "stale.csv").write_text("old")
    model = HybridRecommender.load(model_file_100k)  # a model object, not its file
    score_dask(model, users, out, ratings=ratings, k=5, scheduler=client, partitions=3,
               blocksize=None)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["part-00000.csv", "part-00001.csv", "part-00002.csv"]
    parts = [pd.read_csv(out / n) for n in names]
    seen = [set(p.user_id) for p in parts]
    assert sum(len(s) for s in seen) == len(set().union(*seen)) == want.user_id.nunique()
    order = {u: n for n, u in enumerate(want.user_id.unique())}
    got = pd.concat(parts).sort_values("user_id", key=lambda s: s.map(order), kind="stable")
    assert_same_lists(got.reset_index(drop=True), want)
    assert (tmp_path / "parts.rejects.csv").read_text() == want_rejects
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".parts.")]


def test_quoted_line_breaks_across_every_boundary(model_file_100k, client, tmp_path):
    rows = [["q1", "24", "M", "technician", "85711", "a\nb\nc"],
            ["q2", "abc", "F", "other", "94043", "x"],
            ["q3", "53", "F", "other", "94043", "one,\r\ntwo\n\nthree"],
            ["q3", "30", "M", "writer", "10001", "\n"],
            ["q4", "999", "M", "writer", "10001", "y"]]
    users = write_csv(tmp_path / "users.csv", HEADER, rows, newline="\r\n", bom=True)
    _, want, want_rejects = single_process(model_file_100k, users, None, tmp_path)
    out = tmp_path / "d.csv"
    for blocksize in (5, 64):
        score_dask(model_file_100k, users, out, k=5, scheduler=client, partitions=2,
                   blocksize=blocksize, single_file=True)
        assert_same_lists(pd.read_csv(out), want)
        assert (tmp_path / "d.rejects.csv").read_text() == want_rejects


def test_blocks_number_lines_like_the_csv_module(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"user_id,x\r\na,1\r\n\r\nb,\"2\r\n2\"\rc,3\nd,4")
    blocks = plan_blocks([path], "csv", 4)
    lines, offset, expected = [], 0, 0
    for block in blocks:
        parsed = read_block(block, ["user_id", "x"], ["user_id"], "user_id", 2)
        if parsed.start != expected:
            if expected >= parsed.stop:
                continue
            parsed = read_block(reread(block, expected), ["user_id", "x"], ["user_id"],
                                "user_id", 2)
        lines += list(parsed.frame["_line"] + offset)
        offset, expected = offset + parsed.n_lines, parsed.end
    reader = csv.reader(io.StringIO(path.read_bytes().decode(), newline=""))
    want, at = [], 1
    for fields in reader:
        if fields and at > 1:
            want.append(at)
        at = reader.line_num + 1
    assert lines == want == [2, 4, 6, 7]


def test_parquet_folder_and_csv_glob(model_file_100k, inputs, client, tmp_path):
    users, ratings = inputs
    frame = pd.read_csv(users, dtype=str, keep_default_na=False)
    clean = frame[frame.user_id.str.startswith("u")].drop_duplicates("user_id")
    clean = clean.assign(age=clean.age.astype("int64"))
    folder = tmp_path / "users"
    folder.mkdir()
    clean.iloc[:25].to_parquet(folder / "a.parquet", row_group_size=10)
    bad = clean.iloc[25:].copy()
    bad.loc[bad.index[2], "age"] = 999
    bad = pd.concat([bad, clean.iloc[:1]])
    bad.to_parquet(folder / "b.parquet", row_group_size=7)
    (folder / "_SUCCESS").write_text("")
    rates = pd.read_csv(ratings, dtype=str, keep_default_na=False)
    (tmp_path / "r").mkdir()
    rates.iloc[:100].to_csv(tmp_path / "r" / "r1.csv", index=False)
    rates.iloc[100:].to_csv(tmp_path / "r" / "r2.csv", index=False)
    out = tmp_path / "out.csv"
    report = score_dask(model_file_100k, folder, out, ratings=str(tmp_path / "r" / "r*.csv"),
                        k=5, scheduler=client, partitions=2, single_file=True)
    recs = pd.read_csv(out)
    expected = list(clean.user_id.drop(bad.index[2]))
    assert list(recs.user_id.unique()) == expected
    rejects = pd.read_csv(tmp_path / "out.rejects.csv", dtype=str)
    first = rejects.iloc[0]
    assert (Path(first.file).name, first.line, first.column, first.value) == (
        "b.parquet", "3", "age", "999")
    assert "outside the valid range" in first.reason
    again = rejects.iloc[1]
    assert again.line == str(len(bad)) and again.reason == (
        f"user id already given on line 1 of {folder / 'a.parquet'}")
    assert report.users_read == len(clean) + 1 == report.users_scored + report.users_rejected


def test_errors_name_the_file_and_line(model_file_100k, client, tmp_path):
    lines = [b"user_id,age,gender,occupation,zip_code"] + [
        b"u%d,30,M,other,10001" % i for i in range(40)]
    lines[31] = b"u30,30,M,\xe9crivain,10001"
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(InputDataError, match=r"latin1.csv: line 32: not valid UTF-8"):
        score_dask(model_file_100k, bad, tmp_path / "o.csv", scheduler=client, blocksize=100,
                   single_file=True)
    open_quote = tmp_path / "quote.csv"
    open_quote.write_text("user_id,age,gender,occupation,zip_code\na,1,M,x,1\nb,\"2,M,x,1\n")
    with pytest.raises(InputDataError, match=r"quote.csv: line 3: malformed CSV"):
        score_dask(model_file_100k, open_quote, tmp_path / "o.csv", scheduler=client,
                   blocksize=20, single_file=True)
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("user_id,age,gender,zip_code\nx,20,M,10001\n")
    with pytest.raises(InputDataError, match="no column 'occupation'"):
        score_dask(model_file_100k, nocol, tmp_path / "o.csv", scheduler=client)
    with pytest.raises(InputDataError, match="no users file matches"):
        dataset_files(tmp_path / "none-*.csv", "users")
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "o.rejects.csv").exists()


def test_cli_on_a_given_scheduler(model_file_100k, inputs, client, tmp_path, capsys):
    users, ratings = inputs
    out = tmp_path / "recs.csv"
    code = main(["--no-progress", "score", "--engine", "dask", "--scheduler",
                 client.scheduler.address, "--model", str(model_file_100k), "--users",
                 str(users), "--ratings", str(ratings), "--out", str(out), "--single-file",
                 "--blocksize", "1KB", "--partitions", "2"])
    assert code == EXIT_PARTIAL
    err = capsys.readouterr().err
    assert "users read: 72, scored: 61, rejected: 11" in err
    assert pd.read_csv(out).user_id.nunique() == 61


def test_dask_options_need_the_dask_engine(model_file_100k, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["score", "--model", str(model_file_100k), "--users", "u.csv", "--out",
              str(tmp_path / "r.csv"), "--scheduler", "tcp://127.0.0.1:8786"])
    assert exc.value.code == 2


def rewrite(path: Path, dest: Path, delimiter: str = ",", encoding: str = "utf-8",
            change=None) -> Path:
    """``path``'s rows written again with another delimiter or encoding (and ``change``)."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    if change is not None:
        rows = [rows[0]] + [change(r) for r in rows[1:]]
    with open(dest, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return dest


def test_delimiters_are_detected_from_each_header(model_file_100k, inputs, client, tmp_path,
                                                  caplog):
    users, ratings = inputs
    users = rewrite(users, tmp_path / "users.csv", ";")
    ratings = rewrite(ratings, tmp_path / "ratings.csv", "\t")
    _, want, want_rejects = single_process(model_file_100k, users, ratings, tmp_path)
    out = tmp_path / "dask.csv"
    with caplog.at_level("INFO", logger="hybrid_rec.csvformat"):
        score_dask(model_file_100k, users, out, ratings=ratings, k=5, scheduler=client,
                   partitions=3, blocksize=600, single_file=True)
    assert_same_lists(pd.read_csv(out), want)
    assert (tmp_path / "dask.rejects.csv").read_text() == want_rejects
    told = [r.getMessage() for r in caplog.records if r.name == "hybrid_rec.csvformat"]
    assert told == ["users.csv: delimiter ';' (detected from the header), encoding utf-8 "
                    "(default)", "ratings.csv: delimiter tab (detected from the header), "
                    "encoding utf-8 (default)"]


def accented(row: list[str]) -> list[str]:
    """Non-ASCII text in the id, the occupation (an unseen one) and the note."""
    if len(row) < 6 or not row[0].startswith("u"):
        return row
    n = int(row[0][1:])
    if n % 3 == 0:
        row = [f"ü{n}", row[1], row[2], "écrivain", row[4], f"café «{n}»\nnaïve"]
    return row


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_encoding_is_given_on_the_command_line(model_file_100k, inputs, client, tmp_path,
                                               capsys, encoding):
    users, ratings = inputs
    users = rewrite(users, tmp_path / "users.csv", encoding=encoding, change=accented)
    ratings = rewrite(ratings, tmp_path / "ratings.csv", encoding=encoding,
                      change=lambda r: [f"ü{r[0][1:]}" if r[0][1:].isdigit() and
                                        int(r[0][1:]) % 3 == 0 else r[0]] + r[1:])
    model = HybridRecommender.load(model_file_100k)
    want_out = tmp_path / "single.csv"
    want_report = score_files(model, users, want_out, ratings=ratings, k=5, encoding=encoding)
    want = pd.read_csv(want_out)
    assert want.user_id.str.startswith("ü").sum() > 10
    out = tmp_path / "dask.csv"
    code = main(["--no-progress", "score", "--engine", "dask", "--scheduler",
                 client.scheduler.address, "--model", str(model_file_100k), "--users",
                 str(users), "--ratings", str(ratings), "--out", str(out), "--single-file",
                 "--k", "5", "--encoding", encoding, "--blocksize", "500", "--partitions", "3"])
    assert code == EXIT_PARTIAL
    assert want_report.summary() in capsys.readouterr().err
    assert_same_lists(pd.read_csv(out), want)
    assert ((tmp_path / "dask.rejects.csv").read_text(encoding="utf-8") ==
            (tmp_path / "single.rejects.csv").read_text(encoding="utf-8"))
    if encoding == "latin-1":  # read as UTF-8, both engines stop with the same message
        with pytest.raises(InputDataError) as single:
            score_files(model, users, tmp_path / "x.csv", k=5)
        with pytest.raises(InputDataError) as dask:
            score_dask(model, users, tmp_path / "y.csv", k=5, scheduler=client,
                       blocksize=500, single_file=True)
        assert str(dask.value) == str(single.value)
        assert "line 5: not valid UTF-8" in str(single.value)


def test_utf16_files_are_read_whole_and_latin1_files_in_blocks(tmp_path):
    from hybrid_rec.csvformat import detect

    for encoding, n_blocks in (("utf-16", 1), ("latin-1", 5), ("utf-8", 5)):
        path = tmp_path / f"{encoding}.csv"
        path.write_text("user_id,x\n" + "é,1\n" * 200, encoding=encoding)
        blocks = plan_blocks([path], "csv", path.stat().st_size // 5 + 1,
                             [detect(path, encoding=encoding)])
        assert len(blocks) == n_blocks


def test_explanations_equal_the_single_process_ones(model_file_100k, inputs, client, tmp_path):
    users, ratings = inputs
    model = HybridRecommender.load(model_file_100k)
    score_files(model, users, tmp_path / "single.csv", ratings=ratings, k=5, explain=2)
    want = pd.read_csv(tmp_path / "single.csv", keep_default_na=False)
    assert list(want.columns) == ["user_id", "rank", "item_id", "score", "title",
                                  "explanation"]
    assert (want.explanation != "").mean() > 0.9
    out = tmp_path / "dask.csv"
    code = main(["--no-progress", "score", "--engine", "dask", "--scheduler",
                 client.scheduler.address, "--model", str(model_file_100k), "--users",
                 str(users), "--ratings", str(ratings), "--out", str(out), "--single-file",
                 "--k", "5", "--explain", "2", "--blocksize", "1KB", "--partitions", "3"])
    assert code == EXIT_PARTIAL
    parts = tmp_path / "parts"
    score_dask(model, users, parts, ratings=ratings, k=5, explain=2, scheduler=client,
               partitions=2)
    frames = [pd.read_csv(p, keep_default_na=False) for p in sorted(parts.iterdir())]
    order = {u: n for n, u in enumerate(want.user_id.unique())}
    merged = pd.concat(frames).sort_values("user_id", key=lambda s: s.map(order),
                                           kind="stable").reset_index(drop=True)
    for got in (pd.read_csv(out, keep_default_na=False), merged):
        assert list(got.columns) == list(want.columns)
        assert_same_lists(got, want)
        same = got.item_id.to_numpy() == want.item_id.to_numpy()
        labels = [f.explanation.str.replace(r"\([^)]*\)", "", regex=True)[same]
                  for f in (got, want)]
        assert labels[0].equals(labels[1])
        numbers = [f.explanation[same].str.findall(r"\(([-+0-9.]+)\)").explode().astype(float)
                   for f in (got, want)]
        np.testing.assert_allclose(numbers[0], numbers[1], atol=2e-3, rtol=0)
