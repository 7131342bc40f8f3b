"""The rules behind ``contract.py``: one ``Column`` declaration, executed on frames and batches.

``contract.py`` holds only the declaration (``COLUMNS``), so ``make contract`` can regenerate it
from data; this module runs it. Training data goes through :meth:`Contract.validate_frame`,
serving batches through :meth:`Contract.check_batch`; both count offending values with the same
numeric rule function, so the two cannot disagree about what breaks the contract.

Every broken rule is reported once, with the true number of offending rows: a value that is not
a number counts once, as a type violation, and is not counted again against the range.
"""

from __future__ import annotations

__all__ = ["Column", "Contract", "DType", "Role"]

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .encoding import DATE_PARTS, DEFAULT_DATE_PARTS
from .errors import ContractViolation, Violation

DType = Literal["int", "float", "str", "date"]
Role = Literal["key", "feature", "target", "attribute"]
_EXAMPLES = 3


@dataclass(frozen=True, kw_only=True)
class Column:
    """The rules for one column.

    Attributes:
        name: Column name.
        dtype: ``"int"``, ``"float"``, ``"str"`` or ``"date"`` (ISO 8601 text, UTC unless it
            carries an offset).
        role: ``"key"``, ``"feature"``, ``"target"`` or ``"attribute"`` (kept, not a feature).
            A ``"str"`` feature is categorical: one-hot encoded in the model's transform, with
            an "other" column for rare and unseen values and a "missing" one for nulls. A
            ``"date"`` feature becomes the numbers ``date_parts`` names.
        minimum: Smallest allowed value (numeric columns).
        maximum: Largest allowed value (numeric columns).
        allowed: The only values allowed, when the column is categorical.
        nullable: Whether nulls are allowed.
        unique: Whether every value must differ (keys).
        max_categories: A ``"str"`` feature: how many of its most frequent training values get
            a column of their own (``None``: every value seen in training); the rest share
            the "other" column, which bounds the width of a high-cardinality column.
        date_parts: A ``"date"`` feature: the numbers the model sees, from
            ``mlplat_runtime.encoding.DATE_PARTS`` (year, month, day, dayofweek, dayofyear,
            hour, epoch_days).
    """

    name: str
    dtype: DType
    role: Role
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[Any, ...] | None = None
    nullable: bool = False
    unique: bool = False
    max_categories: int | None = None
    date_parts: tuple[str, ...] | None = None


def _numeric_counts(column: Column, values: np.ndarray) -> list[tuple[str, int]]:
    """``(rule, offending count)`` for the numeric rules of ``column`` over float ``values``.

    NaN is a null. The same function checks training frames and serving batches.
    """
    found: list[tuple[str, int]] = []
    nulls = np.isnan(values)
    null_count = int(np.count_nonzero(nulls))
    if not column.nullable and null_count:
        found.append(("null", null_count))
    # Comparisons with NaN are false, so only the whole-number and allowed-value rules need the
    # nulls taken out; a column without nulls (the common case) is not copied.
    present = values[~nulls] if null_count else values
    if column.dtype == "int" and (count := int((present != np.round(present)).sum())):
        found.append(("whole", count))
    if column.minimum is not None and (count := int((present < column.minimum).sum())):
        found.append(("minimum", count))
    if column.maximum is not None and (count := int((present > column.maximum).sum())):
        found.append(("maximum", count))
    if column.allowed is not None:
        allowed = np.asarray(column.allowed, dtype="float64")
        if count := int((~np.isin(present, allowed)).sum()):
            found.append(("allowed", count))
    return found


def _batch_message(column: Column, rule: str, count: int) -> str:
    words = {
        "null": "null (not nullable)",
        "whole": "not whole numbers",
        "minimum": f"below minimum {column.minimum:g}" if column.minimum is not None else "",
        "maximum": f"above maximum {column.maximum:g}" if column.maximum is not None else "",
        "allowed": f"not in allowed values {column.allowed}",
    }
    return f"{column.name}: {count} rows {words[rule]}"


def _frame_rule(column: Column, rule: str) -> str:
    words = {
        "null": "no nulls",
        "whole": "whole numbers",
        "minimum": f"minimum {column.minimum:g}" if column.minimum is not None else "",
        "maximum": f"maximum {column.maximum:g}" if column.maximum is not None else "",
        "allowed": f"allowed values {column.allowed}",
    }
    return words[rule]


def _examples(values: pd.Series) -> tuple[str, ...]:
    return tuple(repr(v) for v in pd.unique(values.to_numpy(dtype=object))[:_EXAMPLES])


@dataclass(frozen=True)
class Contract:
    """A validated set of columns: one target, at most one key, unique names.

    Raises:
        ValueError: At construction, when the declaration itself is inconsistent (the message
            names contract.py and the column).
    """

    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"contract.py declares these columns twice: {', '.join(twice)}")
        targets = [c.name for c in self.columns if c.role == "target"]
        if len(targets) != 1:
            raise ValueError(f"contract.py needs exactly one role='target' column, has {targets}")
        keys = [c.name for c in self.columns if c.role == "key"]
        if len(keys) > 1:
            raise ValueError(f"contract.py may declare one role='key' column, has {keys}")
        for column in self.columns:
            if column.dtype == "str" and (column.minimum, column.maximum) != (None, None):
                raise ValueError(f"contract.py: '{column.name}' is a str column with a range")
            _check_encoding(column)

    @property
    def features(self) -> tuple[str, ...]:
        """Model inputs, in order."""
        return tuple(c.name for c in self.columns if c.role == "feature")

    @property
    def numeric_features(self) -> tuple[str, ...]:
        """Numeric model inputs (the ones with a distribution profile), in order."""
        return tuple(
            c.name for c in self.columns if c.role == "feature" and c.dtype in {"int", "float"}
        )

    @property
    def text_features(self) -> dict[str, int | None]:
        """Categorical (text) features and their ``max_categories``, in order."""
        return {
            c.name: c.max_categories
            for c in self.columns
            if c.role == "feature" and c.dtype == "str"
        }

    @property
    def date_features(self) -> dict[str, tuple[str, ...]]:
        """Date features and the parts each becomes, in order."""
        return {
            c.name: c.date_parts or DEFAULT_DATE_PARTS
            for c in self.columns
            if c.role == "feature" and c.dtype == "date"
        }

    @property
    def key(self) -> str | None:
        """The row key, or ``None`` (the split then hashes each row's content)."""
        return next((c.name for c in self.columns if c.role == "key"), None)

    @property
    def target(self) -> str:
        """What the model predicts."""
        return next(c.name for c in self.columns if c.role == "target")

    def row_keys(self, df: pd.DataFrame) -> pd.Series:
        """What the split hashes per row: the key, or without one a hash of the row's values.

        The content hash is deterministic (pandas' fixed hash key), so a row keeps its split
        until one of its contract values changes; identical rows share a split.
        """
        if self.key is not None:
            return df[self.key]
        names = [c.name for c in self.columns]
        return pd.util.hash_pandas_object(df[names], index=False).astype(str)

    def as_dict(self) -> dict[str, Any]:
        """The contract as JSON-able data (stored in the model's metadata and the model card)."""
        return {
            "columns": [asdict(c) for c in self.columns],
            "features": list(self.features),
            "key": self.key,
            "target": self.target,
        }

    def check_batch(self, X: np.ndarray) -> list[str]:
        """Check a serving batch against the contract, fast.

        Args:
            X: float64 array of shape ``[N, len(FEATURES)]`` in ``FEATURES`` order; NaN is null.
                Text and date columns hold codes (``encoding.py``): only their null rule
                applies, so an unseen category is never a violation.

        Returns:
            An empty list when the batch is valid, else one message per column and rule, such as
            ``"bmi: 3 rows above maximum 70"``.
        """
        features = [c for c in self.columns if c.role == "feature"]
        if X.ndim != 2 or X.shape[1] != len(features):
            names = ", ".join(c.name for c in features)
            return [f"input: expected shape [N, {len(features)}] ({names}), got {X.shape}"]
        return [
            _batch_message(column, rule, count)
            for j, column in enumerate(features)
            for rule, count in _numeric_counts(column, X[:, j])
            if column.dtype in {"int", "float"} or rule == "null"
        ]

    def validate_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """Validate training data and return it with contract types, contract columns only.

        Every broken rule is collected before failing, so one run reports all of them: each
        missing column, each column and rule once, with the number of offending rows.

        Raises:
            ContractViolation: Naming each column, rule and the count of offending rows.
        """
        violations: list[Violation] = []
        if len(df) == 0:
            violations.append(Violation(column="(rows)", rule="at least one row", rows=None))
        out: dict[str, pd.Series] = {}
        for column in self.columns:
            if column.name not in df.columns:
                violations.append(Violation(column=column.name, rule="column present", rows=None))
                continue
            series, found = _check_series(column, df[column.name])
            violations += found
            out[column.name] = series
        if violations:
            raise ContractViolation(violations, where="input data")
        return pd.DataFrame(out, index=df.index)


def _check_encoding(column: Column) -> None:
    """The encoding fields fit the column's type (the message names contract.py and the column)."""
    where = f"contract.py: '{column.name}'"
    if column.dtype == "date" and (column.minimum, column.maximum) != (None, None):
        raise ValueError(f"{where} is a date column with a range")
    if column.max_categories is not None and (column.dtype != "str" or column.role != "feature"):
        raise ValueError(f"{where}: max_categories is for str features only")
    if column.max_categories is not None and column.max_categories < 1:
        raise ValueError(f"{where}: max_categories must be at least 1")
    if column.date_parts is not None:
        if column.dtype != "date":
            raise ValueError(f"{where}: date_parts is for date columns only")
        unknown = [p for p in column.date_parts if p not in DATE_PARTS]
        if unknown or not column.date_parts:
            raise ValueError(
                f"{where}: date_parts {column.date_parts} must name some of {', '.join(DATE_PARTS)}"
            )


def _check_dates(column: Column, series: pd.Series) -> tuple[pd.Series, list[Violation]]:
    """ISO 8601 dates as UTC timestamps; values that are not dates counted once."""
    found: list[Violation] = []
    if pd.api.types.is_datetime64_any_dtype(series):
        typed = pd.to_datetime(series, utc=True)
    else:
        text = (
            series.astype(object)
            .where(series.notna(), None)
            .map(lambda v: v if v is None else str(v))
        )
        typed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
        bad = text.notna() & typed.isna()
        if count := int(bad.sum()):
            found.append(
                Violation(
                    column=column.name,
                    rule="type date (ISO 8601, such as 2024-03-01 or 2024-03-01T10:30:00)",
                    rows=count,
                    examples=_examples(series[bad]),
                )
            )
    if not column.nullable and (count := int(series.isna().sum())):
        found.append(Violation(column=column.name, rule="no nulls", rows=count))
    return typed, found


def _check_series(column: Column, series: pd.Series) -> tuple[pd.Series, list[Violation]]:
    """``series`` in the contract's type, and every rule it breaks (each once)."""
    name = column.name
    found: list[Violation] = []
    if column.dtype == "date":
        typed, found = _check_dates(column, series)
    elif column.dtype == "str":
        nulls = series.isna()
        typed = series.astype(object).where(nulls, series.astype(object).map(str))
        if not column.nullable and (count := int(nulls.sum())):
            found.append(Violation(column=name, rule="no nulls", rows=count))
        if column.allowed is not None:
            outside = ~nulls & ~typed.isin([str(v) for v in column.allowed])
            if count := int(outside.sum()):
                found.append(
                    Violation(
                        column=name,
                        rule=f"allowed values {column.allowed}",
                        rows=count,
                        examples=_examples(typed[outside]),
                    )
                )
    else:
        if series.dtype == np.float64:
            # Already numbers (Parquet, or a CSV column of numbers): nothing to coerce or count.
            numbers = series
            not_numbers = pd.Series(False, index=series.index)
        else:
            raw = series.astype("float64") if pd.api.types.is_bool_dtype(series) else series
            numbers = pd.to_numeric(raw, errors="coerce").astype("float64")
            not_numbers = series.notna() & numbers.isna()
        if mistyped := int(not_numbers.sum()):
            found.append(
                Violation(
                    column=name,
                    rule=f"type {column.dtype}",
                    rows=mistyped,
                    examples=_examples(series[not_numbers]),
                )
            )
        values = numbers.to_numpy()
        # Values that are not numbers were counted above; they are not nulls of the data.
        checked = values[~not_numbers.to_numpy()] if mistyped else values
        for rule, count in _numeric_counts(column, checked):
            found.append(Violation(column=name, rule=_frame_rule(column, rule), rows=count))
        whole = column.dtype == "int" and not numbers.isna().any()
        typed = numbers.astype("int64") if whole and not found else numbers
    if column.unique:
        repeated = typed.notna() & typed.duplicated(keep=False)
        if count := int(repeated.sum()):
            found.append(
                Violation(
                    column=name, rule="unique", rows=count, examples=_examples(typed[repeated])
                )
            )
    return typed, found
