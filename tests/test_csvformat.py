"""Delimiter and encoding detection of input CSV files."""

import logging

import pytest

from hybrid_rec.csvformat import CsvFormat, detect
from hybrid_rec.exceptions import InputDataError


@pytest.mark.parametrize("header, delimiter", [
    (b"user_id,age,gender\n", ","),
    (b"user_id;age;gender\r\n", ";"),
    (b"user_id\tage\tgender\n", "\t"),
    (b"user_id|age|gender\n", "|"),
    (b'"a;b;c",age,gender\n', ","),          # quoted delimiters do not count
    (b"user_id\n", ","),                     # one column
    (b"a,b;c;d\n", ";"),                     # the most frequent wins
    (b"a,b;c\n", ","),                       # ties go to the earlier candidate
    (b"", ","),
])
def test_delimiter_is_detected_from_the_header(tmp_path, header, delimiter):
    path = tmp_path / "f.csv"
    path.write_bytes(header + b"1,2,3\n")
    fmt = detect(path)
    assert (fmt.delimiter, fmt.delimiter_detected) == (delimiter, True)


def test_bom_and_given_values_are_reported(tmp_path, caplog):
    path = tmp_path / "f.csv"
    path.write_bytes(b"\xef\xbb\xbfuser_id;age\n")
    caplog.set_level(logging.INFO, logger="hybrid_rec")
    fmt = detect(path)
    assert fmt == CsvFormat(";", "utf-8-sig", True, True, True)
    assert ("f.csv: delimiter ';' (detected from the header), encoding utf-8 "
            "(default, with a UTF-8 byte-order mark)") in caplog.text
    given = detect(path, delimiter=",", encoding="Latin-1")
    assert (given.delimiter, given.encoding, given.delimiter_detected) == (",", "iso8859-1",
                                                                           False)
    assert "delimiter ',' (given), encoding iso8859-1 (given, with a UTF-8" in caplog.text
    assert "the encoding given is iso8859-1: the file is probably UTF-8" in caplog.text


@pytest.mark.parametrize("kwargs, message", [
    ({"delimiter": ";;"}, "one character"), ({"delimiter": '"'}, "one character"),
    ({"encoding": "klingon"}, "unknown text encoding"),
])
def test_impossible_formats_are_value_errors(tmp_path, kwargs, message):
    path = tmp_path / "f.csv"
    path.write_text("a,b\n")
    with pytest.raises(ValueError, match=message):
        detect(path, **kwargs)


def test_missing_file(tmp_path):
    with pytest.raises(InputDataError, match="absent.csv: file not found"):
        detect(tmp_path / "absent.csv")
