"""Boundary checks shared by the audit's file loaders: path arguments, UTF-8 text, CSV records, numbers.

Every loader of the audit (the CSV tables in :mod:`metaacu.audit.data`, the claims registry in
:mod:`metaacu.audit.registry`) reads its files through this module, so that the same input is refused
in the same words everywhere:

* a path argument must be a ``str`` or an :class:`os.PathLike` giving a ``str``;
* files are UTF-8; a leading byte-order mark is tolerated (and dropped); any other byte sequence
  that is not UTF-8 is refused with its line, byte position and (for CSV) column;
* numbers are plain ASCII decimal notation: an optional leading ``-``, the digits ``0-9``, for
  ``float`` an optional ``.`` followed by digits and an optional exponent (``1e-3``).  Python's
  :func:`float`/:func:`int` would also take ``1_000``, ``+5``, ``" 5"``, ``nan``, ``inf`` and
  non-ASCII digits (``٤``); these are refused.  Whole numbers must fit a 64-bit integer.

Errors are :class:`~metaacu._validation.MetaacuInputError` whose message starts with
``"<file>, line <n>, column '<name>': "`` (line 1 is the header of a CSV file).
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
import re
from pathlib import Path
from typing import Final

from metaacu._validation import MetaacuInputError

__all__ = [
    "ENCODING_NOTE",
    "as_path",
    "located",
    "parse_cell",
    "parse_float",
    "parse_int",
    "read_csv_records",
    "read_text",
    "shorten",
]

#: How the accepted encoding is described in error messages.
ENCODING_NOTE: Final = "the audit's files must be UTF-8 (a leading byte-order mark is tolerated)"
_INT_RE: Final = re.compile(r"-?[0-9]+")
_FLOAT_RE: Final = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_PVALUE_RE: Final = re.compile(r"[<>]?(?:0(?:\.[0-9]+)?|1(?:\.0+)?|\.[0-9]+)")
_INT_MAX: Final = 2**63 - 1
_INT_HELP: Final = "only plain whole numbers are accepted (ASCII digits 0-9, optional leading '-')"
_FLOAT_HELP: Final = (
    "only plain decimal numbers are accepted (ASCII digits 0-9, optional leading '-', optional "
    "'.' followed by digits, optional exponent such as 1e-3)"
)


def shorten(text: str, limit: int = 40) -> str:
    """``repr`` of ``text``, cut to about ``limit`` characters so that a huge cell cannot flood a message."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text)} characters)"


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def located(path: Path, line: int, column: str, message: str) -> MetaacuInputError:
    """The error for a problem at ``line`` and ``column`` of the file ``path``."""
    return MetaacuInputError(f"{path.name}, line {line}, column {column!r}: {message}")


def as_path(value: object, argument: str, function: str) -> Path:
    """Check that ``value`` names a file or folder and return it as a :class:`~pathlib.Path`.

    Parameters
    ----------
    value : object
        What the caller passed.
    argument, function : str
        The argument's and the function's names, for the message.

    Raises
    ------
    MetaacuInputError
        If ``value`` is neither a ``str`` nor an :class:`os.PathLike` of ``str``, or is empty.
    """
    try:
        text = os.fspath(value)  # type: ignore[call-overload]
    except TypeError:
        text = None
    if not isinstance(text, str):
        raise MetaacuInputError(
            f"{function}: argument {argument!r} must be a path (str or os.PathLike[str]), "
            f"got {type(value).__name__} {_cut(repr(value))}"
        )
    if text == "":
        raise MetaacuInputError(f"{function}: argument {argument!r} is an empty path")
    return Path(text)


def _decode_error(path: Path, raw: bytes, skip: int, exc: UnicodeDecodeError, csv_file: bool) -> MetaacuInputError:
    """The error for the first byte that is not UTF-8 (``skip`` = length of a leading byte-order mark)."""
    start = exc.start
    line = raw.count(b"\n", 0, start) + 1
    line_start = raw.rfind(b"\n", 0, start) + 1
    where = f"{path.name}, line {line}"
    if csv_file:  # parse what precedes the bad byte, plus a marker, to find the field it falls in
        rows = list(csv.reader(io.StringIO(raw[skip:start].decode("utf-8") + "\x00", newline="")))
        field = len(rows[-1]) - 1
        if len(rows) == 1:
            where += f", header field {field + 1}"
        else:
            where += (
                f", column {rows[0][field]!r}" if field < len(rows[0]) else f", field {field + 1} (beyond the header)"
            )
    bad = raw[start : exc.end]
    what = f"byte{'s' if len(bad) > 1 else ''} {' '.join(f'0x{b:02x}' for b in bad)}"
    verb = "is" if len(bad) == 1 else "are"
    return MetaacuInputError(
        f"{where}: {what} at byte {start - line_start + 1} of the line (offset {start} in the "
        f"file) {verb} not valid UTF-8 ({exc.reason}); {ENCODING_NOTE}: re-save it as UTF-8"
    )


def read_text(path: Path) -> str:
    """Read a UTF-8 file (a leading byte-order mark is dropped); refuse any other encoding with its position.

    Raises
    ------
    MetaacuInputError
        If the file cannot be read, or a byte sequence is not UTF-8; the message names the file, the line,
        the byte within the line and the offset in the file (and, for a ``.csv`` file, the column).
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MetaacuInputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    body = raw[len(codecs.BOM_UTF8) :] if raw.startswith(codecs.BOM_UTF8) else raw
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        skip = len(raw) - len(body)
        exc.start, exc.end = exc.start + skip, exc.end + skip
        raise _decode_error(path, raw, skip, exc, path.suffix.lower() == ".csv") from None


def read_csv_records(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the data records (with the CSV line number where each ends) of one CSV file.

    Raises
    ------
    MetaacuInputError
        If the file is not UTF-8, is empty, has a header but no data rows, or cannot be parsed as CSV.
    """
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise located(path, 1, "<header>", "file is empty")
        records = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise located(path, reader.line_num, "<row>", f"not valid CSV ({exc})") from None
    if not records:
        raise located(path, 2, "<row>", "the file has a header but no data rows")
    return header, records


def parse_int(text: str) -> int:
    """A whole number in plain ASCII notation that fits a 64-bit integer; ``ValueError`` otherwise."""
    if not _INT_RE.fullmatch(text):
        raise ValueError(_INT_HELP)
    if len(text.lstrip("-")) > 19 or abs(value := int(text)) > _INT_MAX:
        raise ValueError(f"too large (whole numbers must lie within +-{_INT_MAX})")
    return value


def parse_float(text: str) -> float:
    """A finite number in plain ASCII decimal (or exponent) notation; ``ValueError`` otherwise."""
    if not _FLOAT_RE.fullmatch(text):
        raise ValueError(_FLOAT_HELP)
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("too large for a double-precision number")
    return value


def parse_cell(kind: str, text: str) -> object:
    """Convert one non-empty cell of the given kind; ``ValueError`` (with the reason) if it does not parse.

    Parameters
    ----------
    kind : {"str", "int", "float", "bool", "pvalue", "weeks", "ids"}
        ``bool`` is ``true``/``false``; ``pvalue`` a number in [0, 1] optionally prefixed by ``<`` or
        ``>`` (kept as text); ``weeks`` a ``;`` list of numbers >= 0 and ``ids`` a ``;`` list of
        non-empty ids (both kept as text).
    text : str
        The cell, already stripped and non-empty.
    """
    if kind == "int":
        return parse_int(text)
    if kind == "float":
        return parse_float(text)
    if kind == "bool":
        if text not in ("true", "false"):
            raise ValueError("expected true or false")
        return text == "true"
    if kind == "pvalue":
        if not _PVALUE_RE.fullmatch(text):
            raise ValueError("expected a plain decimal number in [0, 1] (ASCII digits), optionally prefixed by < or >")
    elif kind == "weeks":
        for part in text.split(";"):
            if parse_float(part) < 0:
                raise ValueError("weeks must be >= 0")
    elif kind == "ids" and any(p == "" for p in text.split(";")):
        raise ValueError("empty id in semicolon list")
    return text
