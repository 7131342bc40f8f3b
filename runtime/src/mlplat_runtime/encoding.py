"""Text and date values as the numbers a model takes: one implementation for every caller.

Why one module: training (a DataFrame through ``SelectFeatures``), batch scoring and the model
server (JSON and CSV cells) must turn ``"Paris"`` or ``"2024-03-01T10:00"`` into the same number,
or the model sees one thing in training and another in serving. Each of them calls these
functions, through the fitted ``SelectFeatures`` that carries the vocabularies.

The model's numeric input (the ``[N, F]`` float64 matrix serving passes around) holds, per column:

- a number for a numeric feature (NaN: missing);
- a **category code** for a text feature: the value's index in the vocabulary learnt on the
  training split, :data:`OTHER` for a value outside it (rare in training, or never seen: the
  "other/unknown" category, never an error), NaN for a missing value (its own category);
- **seconds since 1970-01-01 UTC** for a date feature (NaN: missing). Dates are ISO 8601 text;
  a time without an offset is taken as UTC, one with an offset is converted to UTC.

``ExpandColumns`` then turns codes into one-hot columns and seconds into the date parts the
contract names (:data:`DATE_PARTS`).
"""

from __future__ import annotations

__all__ = [
    "DATE_PARTS",
    "DEFAULT_DATE_PARTS",
    "OTHER",
    "date_parts",
    "epoch_seconds",
    "learn_vocabulary",
    "number_column",
    "text_codes",
]

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

OTHER = -1.0
_DAY = 86400.0
# What a date feature can become; each is a number the model sees, named in the contract.
DATE_PARTS = ("year", "month", "day", "dayofweek", "dayofyear", "hour", "epoch_days")
DEFAULT_DATE_PARTS = ("year", "month", "dayofweek", "epoch_days")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value == ""


def _text(value: Any) -> str:
    """The category a cell names: text as it is, a whole number without its ``.0``."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def learn_vocabulary(values: pd.Series, max_categories: int | None) -> tuple[str, ...]:
    """The categories that get a column, most frequent first, ties in text order.

    All of them when ``max_categories`` is ``None``, else the ``max_categories`` most frequent;
    the order is fixed, so a refit on the same rows gives the same codes.
    """
    present = values[values.notna()].map(_text)
    present = present[present != ""]
    counts = present.value_counts()
    ranked = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
    if max_categories is not None:
        ranked = ranked[:max_categories]
    return tuple(str(name) for name, _ in ranked)


def text_codes(values: Any, vocabulary: Mapping[str, int]) -> np.ndarray:
    """Category codes of ``values`` (a Series, list or array of cells): see the module docstring."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    missing = series.isna().to_numpy(copy=True)
    as_text = series.astype(object).where(missing, series.map(_text, na_action="ignore"))
    missing |= (as_text == "").to_numpy()
    codes = np.array(as_text.map(vocabulary), dtype="float64")
    codes[np.isnan(codes)] = OTHER
    codes[missing] = np.nan
    return codes


def epoch_seconds(values: Any, *, name: str) -> np.ndarray:
    """Seconds since 1970-01-01 UTC of ISO 8601 dates (text, datetimes or numbers of seconds).

    Raises:
        ValueError: A value is not an ISO 8601 date; the message names the column and examples.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = pd.to_datetime(series, utc=True)
    elif pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    else:
        cells = series.astype(object)
        # Nulls of any kind (None, NaN, NaT, pd.NA) and empty text are missing.
        missing = cells.isna() | cells.map(lambda v: isinstance(v, str) and not v).astype(bool)
        numbers = cells.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool))
        text = cells.where(~missing & ~numbers, None)
        stamps = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
        bad = ~missing & ~numbers & stamps.isna()
        if bad.any():
            examples = ", ".join(repr(v) for v in pd.unique(cells[bad].to_numpy())[:3])
            raise ValueError(
                f"column {name!r}: {int(bad.sum())} value(s) are not ISO 8601 dates ({examples}); "
                "write dates as 2024-03-01 or 2024-03-01T10:30:00"
            )
        seconds = _stamp_seconds(stamps)
        if numbers.any():
            seconds[numbers.to_numpy()] = cells[numbers].to_numpy(dtype="float64")
        return seconds
    return _stamp_seconds(stamps)


def _stamp_seconds(stamps: pd.Series) -> np.ndarray:
    utc = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    nanos = utc.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
    seconds = nanos / 1e9
    seconds[stamps.isna().to_numpy(copy=True)] = np.nan
    return np.asarray(seconds, dtype="float64")


def date_parts(seconds: np.ndarray, parts: Sequence[str]) -> np.ndarray:
    """The named parts of dates given as seconds since 1970 UTC: ``[N, len(parts)]`` float64.

    ``dayofweek`` is 0 for Monday; ``epoch_days`` is days since 1970 with the time as a fraction
    (a trend the model can use). A missing date gives NaN in every part.
    """
    missing = np.isnan(seconds)
    whole = np.where(missing, 0.0, np.floor(seconds)).astype("int64").astype("datetime64[s]")
    days = whole.astype("datetime64[D]")
    months = whole.astype("datetime64[M]")
    years = whole.astype("datetime64[Y]")
    computed = {
        "year": years.astype("int64") + 1970,
        "month": months.astype("int64") % 12 + 1,
        "day": (days - months.astype("datetime64[D]")).astype("int64") + 1,
        "dayofweek": (days.astype("int64") + 3) % 7,
        "dayofyear": (days - years.astype("datetime64[D]")).astype("int64") + 1,
        "hour": np.floor_divide(np.where(missing, 0.0, seconds), 3600.0) % 24,
        "epoch_days": np.where(missing, 0.0, seconds) / _DAY,
    }
    out = np.column_stack([np.asarray(computed[p], dtype="float64") for p in parts])
    out[missing] = np.nan
    return out


def number_column(values: Sequence[Any], *, name: str) -> np.ndarray:
    """A numeric feature's cells (numbers, ``None`` for missing) as float64.

    Raises:
        ValueError: A cell is not a number; the message names the column.
    """
    try:
        column = np.array([np.nan if v is None else v for v in values], dtype="float64")
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"column {name!r}: expected numbers (null for missing)") from None
    if column.ndim != 1 or np.isinf(column).any():
        raise ValueError(f"column {name!r}: expected finite numbers (null for missing)")
    return column
