"""Reading a user's data file: CSV or Parquet, with a message that says what to do when it fails.

Why: the first file a newcomer brings is an Excel export, a semicolon CSV or a Parquet file named
.csv; each gets a one-line explanation naming the file and the fix instead of a pandas traceback.
Used by the pipeline's ingest (``data.source``) and by ``make contract`` (``SOURCE``).
"""

from __future__ import annotations

__all__ = ["read_table"]

import csv
import io
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from .errors import PipelineError


def read_table(path: Path, *, what: str) -> pd.DataFrame:
    """Read a CSV (comma-separated, UTF-8, header row) or Parquet file with at least one row.

    Args:
        path: The file.
        what: How the message names the file's origin (``data.source``, ``SOURCE``).

    Raises:
        PipelineError: The file is missing, of another type, empty, binary, not UTF-8, not
            comma-separated, malformed, or has no data rows; the message names the file and
            says what to do.
    """
    if not path.is_file():
        raise PipelineError(f"{what} file {path} does not exist: fix the path")
    if path.suffix not in {".csv", ".parquet"}:
        raise PipelineError(
            f"{what} {path} must end in .csv or .parquet: export it as CSV (comma-separated, "
            "UTF-8, a header row), or write Parquet with pandas.DataFrame.to_parquet"
        )
    if path.stat().st_size == 0:
        raise PipelineError(
            f"{what} {path} is empty (0 bytes): write your data into it, a header row first"
        )
    frame = _read_parquet(path, what) if path.suffix == ".parquet" else _read_csv(path, what)
    if len(frame) == 0:
        raise PipelineError(
            f"{what} {path} has no data rows, only a header ({len(frame.columns)} columns: "
            f"{_names(frame.columns)}): add the rows (CSV: one line per row, after the header)"
        )
    return frame


def _names(columns: Iterable[object], limit: int = 8) -> str:
    names = [str(c) for c in columns]
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _read_parquet(path: Path, what: str) -> pd.DataFrame:
    import pyarrow

    try:
        return pd.read_parquet(path)
    except (pyarrow.ArrowException, OSError) as error:
        first = (str(error).strip().splitlines() or [""])[0]
        raise PipelineError(
            f"{what} {path} is not a readable Parquet file ({first}): write it again with "
            "pandas.DataFrame.to_parquet, or export CSV and name it .csv"
        ) from None


_SAMPLE = 1 << 16  # bytes read to recognise binary, non-UTF-8 and non-comma files
_MAGIC = {b"PK\x03\x04": "a ZIP archive (an .xlsx workbook is one)", b"PAR1": "a Parquet file"}


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    with path.open("rb") as file:
        head = file.read(_SAMPLE)
    kind = next((name for magic, name in _MAGIC.items() if head.startswith(magic)), None)
    if kind is not None or b"\x00" in head:
        found = kind or "binary data"
        raise PipelineError(
            f"{what} {path} is not a CSV text file: it holds {found}. Export the data as CSV "
            "(comma-separated, UTF-8, a header row)"
            + (", or name a Parquet file .parquet" if kind == "a Parquet file" else "")
        )
    try:
        text_head = head.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError as error:
        cut = len(head) == _SAMPLE and error.start >= len(head) - 4  # a character cut in two
        if not cut:
            raise PipelineError(
                f"{what} {path} is not UTF-8 text (byte 0x{head[error.start]:02x} at offset "
                f"{error.start}): save it as CSV in UTF-8"
            ) from None
        text_head = head[: error.start].decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(text_head)), [])
    if not header or not any(h.strip() for h in header):
        raise PipelineError(
            f"{what} {path} has no header row: its first line must name the columns"
        )
    if len(header) == 1:
        delimiter = next((d for d in (";", "\t", "|") if d in header[0]), None)
        if delimiter is not None:
            shown = "tab" if delimiter == "\t" else f"'{delimiter}'"
            raise PipelineError(
                f"{what} {path} is not comma-separated: its header is one column "
                f"'{header[0][:60]}' that contains {shown}. Save it comma-separated"
            )
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise PipelineError(
            f"{what} {path} names these columns more than once in its header: "
            f"{', '.join(repeated)}. Give every column its own name"
        )
    try:
        return pd.read_csv(path, encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise PipelineError(
            f"{what} {path} is not UTF-8 text (offset {error.start}): save it as CSV in UTF-8"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        first = (str(error).strip().splitlines() or [""])[0]
        raise PipelineError(
            f"{what} {path} is not well-formed CSV ({first}): every line needs as many "
            "comma-separated fields as the header (quote values that contain commas)"
        ) from None
