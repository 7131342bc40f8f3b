"""What ``make contract`` proposes for text and date columns: categorical and date features.

- Text with at most ``LOW_CARDINALITY`` values: a categorical feature, one-hot encoded, every
  training value its own column (plus "other" for values first seen in serving, "missing").
- Text with more values but repeating (under ``ID_SHARE`` of the rows distinct): a categorical
  feature with ``max_categories=TOP_K``: the most frequent values get a column, the rest share
  "other". Why top-K and not target encoding: it cannot leak the target into the features, needs
  no cross-fitting, reads plainly in the contract and the model card, works for linear models and
  trees alike, and bounds the transform's width (and serving's cost) whatever the cardinality.
- Text that is nearly all distinct: an identifier or free text, never a feature (left out).
- ISO 8601 dates (or datetime columns): a date feature whose ``date_parts`` are written into the
  contract: year, month, day of week and days since 1970 (a trend), plus the hour when the
  values carry times. Dates in other formats are left out with how to fix them.
"""

from __future__ import annotations

__all__ = ["ID_SHARE", "LOW_CARDINALITY", "TOP_K", "date_column", "text_feature"]

import pandas as pd

from .rules import Column

LOW_CARDINALITY = 20
TOP_K = 20
ID_SHARE = 0.5


def _iso_dates(series: pd.Series) -> pd.Series | None:
    """``series`` as UTC timestamps when every value is an ISO 8601 date, else ``None``."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return pd.to_datetime(series, utc=True)
    present = series.dropna().astype(str)
    parsed = pd.to_datetime(present, utc=True, errors="coerce", format="ISO8601")
    return parsed if bool(parsed.notna().all()) else None


def date_column(name: str, series: pd.Series, left_out: list[str]) -> Column | None:
    """A date feature for a column of dates, or ``None`` (with a line in ``left_out``)."""
    stamps = _iso_dates(series)
    if stamps is None:
        left_out.append(
            f"{name}: dates, but not all ISO 8601 (such as 2024-03-01 or 2024-03-01T10:30:00); "
            "write them that way and rerun make contract to use it as a date feature"
        )
        return None
    present = stamps.dropna()
    timed = bool(len(present)) and bool((present != present.dt.normalize()).any())
    parts = ("year", "month", "dayofweek", *(("hour",) if timed else ()), "epoch_days")
    return Column(
        name=name,
        dtype="date",
        role="feature",
        date_parts=parts,
        nullable=bool(series.isna().any()),
    )


def text_feature(
    name: str, series: pd.Series, decisions: list[str], left_out: list[str]
) -> Column | None:
    """A categorical feature for a text column, or ``None`` for an identifier or free text."""
    present = series.dropna()
    n_values = int(present.nunique())
    nullable = bool(series.isna().any())
    if n_values <= LOW_CARDINALITY:
        decisions.append(
            f"'{name}': a categorical feature ({n_values} values, one-hot; unseen values "
            "count as 'other', missing ones as 'missing')"
        )
        return Column(name=name, dtype="str", role="feature", nullable=nullable)
    if n_values > ID_SHARE * len(present):
        left_out.append(
            f"{name}: text with {n_values} distinct values in {len(present)} rows (an "
            "identifier or free text, not a category)"
        )
        return None
    decisions.append(
        f"'{name}': a categorical feature with {n_values} values: the {TOP_K} most frequent "
        "get a column each, the rest share 'other' (max_categories in contract.py)"
    )
    return Column(name=name, dtype="str", role="feature", max_categories=TOP_K, nullable=nullable)
