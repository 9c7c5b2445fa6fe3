"""The hybrid-rec command line, in-process and as a real process, on MovieLens 100k."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from hybrid_rec import HybridRecommender
from hybrid_rec.cli import EXIT_FAILURE, EXIT_OK, EXIT_PARTIAL, main

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "features" / "movielens-100k.toml"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def good_files(tmp_path):
    users = write(tmp_path / "users.csv",
                  "user_id,age,gender,occupation,zip_code\n"
                  "n1,24,M,technician,85711\n"
                  "n2,53,F,other,94043\n"
                  "n3,,,,\n")
    ratings = write(tmp_path / "ratings.csv",
                    "user_id,item_id,rating\n"
                    "n1,50,5\n"
                    "n1,181,4\n"
                    "n2,1,3\n")
    return users, ratings


def read_rejects(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_score_clean_input(model_file_100k, good_files, tmp_path, capsys):
    users, ratings = good_files
    out = tmp_path / "recs.csv"
    code = main(["--no-progress", "score", "--model", str(model_file_100k), "--users",
                 str(users), "--ratings", str(ratings), "--k", "7", "--out", str(out)])
    assert code == EXIT_OK
    recs = pd.read_csv(out)
    assert list(recs.columns) == ["user_id", "rank", "item_id", "score", "title"]
    assert recs.groupby("user_id")["rank"].apply(list).to_dict() == {
        u: list(range(1, 8)) for u in ("n1", "n2", "n3")}
    assert not set(recs.loc[recs.user_id == "n1", "item_id"]) & {50, 181}
    assert 1 not in set(recs.loc[recs.user_id == "n2", "item_id"])
    assert read_rejects(tmp_path / "recs.rejects.csv") == []
    err = capsys.readouterr().err
    assert "users read: 3, scored: 3, rejected: 0" in err


def test_score_rejects_rows_and_scores_the_rest(model_file_100k, tmp_path, capsys):
    users = write(tmp_path / "users.csv",
                  "user_id,age,gender,occupation,zip_code,extra\n"
                  "a,24,M,technician,85711,x\n"      # line 2: fine
                  "b,abc,F,other,94043,x\n"          # line 3: age not a number
                  ",30,F,other,94043,x\n"            # line 4: blank id
                  "a,40,M,writer,10001,x\n"          # line 5: duplicate id
                  "c,999,M,writer,10001,x\n"         # line 6: age out of range
                  "d,33,M,astronaut,10001,x\n"       # line 7: unseen occupation: fine
                  "e,33,M\n")                        # line 8: too few fields
    ratings = write(tmp_path / "ratings.csv",
                    "user_id,item_id,rating\n"
                    "a,50,5\n"           # used
                    "a,999999,5\n"       # unknown item
                    "a,181,9\n"          # outside the 1-5 scale
                    "zz,50,5\n"          # user not in users file
                    "b,50,5\n"           # user rejected
                    "d,1,nan\n")         # not a finite number
    out, rejects = tmp_path / "recs.csv", tmp_path / "bad.csv"
    code = main(["--no-progress", "score", "--model", str(model_file_100k), "--users",
                 str(users), "--ratings", str(ratings), "--out", str(out), "--rejects",
                 str(rejects)])
    assert code == EXIT_PARTIAL
    recs = pd.read_csv(out)
    assert sorted(recs.user_id.unique()) == ["a", "d"]
    assert 50 not in set(recs.loc[recs.user_id == "a", "item_id"])
    rows = read_rejects(rejects)
    got = {(Path(r["file"]).name, int(r["line"]), r["column"]) for r in rows}
    assert got == {
        ("users.csv", 3, "age"), ("users.csv", 4, "user_id"), ("users.csv", 5, "user_id"),
        ("users.csv", 6, "age"), ("users.csv", 8, ""),
        ("ratings.csv", 3, "item_id"), ("ratings.csv", 4, "rating"),
        ("ratings.csv", 5, "user_id"), ("ratings.csv", 6, "user_id"),
        ("ratings.csv", 7, "rating"),
    }
    by_line = {(Path(r["file"]).name, int(r["line"])): r for r in rows}
    assert by_line[("users.csv", 3)]["value"] == "abc"
    assert "not a number" in by_line[("users.csv", 3)]["reason"]
    assert "already given on line 2" in by_line[("users.csv", 5)]["reason"]
    assert "outside the valid range" in by_line[("users.csv", 6)]["reason"]
    assert "rejected on line 3" in by_line[("ratings.csv", 6)]["reason"]
    err = capsys.readouterr().err
    # Accounting: users read = scored + rejected.
    assert "users read: 7, scored: 2, rejected: 5" in err
    assert "rating rows read: 6, used: 1, rejected: 5" in err


@pytest.mark.parametrize("args, message", [
    (["--users", "{users}", "--model", "{tmp}/absent.npz"], "model file not found"),
    (["--users", "{tmp}/absent.csv", "--model", "{model}"], "absent.csv: file not found"),
    (["--users", "{nocol}", "--model", "{model}"], "no column 'occupation'"),
    (["--users", "{empty}", "--model", "{model}"], "the file is empty"),
])
def test_score_failures_are_one_line_errors(model_file_100k, good_files, tmp_path, capsys,
                                            args, message):
    users, _ = good_files
    nocol = write(tmp_path / "nocol.csv", "user_id,age,gender,zip_code\nx,20,M,10001\n")
    empty = write(tmp_path / "empty.csv", "")
    fill = {"users": users, "tmp": tmp_path, "model": model_file_100k, "nocol": nocol,
            "empty": empty}
    out = tmp_path / "recs.csv"
    argv = ["score", "--out", str(out)] + [a.format(**fill) for a in args]
    assert main(argv) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not out.exists()


def test_train_then_score(tmp_path, good_files, data_dir):
    users, ratings = good_files
    model = tmp_path / "m.npz"
    assert main(["-q", "train", "--spec", str(SPEC), "--data", "100k", "--data-dir",
                 str(data_dir), "--epochs", "1", "--out", str(model)]) == EXIT_OK
    loaded = HybridRecommender.load(model)
    assert len(loaded.item_ids) == 1682
    assert main(["-q", "score", "--model", str(model), "--users", str(users), "--out",
                 str(tmp_path / "r.csv"), "--no-fold-in"]) == EXIT_OK


def test_check_spec(tmp_path, capsys):
    assert main(["check-spec", str(SPEC)]) == EXIT_OK
    assert "OK" in capsys.readouterr().out
    bad = write(tmp_path / "bad.toml", '[interactions]\nuser="u"\nitem="i"\n[users]\nid="u"\n'
                '[items]\nid="i"\n[[items.features]]\nname="g"\nkind="genre"\ncolumn="g"\n')
    assert main(["check-spec", str(bad)]) == EXIT_FAILURE
    assert "kind" in capsys.readouterr().err


def test_demo_end_to_end_as_a_process(tmp_path, data_dir):
    env = dict(os.environ, HYBRID_REC_DATA=str(data_dir))
    result = subprocess.run(
        [sys.executable, "-m", "hybrid_rec.cli", "demo", "--out", str(tmp_path / "demo"),
         "--epochs", "5"], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("popularity", "metadata only", "fold-in", "precision@10", "NDCG@10"):
        assert name in result.stdout
    for name in ("model.npz", "new_users.csv", "new_ratings.csv", "recs_fold_in.csv",
                 "recs_metadata_only.csv"):
        assert (tmp_path / "demo" / name).is_file()
    revealed = pd.read_csv(tmp_path / "demo" / "new_ratings.csv")
    assert revealed.groupby("user_id").size().eq(5).all()
    assert revealed.user_id.nunique() == 189


def test_header_only_users_file_scores_nobody(model_file_100k, tmp_path, capsys):
    users = write(tmp_path / "users.csv", "user_id,age,gender,occupation,zip_code\n")
    out = tmp_path / "recs.csv"
    assert main(["score", "--model", str(model_file_100k), "--users", str(users), "--out",
                 str(out)]) == EXIT_OK
    assert "users read: 0, scored: 0, rejected: 0" in capsys.readouterr().err
    assert out.read_text().splitlines() == ["user_id,rank,item_id,score,title"]


def test_latin1_file_names_the_line_of_the_first_bad_byte(model_file_100k, tmp_path, capsys):
    users = tmp_path / "users.csv"
    users.write_bytes(b"user_id,age,gender,occupation,zip_code\n"
                      b"a,24,M,technician,85711\n"
                      b"b,30,F,other,94043\n"
                      b"c,40,M,\xe9crivain,10001\n")
    assert main(["score", "--model", str(model_file_100k), "--users", str(users), "--out",
                 str(tmp_path / "r.csv")]) == EXIT_FAILURE
    assert "users.csv: line 4: not valid UTF-8" in capsys.readouterr().err


def test_out_is_a_folder_is_a_one_line_error(model_file_100k, good_files, tmp_path, capsys):
    users, _ = good_files
    assert main(["score", "--model", str(model_file_100k), "--users", str(users), "--out",
                 str(tmp_path)]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "is a folder" in err and "Traceback" not in err


@pytest.mark.parametrize("extra", [["--k", "-3"], ["--delimiter", ";;"], ["--k", "ten"]])
def test_bad_option_values_are_usage_errors(model_file_100k, good_files, tmp_path, extra):
    users, _ = good_files
    with pytest.raises(SystemExit) as exc:
        main(["score", "--model", str(model_file_100k), "--users", str(users), "--out",
              str(tmp_path / "r.csv")] + extra)
    assert exc.value.code == 2


def test_score_explain_adds_the_top_reasons(model_file_100k, good_files, tmp_path):
    users, ratings = good_files
    out = tmp_path / "recs.csv"
    code = main(["--no-progress", "score", "--model", str(model_file_100k), "--users",
                 str(users), "--ratings", str(ratings), "--k", "3", "--explain", "2",
                 "--out", str(out)])
    assert code == EXIT_OK
    recs = pd.read_csv(out, keep_default_na=False)
    assert list(recs.columns) == ["user_id", "rank", "item_id", "score", "title",
                                  "explanation"]
    n1 = recs.loc[recs.user_id == "n1", "explanation"].tolist()
    assert all(len(text.split("; ")) == 2 for text in n1)
    assert any("rated Star Wars (1977) 5" in text or "age 18-24" in text for text in n1)
    assert (recs.loc[recs.user_id == "n3", "explanation"] == "").all()  # no metadata


def test_score_explain_defaults_to_three_reasons(model_file_100k, good_files, tmp_path):
    users, _ = good_files
    out = tmp_path / "recs.csv"
    assert main(["--no-progress", "score", "--model", str(model_file_100k), "--users",
                 str(users), "--explain", "--out", str(out)]) == EXIT_OK
    recs = pd.read_csv(out, keep_default_na=False)
    n2 = recs.loc[recs.user_id == "n2", "explanation"]
    assert (n2.str.count("; ") == 2).all()


def test_the_same_score_command_twice_gives_byte_identical_files(model_file_100k, good_files,
                                                                 tmp_path):
    users, ratings = good_files
    with open(users, "a", encoding="utf-8") as fh:
        fh.write("n4,abc,F,writer,10001\n")          # one reject, so rejects are compared too
    outputs = []
    for run in (1, 2):
        out = tmp_path / f"run{run}" / "recs.csv"
        out.parent.mkdir()
        code = main(["-q", "--no-progress", "score", "--model", str(model_file_100k),
                     "--users", str(users), "--ratings", str(ratings), "--k", "20",
                     "--explain", "--out", str(out)])
        assert code == EXIT_PARTIAL
        outputs.append((out.read_bytes(), (out.parent / "recs.rejects.csv").read_bytes()))
    assert outputs[0] == outputs[1]
    assert outputs[0][0].count(b"\n") == 1 + 3 * 20 and b"n4" in outputs[0][1]
