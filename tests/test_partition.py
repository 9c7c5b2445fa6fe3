"""Tests for hybrid_rec.partition: co-partitioned users give the whole-file answer."""

import zlib

import numpy as np
import pandas as pd

from hybrid_rec.inputs import Record, rating_records, user_records
from hybrid_rec.partition import score_partition

USERS = ("user_id,age,gender,occupation,zip_code\n"
         "a,24,M,technician,85711\n"
         "b,abc,F,other,94043\n"
         ",30,F,other,94043\n"
         "a,40,M,writer,10001\n"
         "c,33,F,writer,10001\n"
         "d,33,M\n"
         "e,61,M,retired,30303\n")
RATINGS = ("user_id,item_id,rating\n"
           "c,50,5\n"
           "a,50,5\n"
           "zz,50,5\n"
           "b,50,5\n"
           "a,999999,4\n"
           "e,181,4\n"
           "a,181,\n"
           "c,1,2\n")


def files(tmp_path):
    users, ratings = tmp_path / "users.csv", tmp_path / "ratings.csv"
    users.write_text(USERS, encoding="utf-8")
    ratings.write_text(RATINGS, encoding="utf-8")
    return users, ratings


def split(records, column, n):
    parts = [[] for _ in range(n)]
    for record in records:
        uid = record.cells.get(column, "")
        parts[zlib.crc32(uid.encode()) % n].append(record)
    return parts


def test_records_carry_file_line_and_problem(small_model_100k, tmp_path):
    users, _ = files(tmp_path)
    records = list(user_records(users, small_model_100k.spec_))

    assert all(isinstance(r, Record) for r in records)
    assert [r.line for r in records] == [2, 3, 4, 5, 6, 7, 8]
    assert records[5].problem == "expected 5 fields, found 3"
    assert records[0].file == str(users) and records[0].cells["occupation"] == "technician"


def test_partitions_by_user_id_match_the_whole_file(small_model_100k, tmp_path):
    model = small_model_100k
    users, ratings = files(tmp_path)
    whole = score_partition(model, user_records(users, model.spec_),
                            rating_records(ratings, model.spec_), k=5)
    user_parts = split(user_records(users, model.spec_), "user_id", 3)
    rating_parts = split(rating_records(ratings, model.spec_), "user_id", 3)
    parts = [score_partition(model, u, r, k=5) for u, r in zip(user_parts, rating_parts)]

    assert whole.users_read == 7 and whole.users_scored == 3 and whole.users_rejected == 4
    assert whole.ratings_read == 8 and whole.ratings_used == 4
    assert sum(p.users_read for p in parts) == whole.users_read
    assert sum(p.users_scored for p in parts) == whole.users_scored
    assert sum(p.ratings_used for p in parts) == whole.ratings_used
    key = lambda r: r.line  # noqa: E731
    assert sorted((r for p in parts for r in p.user_rejects), key=key) == whole.user_rejects
    assert sorted((r for p in parts for r in p.rating_rejects), key=key) == whole.rating_rejects
    merged = pd.concat([p.recommendations.assign(line=p.lines) for p in parts])
    merged = merged.sort_values(["line", "rank"], kind="stable").drop(columns="line")
    pd.testing.assert_frame_equal(merged.reset_index(drop=True), whole.recommendations,
                                  check_dtype=False)
    assert np.all(np.diff(whole.lines) >= 0)


def test_reasons_name_the_other_records(small_model_100k, tmp_path):
    model = small_model_100k
    users, ratings = files(tmp_path)
    result = score_partition(model, user_records(users, model.spec_),
                             rating_records(ratings, model.spec_), k=5)
    reasons = {(r.line, r.reason) for r in result.rating_rejects}

    assert (4, "the user is not in the users file") in reasons
    assert (5, "the user was rejected on line 3 of the users file") in reasons
    assert (6, "the item is not in the model's catalogue") in reasons
    assert (8, "the rating is blank") in reasons
    assert any(r.reason == "user id already given on line 2" for r in result.user_rejects)
    assert set(result.recommendations["user_id"]) == {"a", "c", "e"}


def test_ratings_without_their_users_are_all_rejected(small_model_100k, tmp_path):
    model = small_model_100k
    _, ratings = files(tmp_path)
    result = score_partition(model, [], rating_records(ratings, model.spec_))

    assert result.users_read == 0 and len(result.recommendations) == 0
    assert result.ratings_read == result.ratings_rejected == 8
