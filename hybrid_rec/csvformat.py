"""The delimiter and text encoding of an input CSV file: given, or detected from its header.

Encoding: UTF-8 unless told otherwise; a UTF-8 byte-order mark is dropped.
Bytes are never guessed to be Latin-1 (every byte sequence is valid Latin-1,
so such a guess can only be wrong silently): a file that is not UTF-8 fails
with the line of its first bad byte unless its encoding is given.

Delimiter: when none is given, the header line decides: the candidate among
``,`` ``;`` tab and ``|`` that occurs most often outside double quotes wins,
earlier candidates winning ties, and ``,`` when none occurs (a one-column
file). Every call logs what it used and whether it was detected.
"""

from __future__ import annotations

import codecs
import csv
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from .exceptions import InputDataError

__all__ = ["CANDIDATES", "CsvFormat", "check_delimiter", "check_encoding", "detect"]

logger = logging.getLogger(__name__)

CANDIDATES = (",", ";", "\t", "|")
_BOM = codecs.BOM_UTF8
_HEAD_BYTES = 1 << 16
_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}


@dataclass(frozen=True)
class CsvFormat:
    """How to read one CSV file.

    Attributes
    ----------
    delimiter : str
        The one-character field delimiter.
    encoding : str
        The codec name given to :func:`open` (``utf-8-sig`` for UTF-8).
    delimiter_detected, encoding_detected : bool
        Whether each was detected rather than given.
    bom : bool
        Whether the file starts with a UTF-8 byte-order mark.
    """

    delimiter: str = ","
    encoding: str = "utf-8-sig"
    delimiter_detected: bool = False
    encoding_detected: bool = False
    bom: bool = False

    def describe(self) -> str:
        """A short text such as ``delimiter ';' (detected), encoding utf-8 (default)``."""
        name = _NAMES.get(self.delimiter, repr(self.delimiter))
        how = "detected from the header" if self.delimiter_detected else "given"
        encoding = "utf-8" if self.encoding == "utf-8-sig" else self.encoding
        source = "default" if self.encoding_detected else "given"
        bom = ", with a UTF-8 byte-order mark" if self.bom else ""
        return f"delimiter {name} ({how}), encoding {encoding} ({source}{bom})"

    def open(self, path: str | Path):
        """Open ``path`` as text for :mod:`csv`; a missing file is an InputDataError."""
        try:
            return open(path, encoding=self.encoding, newline="")
        except FileNotFoundError:
            raise InputDataError(f"{path}: file not found") from None
        except OSError as e:
            raise InputDataError(f"{path}: cannot read: {e}") from e

    def reader(self, handle):
        """A strict :func:`csv.reader` over ``handle`` with no limit on field length."""
        _lift_field_limit()
        return csv.reader(handle, delimiter=self.delimiter, strict=True)


def check_encoding(encoding: str) -> str:
    """The codec's canonical name; ValueError for an unknown one."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(f"unknown text encoding {encoding!r}") from None


def check_delimiter(delimiter: str) -> str:
    """``delimiter`` itself; ValueError unless it is one character other than a quote or
    a line break."""
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\"\r\n":
        raise ValueError(f"the delimiter must be one character other than a quote or a "
                         f"line break, got {delimiter!r}")
    return delimiter


def detect(path: str | Path, delimiter: str | None = None,
           encoding: str | None = None) -> CsvFormat:
    """The format of the CSV file at ``path``; see the module docstring.

    Parameters
    ----------
    path : path
        The file; only its first 64 KiB are read here.
    delimiter : str, optional
        The delimiter, when known; None detects it from the header line.
    encoding : str, optional
        The text encoding, when known; None means UTF-8.

    Returns
    -------
    CsvFormat
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except FileNotFoundError:
        raise InputDataError(f"{path}: file not found") from None
    except OSError as e:
        raise InputDataError(f"{path}: cannot read: {e}") from e
    bom = head.startswith(_BOM)
    if encoding is None:
        codec, encoding_detected = "utf-8-sig", True
    else:
        codec, encoding_detected = check_encoding(encoding), False
        if codec == "utf-8":
            codec = "utf-8-sig"
    if delimiter is None:
        first = head.split(b"\n", 1)[0]
        if bom and codec == "utf-8-sig":
            first = first[len(_BOM):]
        chosen, delimiter_detected = _guess(first.decode(codec, errors="replace")), True
    else:
        chosen, delimiter_detected = check_delimiter(delimiter), False
    fmt = CsvFormat(chosen, codec, delimiter_detected, encoding_detected, bom)
    logger.info("%s: %s", path.name, fmt.describe())
    if bom and codec != "utf-8-sig":
        logger.warning("%s starts with a UTF-8 byte-order mark, but the encoding given is %s: "
                       "the file is probably UTF-8", path.name, codec)
    return fmt


def _guess(header: str) -> str:
    """The candidate delimiter that occurs most often outside quotes in ``header``."""
    counts = dict.fromkeys(CANDIDATES, 0)
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(CANDIDATES, key=lambda c: (counts[c], -CANDIDATES.index(c)))
    return best if counts[best] else ","


def _lift_field_limit() -> None:
    """Let :mod:`csv` read fields of any length (its default stops at 128 KiB)."""
    limit = sys.maxsize
    while True:
        try:
            if csv.field_size_limit() < limit:
                csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2
