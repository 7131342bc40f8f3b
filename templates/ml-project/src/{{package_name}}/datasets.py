"""Offline sample sources: each returns the same DataFrame on every call, on every machine.

``builtin:credit`` is a synthetic credit-application set with a ``group`` column, generated from a
fixed seed, so the fairness gate has a sensitive attribute to check. ``builtin:diabetes`` is
scikit-learn's bundled diabetes set (no download) with ``sex`` as its sensitive column. Replace the
``data.source`` in ``config.toml`` with a Parquet or CSV path to train on your own data.
"""

from __future__ import annotations

__all__ = ["BUILTIN", "load_source", "read_table"]

import csv
import hashlib
import io
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import PipelineError

_CREDIT_SEED = 20240607


def _credit(n_rows: int) -> pd.DataFrame:
    """Synthetic credit applications; approval depends on finances only, never on ``group``."""
    rng = np.random.default_rng(_CREDIT_SEED)
    group = rng.choice(np.array(["A", "B"]), size=n_rows, p=[0.6, 0.4])
    age = rng.integers(18, 76, size=n_rows)
    income_k = np.clip(rng.lognormal(np.log(45.0), 0.5, n_rows), 5, 500).round(1)
    debt_ratio = np.clip(rng.beta(2.0, 5.0, n_rows) * 1.2, 0, 1.5).round(3)
    history = np.clip(age - 18 - rng.integers(0, 10, n_rows), 0, 60).astype(float)
    late = np.clip(rng.poisson(0.8, n_rows), 0, 30)
    loan_k = np.clip(rng.lognormal(np.log(15.0), 0.6, n_rows), 1, 200).round(1)
    logit = (
        0.4
        + 1.2 * np.log(income_k / 45.0)
        - 3.0 * (debt_ratio - 0.3)
        + 0.05 * (history - 10.0)
        - 0.6 * late
        - 0.5 * np.log(loan_k / 15.0)
    )
    approved = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-logit))).astype("int64")
    return pd.DataFrame(
        {
            "applicant_id": [f"APP-{i:06d}" for i in range(n_rows)],
            "group": group,
            "age": age.astype("int64"),
            "income_k": income_k,
            "debt_ratio": debt_ratio,
            "credit_history_years": history,
            "late_payments": late.astype("int64"),
            "loan_amount_k": loan_k,
            "approved": approved,
        }
    )


def _diabetes(n_rows: int) -> pd.DataFrame:
    """scikit-learn's bundled diabetes set in original units, keyed by a hash of each row."""
    from sklearn.datasets import load_diabetes

    del n_rows  # the bundled set has a fixed size (442 rows)
    frame: pd.DataFrame = load_diabetes(as_frame=True, scaled=False).frame
    frame = frame.rename(columns={"target": "progression"})
    keys = [
        hashlib.sha256(np.ascontiguousarray(row).tobytes()).hexdigest()[:16]
        for row in frame.to_numpy(dtype="float64")
    ]
    frame.insert(0, "patient_id", keys)
    result: pd.DataFrame = frame.reset_index(drop=True)
    return result


BUILTIN: dict[str, Callable[[int], pd.DataFrame]] = {"credit": _credit, "diabetes": _diabetes}


def load_source(source: str, *, root: Path, n_rows: int) -> pd.DataFrame:
    """Read the configured source: ``builtin:<name>``, or a ``.parquet`` / ``.csv`` file.

    Raises:
        PipelineError: The builtin name is unknown, or the file cannot be used (see
            :func:`read_table`); the message names ``data.source``.
    """
    if source.startswith("builtin:"):
        name = source.removeprefix("builtin:")
        if name not in BUILTIN:
            raise PipelineError(
                f"data.source '{source}' is unknown: use one of "
                + ", ".join(f"builtin:{n}" for n in BUILTIN)
                + " or a .parquet/.csv path"
            )
        return BUILTIN[name](n_rows)
    return read_table((root / source).resolve(), what="data.source")


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
