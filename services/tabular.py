"""Files of rows that people make and read in spreadsheets, shared by every import (the
CMDB, costs, capacity measurements) and every export (the CMDB, the evidence pack): the size
bound, UTF-8 text or the line where it is not, a CSV file with a header read row by row, cells
a spreadsheet will not run as formulas, and the error that names a file's bad line."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# A file of rows holds a few thousand; anything far larger is a mistake or an attack, refused
# before parsing so that a YAML or TOML parser never sees it.
MAX_FILE_BYTES = 20 * 1024 * 1024

# A CSV cell starting with one of these is run as a formula by spreadsheets (OWASP "CSV
# injection"). Export puts a single quote in front; a leading quote is itself escaped the same
# way, so import can take exactly one quote off a cell that starts with a quote and one of
# these, and every value comes back as it was.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED_START = (*FORMULA_START, "'")


def neutralise_cell(value: str) -> str:
    """A CSV cell a spreadsheet will show as text: a single quote before a formula start (and
    before a leading quote, so that `restore_cell` is exact)."""
    return "'" + value if value.startswith(_ESCAPED_START) else value


def restore_cell(value: str) -> str:
    """The value `neutralise_cell` was given."""
    if value.startswith("'") and value[1:].startswith(_ESCAPED_START):
        return value[1:]
    return value


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class FileError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def csv_records(text: str, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of a CSV file's text whose header names at least the `required` columns, as
    (line where the row starts, {column: cell}) with formula quotes taken off; blank rows are
    skipped. A missing header or column, or a line the csv module cannot read, is a FileError
    at its line (rows before it have been yielded)."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        columns = [h.strip().lower() for h in header or []]
        missing = [c for c in required if c not in columns]
        if not header or missing:
            raise FileError(
                1,
                f"the first line must be a header naming {', '.join(required[:-1])} and "
                f"{required[-1]}" + (f" (missing: {', '.join(missing)})" if header else ""),
            )
        line = reader.line_num + 1
        for cells in reader:
            start, line = line, reader.line_num + 1
            if any(c.strip() for c in cells):
                yield start, dict(zip(columns, (restore_cell(c) for c in cells), strict=False))
    except csv.Error as error:
        raise FileError(reader.line_num or 1, f"not readable as CSV: {error}") from None


def decode(path: Path) -> str:
    """The file's text: UTF-8 (a byte order mark is allowed), or the line where it is not."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise FileError(1, f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise FileError(
            line,
            f"not UTF-8 text (byte 0x{raw[error.start]:02x} at column {column}); "
            "save the file as UTF-8",
        ) from None
