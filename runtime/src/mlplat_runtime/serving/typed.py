"""Requests for models with text or date features: raw cells to the model's numeric matrix.

Why its own module: the all-numeric request stays on the codec's numpy fast path untouched; only
a model whose transform has text or date features (``SelectFeatures.typed``) comes here. The
cells (strings, numbers, ``null``) are turned into the matrix by the fitted transform's own
``encode``, the code training ran, so serving cannot encode a value differently: an unseen
category becomes "other", a missing one "missing", an ISO 8601 date its seconds since 1970.
"""

from __future__ import annotations

__all__ = [
    "TypedInputError",
    "csv_cell",
    "encoder",
    "from_columns",
    "from_rows",
    "from_tensors",
    "input_tensors",
]

from collections.abc import Sequence
from typing import Any

import numpy as np

from mlplat_runtime.transforms import SelectFeatures

from .model import LoadedModel


class TypedInputError(ValueError):
    """A cell the transform cannot encode; the message names the column."""


def encoder(model: LoadedModel) -> SelectFeatures | None:
    """The fitted ``SelectFeatures`` at the head of the model's pipeline when it is typed."""
    step = model.estimator
    while (steps := getattr(step, "steps", None)) is not None:
        step = steps[0][1]
    if isinstance(step, SelectFeatures) and step.typed:
        return step
    return None


def from_rows(select: SelectFeatures, rows: Sequence[Sequence[Any]], where: str) -> np.ndarray:
    """Rows of raw cells in feature order as the float64 model matrix.

    Raises:
        TypedInputError: A row has the wrong width, or a cell cannot be encoded.
    """
    width = len(select.features)
    for i, row in enumerate(rows):
        if not isinstance(row, list | tuple) or len(row) != width:
            raise TypedInputError(f"{where}[{i}]: expected {width} values {list(select.features)}")
    cells = np.empty((len(rows), width), dtype=object)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            cells[i, j] = value
    return _encode(select, cells, where)


def from_columns(
    select: SelectFeatures, columns: Sequence[Sequence[Any]], where: str
) -> np.ndarray:
    """One list of raw cells per feature (in feature order) as the float64 model matrix."""
    rows = len(columns[0]) if columns else 0
    cells = np.empty((rows, len(columns)), dtype=object)
    for j, column in enumerate(columns):
        for i, value in enumerate(column):
            cells[i, j] = value
    return _encode(select, cells, where)


def _flat(data: Any, where: str) -> list[Any]:
    """A tensor's data as a flat list: V2 sends it flat, or nested by row."""
    if not isinstance(data, list):
        raise TypedInputError(f"{where}.data: expected a list of values")
    if data and all(isinstance(v, list) for v in data):
        return [cell for row in data for cell in row]
    return data


def _shape(tensor: dict[str, Any], where: str) -> list[int]:
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or not 1 <= len(shape) <= 2
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise TypedInputError(f"{where}.shape: expected [N] or [N, F] with non-negative integers")
    return shape


def from_tensors(select: SelectFeatures, named: dict[str, dict[str, Any]]) -> np.ndarray:
    """V2 input tensors (BYTES or numeric) as the model matrix.

    One ``[N, F]`` tensor in feature order, or one ``[N]`` tensor per feature.

    Raises:
        TypedInputError: A tensor is missing, unknown, of the wrong shape, or holds a bad cell.
    """
    features = list(select.features)
    if len(named) == 1 and next(iter(named)) not in features:
        name, tensor = next(iter(named.items()))
        where = f"inputs[{name}]"
        shape = _shape(tensor, where)
        if len(shape) != 2 or shape[1] != len(features):
            raise TypedInputError(f"{where}.shape: expected [N, {len(features)}] for {features}")
        cells = _flat(tensor.get("data"), where)
        if len(cells) != shape[0] * shape[1]:
            raise TypedInputError(f"{where}.data: {len(cells)} values do not fill shape {shape}")
        width = shape[1]
        return from_rows(select, [cells[i : i + width] for i in range(0, len(cells), width)], where)
    unknown = sorted(set(named) - set(features))
    if unknown:
        raise TypedInputError(
            f"inputs: unknown tensor {unknown[0]!r}; send one [N, {len(features)}] tensor or one "
            f"tensor per feature {features}"
        )
    missing = [f for f in features if f not in named]
    if missing:
        raise TypedInputError(f"inputs: missing tensor {missing[0]!r}")
    columns = []
    for feature in features:
        where = f"inputs[{feature}]"
        shape = _shape(named[feature], where)
        column = _flat(named[feature].get("data"), where)
        if len(column) != shape[0] or (len(shape) == 2 and shape[1] != 1):
            raise TypedInputError(f"{where}: expected shape [N] or [N, 1] matching its data")
        columns.append(column)
    if len({len(c) for c in columns}) != 1:
        raise TypedInputError("inputs: every feature tensor must have the same number of rows")
    return from_columns(select, columns, "inputs")


def _encode(select: SelectFeatures, cells: np.ndarray, where: str) -> np.ndarray:
    for value in cells.flat:
        if value is not None and not isinstance(value, str | int | float):
            raise TypedInputError(f"{where}: values must be strings, numbers or null")
    try:
        return select.encode(cells)
    except ValueError as exc:
        raise TypedInputError(f"{where}: {exc}") from None


def input_tensors(select: SelectFeatures) -> list[dict[str, Any]]:
    """The model metadata's ``inputs`` for a typed model: one ``[N]`` tensor per feature.

    Text and date features are ``BYTES`` (a date as ISO 8601 text), numeric ones ``FP64``; a
    client reading ``GET /v2/models/<name>`` learns what to send, not the internal codes.
    """
    text, dates = select.text or {}, select.dates
    tensors = []
    for name in select.features:
        kind = "text" if name in text else "date" if name in dates else "number"
        tensors.append(
            {
                "name": name,
                "datatype": "FP64" if kind == "number" else "BYTES",
                "shape": [-1],
                "parameters": {"kind": kind},
            }
        )
    return tensors


def csv_cell(select: SelectFeatures, name: str, field: str) -> Any:
    """A CSV field of a typed model's column: text for text and date columns, else a number.

    Raises:
        ValueError: A numeric column's field is not a number.
    """
    if not field:
        return None
    if name in (select.text or {}) or name in select.dates:
        return field
    return float(field)
