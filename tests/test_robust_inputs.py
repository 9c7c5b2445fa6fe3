"""Bad and odd input to batch scoring, category by category, through the CLI and the library.

Every case checks the accounting rule: users read = users scored + users
rejected, every input user is in the output or in the rejects file, and
every reject names its file, its 1-based line, its column and its value.
"""

import csv
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from hybrid_rec import HybridRecommender
from hybrid_rec.batch import score_files
from hybrid_rec.cli import EXIT_FAILURE, EXIT_OK, EXIT_PARTIAL, main
from hybrid_rec.exceptions import InputDataError
from hybrid_rec.idmap import IdMap

USER_COLUMNS = ["user_id", "age", "gender", "occupation", "zip_code"]
RATING_COLUMNS = ["user_id", "item_id", "rating"]
BASE_USERS = [
    ["u1", "24", "M", "technician", "85711"],        # line 2
    ['q,"uote', "30", "F", "other", "94043"],        # line 3: quotes and the delimiter
    ["zoé", "41", "F", "tech\nnician", "10001"],     # lines 4-5: a line break in a field
    ["bad", "abc", "M", "writer", "10001"],          # line 6: rejected
    ["u5", "", "", "", ""],                          # line 7: blank cells
]
BASE_RATINGS = [
    ["u1", "50", "5"],
    ["u1", "181", "4"],
    ["zoé", "1", "3"],
    ["nobody", "50", "5"],                           # line 5: rejected
]


@pytest.fixture(scope="module")
def loaded(model_file_100k):
    return HybridRecommender.load(model_file_100k)


def write_csv(path: Path, columns, rows, delimiter=",", encoding="utf-8", newline="\n",
              final_newline=True) -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator=newline)
        writer.writerow(columns)
        writer.writerows(rows)
    if not final_newline:
        data = path.read_bytes()
        path.write_bytes(data[: -len(newline.encode())])
    return path


def reorder(columns, rows, order):
    return [columns[i] for i in order], [[r[i] for i in order] for r in rows]


def with_extra(columns, rows):
    cols = columns[:2] + ["source"] + columns[2:] + ["note"]
    return cols, [r[:2] + ["crm"] + r[2:] + ["x,y"] for r in rows]


def run_score(mode, model_file, model, users, out, ratings=None, capsys=None, **options):
    """Score through the CLI (mode 'cli') or score_files ('library'); the outcome."""
    rejects = out.with_name(f"{out.stem}.rejects.csv")
    if mode == "cli":
        argv = ["--no-progress", "score", "--model", str(model_file), "--users", str(users),
                "--out", str(out)]
        if ratings is not None:
            argv += ["--ratings", str(ratings)]
        for name, value in options.items():
            argv += [f"--{name}", str(value)]
        code = main(argv)
        err = capsys.readouterr().err
        assert "Traceback" not in err
        found = re.search(r"users read: (\d+), scored: (\d+), rejected: (\d+)", err)
        counts = tuple(map(int, found.groups())) if found else None
    else:
        report = score_files(model, users, out, ratings=ratings, **options)
        code = EXIT_PARTIAL if report.partial else EXIT_OK
        err = capsys.readouterr().err if capsys else ""
        counts = (report.users_read, report.users_scored, report.users_rejected)
        assert report.ratings_read == report.ratings_used + report.ratings_rejected
    result = SimpleNamespace(code=code, err=err, counts=counts, recs=None, rejects=None)
    if out.exists():
        result.recs = pd.read_csv(out, dtype=str, keep_default_na=False)
        with open(rejects, newline="", encoding="utf-8") as fh:
            result.rejects = list(csv.DictReader(fh))
    return result


def check_accounting(result, users: Path, user_ids: list[str]):
    """users read = scored + rejected; each user is in the output xor in the rejects."""
    read, scored, rejected = result.counts
    assert read == scored + rejected == len(user_ids)
    assert result.recs["user_id"].nunique() == scored
    from_users = [r for r in result.rejects if Path(r["file"]) == users]
    assert len(from_users) == rejected
    for r in result.rejects:
        assert r["file"] and int(r["line"]) >= 1 and r["reason"]
        if "fields" not in r["reason"] and "no item is left" not in r["reason"]:
            assert r["column"], r
    listed = set(result.recs["user_id"])
    # A repeated id rejects the repeat, not the user given first.
    rejected_ids = {r["user_id"] for r in from_users if "already given" not in r["reason"]}
    assert not listed & rejected_ids
    assert listed | {r["user_id"] for r in from_users} == set(user_ids)


def outcome(rejects):
    return sorted((Path(r["file"]).name, int(r["line"]), r["user_id"], r["column"], r["value"],
                   r["reason"]) for r in rejects)


VARIANTS = {
    "plain": ({}, {}),
    "extra columns": ({"transform": with_extra}, {}),
    "columns in another order": ({"order": [4, 3, 2, 1, 0]}, {}),
    "byte-order mark": ({"encoding": "utf-8-sig"}, {}),
    "windows line endings": ({"newline": "\r\n"}, {}),
    "no final newline": ({"final_newline": False}, {}),
    "semicolon, detected": ({"delimiter": ";"}, {}),
    "pipe, detected": ({"delimiter": "|"}, {}),
    "tab, given": ({"delimiter": "\t"}, {"delimiter": "\t"}),
    "latin-1, given": ({"encoding": "latin-1"}, {"encoding": "latin-1"}),
}


def write_variant(folder: Path, form: dict):
    folder.mkdir()
    kw = {k: v for k, v in form.items() if k not in ("transform", "order")}
    ucols, urows, rcols, rrows = USER_COLUMNS, BASE_USERS, RATING_COLUMNS, BASE_RATINGS
    if "transform" in form:
        ucols, urows = form["transform"](ucols, urows)
    if "order" in form:
        ucols, urows = reorder(ucols, urows, form["order"])
        rcols, rrows = reorder(rcols, rrows, [2, 0, 1])
    return (write_csv(folder / "users.csv", ucols, urows, **kw),
            write_csv(folder / "ratings.csv", rcols, rrows, **kw))


@pytest.mark.parametrize("mode", ["cli", "library"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_equivalent_file_forms_give_the_same_output(model_file_100k, loaded, tmp_path,
                                                    capsys, mode, variant):
    form, options = VARIANTS[variant]
    results = {}
    for name, (f, o) in (("plain", VARIANTS["plain"]), ("variant", (form, options))):
        users, ratings = write_variant(tmp_path / name, f)
        out = tmp_path / name / "recs.csv"
        results[name] = run_score(mode, model_file_100k, loaded, users, out, ratings,
                                  capsys=capsys, k=5, **o)
        check_accounting(results[name], users, [r[0] for r in BASE_USERS])
        results[name].bytes = out.read_bytes()
    got, want = results["variant"], results["plain"]
    assert got.code == want.code == EXIT_PARTIAL
    assert got.bytes == want.bytes
    assert outcome(got.rejects) == outcome(want.rejects)
    assert [(int(r["line"]), r["user_id"]) for r in got.rejects] == [
        (6, "bad"), (5, "nobody")]
    assert "zoé" in set(got.recs.user_id) and 'q,"uote' in set(got.recs.user_id)
    if mode == "cli" and "detected" in variant:
        assert f"users.csv: delimiter '{form['delimiter']}' (detected from the header)" in got.err


def test_latin1_without_an_encoding_names_the_line_and_the_option(model_file_100k, tmp_path,
                                                                   capsys):
    users = write_csv(tmp_path / "users.csv", USER_COLUMNS, BASE_USERS, encoding="latin-1")
    out = tmp_path / "recs.csv"
    result = run_score("cli", model_file_100k, None, users, out, capsys=capsys)
    assert result.code == EXIT_FAILURE
    assert "users.csv: line 4: not valid UTF-8" in result.err
    assert "--encoding latin-1" in result.err
    assert not out.exists()


@pytest.mark.parametrize("extra", [["--encoding", "klingon"], ["--delimiter", '"'],
                                   ["--k", "0"]])
def test_impossible_option_values_are_usage_errors(model_file_100k, tmp_path, extra, capsys):
    users = write_csv(tmp_path / "users.csv", USER_COLUMNS, BASE_USERS)
    with pytest.raises(SystemExit) as exc:
        main(["score", "--model", str(model_file_100k), "--users", str(users), "--out",
              str(tmp_path / "r.csv")] + extra)
    assert exc.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("ratings_text, code, message", [
    ("", EXIT_FAILURE, "ratings.csv: the file is empty"),
    ("user_id,item_id,rating\n", EXIT_PARTIAL, None),
    ("user_id,rating\nu1,5\n", EXIT_FAILURE, "ratings file has no column 'item_id'"),
    ("user_id,item_id,rating\nu1,50\n", EXIT_PARTIAL, None),
])
def test_ratings_file_shapes(model_file_100k, tmp_path, capsys, ratings_text, code, message):
    users = write_csv(tmp_path / "users.csv", USER_COLUMNS, BASE_USERS)
    ratings = tmp_path / "ratings.csv"
    ratings.write_text(ratings_text, encoding="utf-8")
    out = tmp_path / "recs.csv"
    result = run_score("cli", model_file_100k, None, users, out, ratings, capsys=capsys)
    assert result.code == code
    if message:
        assert message in result.err and not out.exists()
    else:
        check_accounting(result, users, [r[0] for r in BASE_USERS])
        rating_rejects = [r for r in result.rejects if r["file"] == str(ratings)]
        assert len(rating_rejects) == ratings_text.count("\n") - 1
        assert all("expected 3 fields, found 2" == r["reason"] for r in rating_rejects)


LONG = "x" * 300_000
LONG_ID = "id-" + "7" * 10_000
# (row, None when the user is scored, else (column, value, reason fragment))
VALUE_CASES = [
    (["ok", "24", "M", "writer", "85711"], None),
    (["nan-age", "NaN", "M", "writer", "85711"], ("age", "NaN", "not a finite number")),
    (["inf-age", "inf", "M", "writer", "85711"], ("age", "inf", "not a finite number")),
    (["neg-age", "-3", "M", "writer", "85711"], ("age", "-3", "outside the valid range")),
    (["old", "999", "M", "writer", "85711"], ("age", "999", "outside the valid range")),
    (["abc-age", "abc", "M", "writer", "85711"], ("age", "abc", "not a number")),
    (["num-gender", "30", "5", "writer", "85711"], None),
    (["nan-text", "30", "F", "NaN", "85711"], None),
    (["unseen", "30", "F", "astronaut", "85711"], None),
    (["blank", "", "", "", ""], None),
    (["long", "30", "F", LONG, "85711"], None),
    ([LONG_ID, "30", "F", "writer", "85711"], None),
    (["ユーザー", "30", "F", "ingénieur", "10001"], None),
    (["", "30", "F", "writer", "85711"], ("user_id", "", "the user id is blank")),
    (["ok", "40", "F", "writer", "85711"], ("user_id", "ok", "already given on line 2")),
    (["7", "40", "F", "writer", "85711"], None),
    (["short", "40", "F"], ("", "", "expected 5 fields, found 3")),
    (["grouped-age", "1_0", "M", "writer", "85711"], ("age", "1_0", "not a number")),
]
RATING_CASES = [
    (["ok", "50", "5"], None),
    (["ok", "50", "4"], None),                         # replaces the line above
    (["ok", "181", "nan"], ("rating", "nan", "not a finite number")),
    (["ok", "181", "inf"], ("rating", "inf", "not a finite number")),
    (["ok", "181", "0"], ("rating", "0", "outside the scale [1, 5]")),
    (["ok", "181", "6"], ("rating", "6", "outside the scale [1, 5]")),
    (["ok", "181", "five"], ("rating", "five", "not a number")),
    (["ok", "181", ""], ("rating", "", "the rating is blank")),
    (["ok", "050", "5"], ("item_id", "050", "did you mean 50?")),
    (["ok", "999999", "5"], ("item_id", "999999", "not in the model's catalogue")),
    (["ok", "7" * 5000, "5"], ("item_id", "7" * 5000, "not in the model's catalogue")),
    (["007", "1", "5"], ("user_id", "007", "not in the users file")),
    (["7", "1", "5"], None),
    (["abc-age", "1", "5"], ("user_id", "abc-age", "rejected on line 7 of the users file")),
    (["ユーザー", "172", "5"], None),
]


@pytest.mark.parametrize("mode", ["cli", "library"])
def test_every_value_category_has_its_outcome(model_file_100k, loaded, tmp_path, capsys,
                                              caplog, mode):
    users = write_csv(tmp_path / "users.csv", USER_COLUMNS, [r for r, _ in VALUE_CASES])
    ratings = write_csv(tmp_path / "ratings.csv", RATING_COLUMNS,
                        [r for r, _ in RATING_CASES])
    out = tmp_path / "recs.csv"
    if mode == "library":  # INFO for this test only: a level left set leaks into others
        caplog.set_level("INFO", logger="hybrid_rec")
    result = run_score(mode, model_file_100k, loaded, users, out, ratings, capsys=capsys, k=4)
    assert result.code == EXIT_PARTIAL
    check_accounting(result, users, [r[0] for r, _ in VALUE_CASES])
    got = {(Path(r["file"]).name, int(r["line"])): r for r in result.rejects}
    expected = {("users.csv", line): case for line, (_, case) in enumerate(VALUE_CASES, 2)}
    expected.update({("ratings.csv", line): case
                     for line, (_, case) in enumerate(RATING_CASES, 2)})
    expected[("ratings.csv", 2)] = ("item_id", "50", "rated again on line 3; the last "
                                                     "rating wins")
    for key, case in expected.items():
        if case is None:
            assert key not in got, got[key]
            continue
        column, value, reason = case
        assert (got[key]["column"], got[key]["value"]) == (column, value), key
        assert reason in got[key]["reason"], (key, got[key]["reason"])
    assert len(got) == sum(c is not None for c in expected.values())
    scored = set(result.recs.user_id)
    assert {"ok", "num-gender", "nan-text", "unseen", "blank", "long", LONG_ID, "ユーザー",
            "7"} == scored
    ok = result.recs[result.recs.user_id == "ok"]
    assert "50" not in set(ok.item_id)
    assert "172" not in set(result.recs.loc[result.recs.user_id == "ユーザー", "item_id"])
    assert out.read_text(encoding="utf-8").count("ユーザー") == 4


def test_unseen_values_are_counted_in_the_log(model_file_100k, tmp_path, capsys):
    users = write_csv(tmp_path / "users.csv", USER_COLUMNS, [r for r, _ in VALUE_CASES])
    result = run_score("cli", model_file_100k, None, users, tmp_path / "recs.csv",
                       capsys=capsys)
    assert re.search(r"new users: \d+ value\(s\) of 'occupation' never seen in training",
                     result.err)


def test_k_larger_than_the_catalogue_lists_every_unrated_item(model_file_100k, loaded,
                                                              tmp_path, capsys):
    users = write_csv(tmp_path / "users.csv", USER_COLUMNS, BASE_USERS[:2])
    ratings = write_csv(tmp_path / "ratings.csv", RATING_COLUMNS, BASE_RATINGS[:2])
    result = run_score("cli", model_file_100k, loaded, users, tmp_path / "recs.csv", ratings,
                       capsys=capsys, k=5000)
    assert result.code == EXIT_OK
    assert "k = 5000 is more than the 1682 items" in result.err
    sizes = result.recs.groupby("user_id").size().to_dict()
    assert sizes == {"u1": 1680, 'q,"uote': 1682}
    assert result.recs.groupby("user_id")["rank"].apply(
        lambda r: r.astype(int).tolist() == list(range(1, len(r) + 1))).all()


@pytest.mark.parametrize("mode", ["cli", "library"])
def test_a_user_who_rated_every_item_is_a_reject(model_file_100k, loaded, tmp_path, capsys,
                                                 mode):
    users = write_csv(tmp_path / "users.csv", USER_COLUMNS, BASE_USERS[:2])
    every = [["u1", str(i), "4"] for i in loaded.item_ids]
    ratings = write_csv(tmp_path / "ratings.csv", RATING_COLUMNS, every)
    result = run_score(mode, model_file_100k, loaded, users, tmp_path / "recs.csv", ratings,
                       capsys=capsys, k=10)
    assert result.code == EXIT_PARTIAL
    check_accounting(result, users, ["u1", 'q,"uote'])
    assert result.counts == (2, 1, 1)
    (reject,) = result.rejects
    assert (reject["user_id"], int(reject["line"])) == ("u1", 2)
    assert "no item is left to recommend" in reject["reason"]


def test_out_into_a_missing_folder_is_an_error_and_creates_nothing(model_file_100k, tmp_path,
                                                                    capsys):
    users = write_csv(tmp_path / "users.csv", USER_COLUMNS, BASE_USERS)
    for option in ("--out", "--rejects"):
        paths = {"--out": tmp_path / "recs.csv", "--rejects": tmp_path / "r.csv"}
        paths[option] = tmp_path / "absent" / "x.csv"
        code = main(["score", "--model", str(model_file_100k), "--users", str(users),
                     "--out", str(paths["--out"]), "--rejects", str(paths["--rejects"])])
        err = capsys.readouterr().err
        assert code == EXIT_FAILURE
        assert f"{option} {paths[option]}: the folder" in err and "does not exist" in err
        assert not (tmp_path / "absent").exists() and not (tmp_path / "recs.csv").exists()


@pytest.mark.parametrize("ids, expected", [
    (["7", 7, 7.0, np.int64(2)], [3, 3, 3, 1]),
    (["007", "7.0", "+7", " 7", "", "x", True, None, "7" * 5000, "99999999999999999999"],
     [-1] * 10),
])
def test_int_ids_match_numbers_and_plain_integer_text_only(ids, expected):
    assert IdMap([1, 2, 3, 7]).to_index(ids, missing="ignore").tolist() == expected


def test_text_ids_match_the_text_of_numbers():
    assert IdMap(["007", "7", "a"]).to_index([7, "007", 7.5], missing="ignore").tolist() == [
        1, 0, -1]


def test_library_ids_match_as_plain_integers(loaded):
    users = pd.DataFrame({"user_id": ["n"], "age": [30], "gender": ["F"],
                          "occupation": ["writer"], "zip_code": ["10001"]})
    plain = pd.DataFrame({"user_id": ["n"], "item_id": ["50"], "rating": [5]})
    padded = pd.DataFrame({"user_id": ["n"], "item_id": ["050"], "rating": [5]})
    recs = loaded.recommend_new(users, plain, k=1682)
    assert 50 not in set(recs.item_id) and len(recs) == 1681
    with pytest.warns(UserWarning, match="1 rating"):
        recs = loaded.recommend_new(users, padded, k=1682)
    assert len(recs) == 1682


def test_duplicate_new_ratings_are_logged_as_new_ratings(loaded, caplog):
    users = pd.DataFrame({"user_id": ["n"], "age": [30], "gender": ["F"],
                          "occupation": ["writer"], "zip_code": ["10001"]})
    ratings = pd.DataFrame({"user_id": ["n", "n"], "item_id": [50, 50], "rating": [5, 2]})
    caplog.set_level("INFO", logger="hybrid_rec")
    loaded.recommend_new(users, ratings, k=3)
    messages = [r.getMessage() for r in caplog.records]
    assert "new users' ratings: 1 duplicate (user, item) row(s); the last one wins" in messages
    assert not any(m.startswith("interactions") for m in messages)


@pytest.mark.parametrize("case", ["rejects is out", "out is users", "rejects is ratings",
                                  "out is the model"])
def test_an_output_never_overwrites_the_other_or_an_input(model_file_100k, tmp_path, capsys,
                                                         case):
    users = write_csv(tmp_path / "users.csv", USER_COLUMNS, BASE_USERS)
    ratings = write_csv(tmp_path / "ratings.csv", RATING_COLUMNS, BASE_RATINGS)
    out, rejects = {
        "rejects is out": (tmp_path / "recs.csv", tmp_path / "recs.csv"),
        "out is users": (users, tmp_path / "r.csv"),
        "rejects is ratings": (tmp_path / "recs.csv", tmp_path / "." / "ratings.csv"),
        "out is the model": (model_file_100k, tmp_path / "r.csv"),
    }[case]
    before = {p: p.read_bytes() for p in (users, ratings, model_file_100k)}
    code = main(["score", "--model", str(model_file_100k), "--users", str(users), "--ratings",
                 str(ratings), "--out", str(out), "--rejects", str(rejects)])
    err = capsys.readouterr().err
    assert code == EXIT_FAILURE
    assert "same file" in err if case == "rejects is out" else "would overwrite" in err
    assert {p: p.read_bytes() for p in before} == before
    assert not (tmp_path / "recs.csv").exists() and not (tmp_path / "r.csv").exists()
    if case != "out is the model":  # the library is given a model object, not its file
        with pytest.raises(InputDataError, match="same file|would overwrite"):
            score_files(HybridRecommender.load(model_file_100k), users, out, ratings=ratings,
                        rejects=rejects)
        assert {p: p.read_bytes() for p in before} == before


def test_a_repeated_header_column_is_a_failure_not_a_guess(model_file_100k, tmp_path, capsys):
    users = tmp_path / "users.csv"
    users.write_text("user_id,age,user_id,gender,occupation,zip_code\n"
                     "u1,25,u9,M,writer,10001\n", encoding="utf-8")
    code = main(["score", "--model", str(model_file_100k), "--users", str(users), "--out",
                 str(tmp_path / "recs.csv")])
    err = capsys.readouterr().err
    assert code == EXIT_FAILURE
    assert f"{users}: line 1: column 'user_id' appears 2 times in the header" in err
    assert not (tmp_path / "recs.csv").exists()


def test_an_encoding_that_cannot_start_names_the_file(model_file_100k, tmp_path, capsys):
    users = write_csv(tmp_path / "users.csv", USER_COLUMNS, BASE_USERS)
    code = main(["score", "--model", str(model_file_100k), "--users", str(users), "--encoding",
                 "utf-16", "--out", str(tmp_path / "recs.csv")])
    err = capsys.readouterr().err
    assert code == EXIT_FAILURE
    # Python 3.11 raises a plain UnicodeError here, 3.13 a UnicodeDecodeError: both name it.
    assert f"{users}: line 1: " in err and "utf-16" in err and "BOM" in err
    assert "Traceback" not in err


def test_an_output_folder_must_not_hold_an_input(tmp_path):
    from hybrid_rec.batch import check_output_paths

    folder = tmp_path / "recs"
    folder.mkdir()
    users = write_csv(folder / "users.csv", USER_COLUMNS, BASE_USERS)
    with pytest.raises(InputDataError, match="output folder .* holds the input file"):
        check_output_paths(folder, tmp_path / "r.csv", [users], out_is_folder=True)
    check_output_paths(folder, tmp_path / "r.csv", [users])   # a file named recs: no clash
