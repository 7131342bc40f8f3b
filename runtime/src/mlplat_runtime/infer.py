"""A first data contract inferred from a table: what ``make contract`` decides, and why.

pandera's ``infer_schema`` gives each column's type, nullability and observed range; the rules
here turn that into roles and limits the pipeline can use, and say every decision out loud:

- the target: ``TARGET``, else a column named target/label/y/class/outcome. Two values 0/1 (or
  booleans) make a binary classification; text with 3 to 20 values a multiclass one; whole
  numbers with 3 to 20 values are asked about (``PROBLEM=classification`` or ``regression``)
  rather than guessed; other numbers a regression. Two values other than 0/1 are refused (which
  one is positive?), as are text targets with more than 20 values.
- the key: ``KEY`` (it must be unique and never null), else a unique, never-null column named like
  an id. Without one, the split hashes each row's content instead.
- features are the numeric and boolean columns, text categories and ISO 8601 dates (how text
  and dates are encoded: ``infer_kinds.py``; ids and free text never are). Ranges are the
  observed ones widened by 10% (and kept at 0 when the data never goes below it); columns with
  at most 5 numeric values get allowed values instead. Numeric columns with nulls are features
  too: the transform fills missing values for estimators that cannot take them.
- sensitive text columns are attributes with allowed values; constant and empty columns, dates
  in other formats and unchosen ids are left out.
- sensitive columns are attributes, never features; without ``SENSITIVE`` the fairness gate
  checks nothing, which is printed, with the columns whose names suggest one.
"""

from __future__ import annotations

__all__ = ["Draft", "InferOptions", "Problem", "describe_column", "infer_contract"]

import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import PipelineError
from .infer_kinds import date_column, text_feature
from .rules import Column, Contract, Role

Problem = Literal["classification", "regression"]
_TARGET_NAMES = ("target", "label", "y", "class", "outcome")
_ID_NAME = re.compile(r"(^|[_\W])(id|key|uuid|guid)$|^(id|key)[_\W]|[a-z]Id$", re.IGNORECASE)
_SENSITIVE_HINTS = (
    "sex",
    "gender",
    "race",
    "ethnic",
    "religio",
    "age",
    "nationality",
    "disab",
    "marital",
    "pregnan",
)
_MAX_TEXT_VALUES = 20
_MAX_CLASSES = 20
_IMBALANCED = 0.2  # smallest class share / even share (0.2: 10% of a binary target)
_MAX_NUMERIC_VALUES = 5
_MARGIN = 0.1
_SKEW = 1.0
_MAX_SLICES = 3
_DATE_SHARE = 0.95
_COUNTER_ROWS = 200  # unique whole numbers over this many rows are ids


@dataclass(frozen=True, kw_only=True)
class InferOptions:
    """What the user said about the data (all optional).

    Attributes:
        target: The column to predict.
        key: The unique row key.
        sensitive: Columns the fairness gate compares groups of.
        test_fraction: The configured test share (to predict group sizes in the test split).
        min_group_size: The fairness gate's minimum group size.
        problem: ``PROBLEM``: the problem type when the target alone cannot say.
    """

    target: str | None = None
    key: str | None = None
    sensitive: tuple[str, ...] = ()
    test_fraction: float = 0.2
    min_group_size: int = 20
    problem: Problem | None = None


@dataclass(frozen=True, kw_only=True)
class Draft:
    """An inferred contract and the config keys that go with it.

    Attributes:
        columns: The contract's columns, in the data's order.
        problem_type: ``"classification"`` or ``"regression"``.
        sensitive: Sensitive columns (``data.sensitive_columns``).
        slices: Slice columns (``data.slice_columns``).
        log_columns: Skewed non-negative features (``features.log_columns``).
        imbalanced: A class holds under ``_IMBALANCED`` of the rows its even share would be
            (binary: under 10% positives or negatives): class weights, a tuned threshold.
        binary: A 0/1 classification target.
        left_out: One line per column kept out of the contract, with the reason.
        decisions: What was decided, one line each, for the user to read.
        review: What the user should check, one line each.
    """

    columns: tuple[Column, ...]
    problem_type: Problem
    sensitive: tuple[str, ...]
    slices: tuple[str, ...]
    log_columns: tuple[str, ...]
    imbalanced: bool = False
    binary: bool = False
    left_out: tuple[str, ...] = ()
    decisions: tuple[str, ...] = ()
    review: tuple[str, ...] = ()

    @property
    def features(self) -> tuple[str, ...]:
        """The feature columns, in order."""
        return Contract(self.columns).features


@dataclass
class _Notes:
    decisions: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


def _no_column(what: str, name: str, df: pd.DataFrame) -> PipelineError:
    names = [str(c) for c in df.columns]
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return PipelineError(
        f"{what}={name} is not a column of the data{hint}; its columns are: {', '.join(names)}"
    )


def _examples(values: pd.Series, n: int = 3) -> str:
    return ", ".join(repr(v) for v in pd.unique(values.to_numpy(dtype=object))[:n])


def _widen(low: float, high: float, *, integer: bool) -> tuple[float, float]:
    """Observed ``[low, high]`` widened by 10% of the span, rounded outward to 2 digits."""
    span = high - low
    margin = span * _MARGIN if span > 0 else max(abs(high) * _MARGIN, 1.0)
    step = 10.0 ** (math.floor(math.log10(max(span, margin))) - 1)
    if integer:
        step = max(step, 1.0)
    digits = max(0, -math.floor(math.log10(step)))
    minimum = round(math.floor((low - margin) / step) * step, digits)
    maximum = round(math.ceil((high + margin) / step) * step, digits)
    if low >= 0:
        minimum = max(0.0, minimum)
    if integer:
        return float(int(minimum)), float(int(maximum))
    return minimum, maximum


def _whole(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


def _is_id_like(name: str, series: pd.Series) -> bool:
    return bool(_ID_NAME.search(name)) and bool(series.notna().all()) and bool(series.is_unique)


def _is_counter(series: pd.Series) -> bool:
    """Whole numbers, never empty, all different over many rows: a row number or an id."""
    return (
        pd.api.types.is_integer_dtype(series)
        and len(series) >= _COUNTER_ROWS
        and bool(series.notna().all())
        and bool(series.is_unique)
    )


def _looks_like_dates(series: pd.Series) -> bool:
    sample = series.dropna().astype(str).head(200)
    if sample.empty or not sample.str.contains(r"\d{1,4}[-/.]\d{1,2}", regex=True).all():
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= _DATE_SHARE)


def _target(df: pd.DataFrame, options: InferOptions, notes: _Notes) -> tuple[str, Problem]:
    if options.target is not None:
        if options.target not in df.columns:
            raise _no_column("TARGET", options.target, df)
        name = options.target
        notes.decisions.append(f"target: '{name}' (TARGET)")
    else:
        lowered = {str(c).lower(): str(c) for c in df.columns}
        found = next((lowered[n] for n in _TARGET_NAMES if n in lowered), None)
        if found is None:
            raise PipelineError(
                "no TARGET given and no column is named " + ", ".join(_TARGET_NAMES) + ": pass "
                f"TARGET=<column>; the columns are: {', '.join(str(c) for c in df.columns)}"
            )
        name = found
        notes.decisions.append(f"target: '{name}' (by its name; TARGET=<column> picks another)")
    series = df[name]
    if nulls := int(series.isna().sum()):
        raise PipelineError(
            f"target '{name}' is empty in {nulls} of {len(df)} rows: a model cannot learn from "
            "rows without a label; remove those rows from the data, then rerun make contract"
        )
    values = pd.unique(series.to_numpy())
    if len(values) < 2:
        raise PipelineError(f"target '{name}' has one value only ({values[0]!r}): nothing to learn")
    return name, _problem_type(name, series, options.problem, notes)


def _problem_type(name: str, series: pd.Series, problem: Problem | None, notes: _Notes) -> Problem:
    """Binary, multiclass or regression; an integer target with few values is asked about.

    The rule: 0/1 (or true/false) is binary classification; text with 3 to
    ``_MAX_CLASSES`` values is multiclass; whole numbers with 3 to ``_MAX_CLASSES`` values are
    ambiguous (classes coded as numbers, or counts?) and need ``PROBLEM=``; other numbers are a
    regression. ``PROBLEM`` overrides wherever the data allows it.
    """
    distinct = sorted(pd.unique(series.to_numpy()).tolist(), key=str)
    numeric = pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
    recode = (
        f"recode '{name}' as 0 and 1 in your data (1 = the positive class, the one recall and "
        "selection rate are about), then rerun make contract"
    )
    if len(distinct) == 2:
        if numeric and {float(v) for v in distinct} == {0.0, 1.0} and problem != "regression":
            share = float(series.astype("float64").mean())
            notes.decisions.append(
                f"problem type: classification ('{name}' is 0/1, {share:.1%} of rows are 1)"
            )
            if min(share, 1 - share) * len(series) < 20:
                notes.review.append(
                    f"'{name}' has few rows of one class ({min(share, 1 - share):.1%}): the test "
                    "split may hold too few of them for stable metrics"
                )
            return "classification"
        raise PipelineError(
            f"target '{name}' has two values ({_examples(series)}): the pipeline's binary "
            f"classifiers need 0 and 1: {recode}"
        )
    whole = numeric and bool((series == np.round(series.astype("float64"))).all())
    few = len(distinct) <= _MAX_CLASSES
    if not numeric or (whole and few and problem != "regression"):
        if not few:
            raise PipelineError(
                f"target '{name}' has {len(distinct)} text values ({_examples(series)}, ...): "
                f"the pipeline classifies into at most {_MAX_CLASSES} classes; group the rare "
                f"ones in your data (say, as 'other'), or predict a numeric column, and rerun"
            )
        if problem == "regression":
            raise PipelineError(
                f"PROBLEM=regression, but target '{name}' is text ({_examples(series)}, ...): "
                "a regression predicts numbers; drop PROBLEM= to classify"
            )
        if numeric and problem is None:
            raise PipelineError(
                f"target '{name}' has {len(distinct)} whole-number values "
                f"({', '.join(str(v) for v in distinct[:8])}): are they classes or amounts? "
                "Rerun with PROBLEM=classification (unordered classes: multiclass) or "
                "PROBLEM=regression (a count or score)"
            )
        counts = series.value_counts()
        notes.decisions.append(
            f"problem type: classification, {len(distinct)} classes in '{name}' (smallest: "
            f"{counts.index[-1]!r} in {counts.iloc[-1] / len(series):.1%} of rows)"
            + (" (PROBLEM)" if problem else "")
        )
        if int(counts.iloc[-1]) < 20:
            notes.review.append(
                f"class {counts.index[-1]!r} of '{name}' has {int(counts.iloc[-1])} rows: the "
                "test split holds few of them, so its per-class metrics are noisy"
            )
        return "classification"
    if problem == "classification":
        raise PipelineError(
            f"PROBLEM=classification, but target '{name}' has {len(distinct)} numeric values"
            + ("" if whole else " that are not whole numbers")
            + f": classes need at most {_MAX_CLASSES} distinct values; drop PROBLEM= for a "
            "regression, or bin the target in your data"
        )
    notes.decisions.append(
        f"problem type: regression ('{name}' has {len(distinct)} numeric values)"
        + (" (PROBLEM)" if problem else "")
    )
    return "regression"


def _target_column(name: str, series: pd.Series) -> Column:
    """The class target: its labels as allowed values, text or whole numbers."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        labels = sorted({int(v) for v in series.astype("float64")})
        return Column(name=name, dtype="int", role="target", allowed=tuple(labels))
    texts = tuple(sorted({str(v) for v in series}))
    return Column(name=name, dtype="str", role="target", allowed=texts)


def _key(df: pd.DataFrame, options: InferOptions, target: str, notes: _Notes) -> str | None:
    if options.key is not None:
        if options.key not in df.columns:
            raise _no_column("KEY", options.key, df)
        series = df[options.key]
        if nulls := int(series.isna().sum()):
            raise PipelineError(
                f"KEY={options.key} is empty in {nulls} row(s): a key names every row; fill it "
                "in, or pass another KEY (or none: the split then hashes each row's content)"
            )
        repeated = series[series.duplicated(keep=False)]
        if len(repeated):
            raise PipelineError(
                f"KEY={options.key} is not unique: {len(repeated)} rows share "
                f"{repeated.nunique()} value(s) (e.g. {_examples(repeated)}). Pass a unique "
                "column, or no KEY (the split then hashes each row's content)"
            )
        notes.decisions.append(f"key: '{options.key}' (KEY; unique, never empty)")
        return options.key
    for name in df.columns:
        if name != target and _is_id_like(str(name), df[name]):
            notes.decisions.append(f"key: '{name}' (named like an id, unique, never empty)")
            return str(name)
    notes.decisions.append(
        "key: none (no unique, never-empty id column): the split hashes each row's content, so "
        "a row keeps its split until one of its values changes; KEY=<column> names one"
    )
    return None


def _numeric(name: str, series: pd.Series, role: Role) -> Column:
    """A numeric column: allowed values when it has few, else a widened range."""
    present = series.dropna().astype("float64")
    integer = pd.api.types.is_integer_dtype(series) or pd.api.types.is_bool_dtype(series)
    dtype: Literal["int", "float"] = "int" if integer else "float"
    values = sorted(pd.unique(present.to_numpy()).tolist())
    nullable = bool(series.isna().any())
    if len(values) <= _MAX_NUMERIC_VALUES:
        allowed = tuple(int(v) if integer else float(v) for v in values)
        return Column(name=name, dtype=dtype, role=role, allowed=allowed, nullable=nullable)
    low, high = _widen(float(present.min()), float(present.max()), integer=integer)
    return Column(
        name=name,
        dtype=dtype,
        role=role,
        minimum=_whole(low),
        maximum=_whole(high),
        nullable=nullable,
    )


def _other(
    name: str, series: pd.Series, *, sensitive: bool, key: str | None, notes: _Notes
) -> Column | None:
    """Roles for a column that is neither target nor key; ``None`` leaves it out."""
    import pandera.pandas as pa
    from pandera import dtypes

    n_values = int(series.nunique(dropna=True))
    if series.isna().all():
        notes.left_out.append(f"{name}: every value is empty")
        return None
    kind = pa.infer_schema(series.to_frame()).columns[name].dtype
    # Text is pandas' str dtype from pandas 3, object before it (Feast projects pin pandas 2).
    textual = dtypes.is_string(kind) or pd.api.types.is_object_dtype(series.dtype)
    if dtypes.is_datetime(kind) or (textual and _looks_like_dates(series)):
        if sensitive:
            notes.left_out.append(f"{name}: dates cannot be a sensitive column")
            return None
        return date_column(name, series, notes.left_out)
    if n_values == 1 and not sensitive:
        notes.left_out.append(f"{name}: one value only ({_examples(series.dropna())})")
        return None
    if dtypes.is_numeric(kind) or dtypes.is_bool(kind):
        if key is not None and not sensitive and _is_id_like(name, series):
            notes.left_out.append(f"{name}: looks like an id (unique, named like one)")
            return None
        if not sensitive and _is_counter(series):
            notes.left_out.append(
                f"{name}: a different whole number in every row (an identifier, not a "
                "feature); KEY={name} makes it the key"
            )
            return None
        if sensitive:
            return _numeric(name, series, "attribute")
        if series.isna().any():
            notes.decisions.append(
                f"'{name}': a feature empty in {int(series.isna().sum())} rows; the transform "
                "fills missing values (the linear model: the training mean; trees learn a side)"
            )
        return _numeric(name, series, "feature")
    text = series.astype(object)
    numbers = pd.to_numeric(text, errors="coerce")
    bad = series.notna() & numbers.isna()
    if numbers.notna().any() and bad.mean() < 0.1 * series.notna().mean():
        notes.left_out.append(
            f"{name}: numbers except {int(bad.sum())} value(s) that are not "
            f"({_examples(series[bad])}); write those as empty cells (nulls) or fix them, then "
            "rerun make contract to use it"
        )
        return None
    if n_values > _MAX_TEXT_VALUES:
        if sensitive:
            raise PipelineError(
                f"SENSITIVE column '{name}' has {n_values} distinct values: the fairness gate "
                f"compares groups of at least min_group_size rows; pass a column with at most "
                f"{_MAX_TEXT_VALUES} groups (bin or group it in your data first)"
            )
    if not sensitive:
        if key is not None and _is_id_like(name, series):
            notes.left_out.append(f"{name}: looks like an id (unique, named like one)")
            return None
        return text_feature(name, series, notes.decisions, notes.left_out)
    allowed = tuple(sorted(str(v) for v in series.dropna().unique()))
    return Column(
        name=name,
        dtype="str",
        role="attribute",
        allowed=allowed,
        nullable=bool(series.isna().any()),
    )


def _skew(values: np.ndarray) -> float:
    """Sample skewness (the adjusted Fisher-Pearson coefficient, as pandas computes it)."""
    n = len(values)
    std = float(values.std(ddof=1)) if n > 2 else 0.0
    if std == 0:
        return 0.0
    moment = float(np.mean(((values - values.mean()) / values.std(ddof=0)) ** 3))
    return moment * math.sqrt(n * (n - 1)) / (n - 2)


def _skewed(df: pd.DataFrame, columns: list[Column]) -> tuple[str, ...]:
    """Non-negative features with a long right tail (skew above 1): log1p before scaling."""
    found = []
    for column in columns:
        numeric = column.dtype in {"int", "float"}
        if column.role != "feature" or not numeric or column.allowed is not None:
            continue
        if (column.minimum or 0) < 0:
            continue
        values = df[column.name].to_numpy(dtype="float64")
        values = values[~np.isnan(values)]
        if len(values) > 2 and values.min() >= 0 and _skew(values) > _SKEW:
            found.append(column.name)
    return tuple(found)


def _check_groups(df: pd.DataFrame, name: str, options: InferOptions, notes: _Notes) -> None:
    from .slices import groups

    counts = groups(df[name]).value_counts()
    expected = counts * options.test_fraction
    large = int((expected >= options.min_group_size).sum())
    if large < 2:
        notes.review.append(
            f"sensitive '{name}': {large} group(s) expected to reach min_group_size="
            f"{options.min_group_size} rows in the test split ({options.test_fraction:g} of "
            f"{len(df)} rows), 2 needed; the gate reports it 'not evaluated' and blocks "
            "promotion until there are more rows or evaluate.fairness.min_group_size is lower"
        )


def infer_contract(df: pd.DataFrame, options: InferOptions) -> Draft:
    """Infer a contract for ``df`` and the config keys that go with it.

    Raises:
        PipelineError: A named column is missing, the target cannot be learnt by this pipeline,
            the key is not unique, a sensitive column has too many groups, or nothing is left to
            train on; the message says what to change.
    """
    df = df.rename(columns=str)
    notes = _Notes()
    target, problem_type = _target(df, options, notes)
    key = _key(df, options, target, notes)
    for name in options.sensitive:
        if name not in df.columns:
            raise _no_column("SENSITIVE", name, df)
        if name in {target, key}:
            raise PipelineError(f"SENSITIVE column '{name}' is the target or the key")
    columns: list[Column] = []
    for name in df.columns:
        series = df[name]
        if name == target:
            if problem_type == "classification":
                column = _target_column(name, series)
            else:
                column = _numeric(name, series, "target")
        elif name == key:
            integer = pd.api.types.is_integer_dtype(series)
            column = Column(name=name, dtype="int" if integer else "str", role="key", unique=True)
        else:
            found = _other(name, series, sensitive=name in options.sensitive, key=key, notes=notes)
            if found is None:
                continue
            column = found
        columns.append(column)
    draft_features = [c.name for c in columns if c.role == "feature"]
    if not draft_features:
        raise PipelineError(
            "no column can be a feature: features are numbers, true/false, text categories or "
            "ISO 8601 dates, and ids are never features; add such a column, then rerun"
        )
    sensitive = tuple(options.sensitive)
    for name in sensitive:
        _check_groups(df, name, options, notes)
    if not sensitive:
        hinted = [
            c.name
            for c in columns
            if c.role != "target" and any(h in c.name.lower() for h in _SENSITIVE_HINTS)
        ]
        suggestion = f" (named like one: {', '.join(hinted)})" if hinted else ""
        notes.review.append(
            "no SENSITIVE column: the fairness gate checks nothing. If the data has one"
            f"{suggestion}, rerun with SENSITIVE=<column>[,<column>...]"
        )
    categorical = [
        c.name
        for c in columns
        if c.role in {"feature", "attribute"}
        and (c.allowed is not None or (c.dtype == "str" and c.max_categories is None))
        and c.name not in sensitive
    ]
    slices = (*sensitive, *categorical[: max(0, _MAX_SLICES - len(sensitive))])
    if not slices:  # a number cut into quartiles; a date only when nothing else is left
        numeric = [c.name for c in columns if c.role == "feature" and c.dtype in {"int", "float"}]
        slices = ((numeric or list(draft_features))[0],)
    log_columns = _skewed(df, columns)
    notes.review.append(
        "ranges are the observed minimum and maximum widened by 10% (0 stays the floor): set "
        "the real limits where you know them"
    )
    if len(df) < 200:
        notes.review.append(
            f"only {len(df)} rows: the test split gets about {int(len(df) * options.test_fraction)}"
            ", so its metrics are noisy"
        )
    imbalanced = False
    binary = False
    if problem_type == "classification":
        shares = df[target].value_counts(normalize=True)
        binary = set(pd.unique(df[target].astype("float64", errors="ignore"))) <= {0, 1}
        imbalanced = bool(shares.min() * len(shares) < _IMBALANCED)
        if imbalanced:
            notes.decisions.append(
                f"imbalanced: the smallest class of '{target}' is {shares.min():.1%} of rows: "
                "class weights 'balanced'"
                + (", a decision threshold tuned for f1, primary metric pr_auc" if binary else "")
            )
    return Draft(
        columns=tuple(columns),
        problem_type=problem_type,
        imbalanced=imbalanced,
        binary=binary,
        sensitive=sensitive,
        slices=tuple(slices),
        log_columns=log_columns,
        left_out=tuple(notes.left_out),
        decisions=tuple(notes.decisions),
        review=tuple(notes.review),
    )


def describe_column(column: Column) -> str:
    """One short line per column for the summary (``age int 12..81``)."""
    if column.dtype == "date":
        return f"{column.name} (date: {', '.join(column.date_parts or ())})"
    if column.dtype == "str" and column.role == "feature" and column.allowed is None:
        limit = column.max_categories
        return f"{column.name} (text, one-hot{f' of the top {limit}' if limit else ''})"
    if column.allowed is not None:
        shown: Any = ", ".join(str(v) for v in column.allowed)
        return f"{column.name} ({column.dtype}: {shown})"
    if column.minimum is not None and column.maximum is not None:
        return f"{column.name} ({column.dtype} {column.minimum:g}..{column.maximum:g})"
    return f"{column.name} ({column.dtype})"
