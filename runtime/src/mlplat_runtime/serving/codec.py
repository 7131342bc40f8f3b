"""Request parsing and response encoding for OIP V2 and MLflow's /invocations.

Why: the hot path must stay cheap, so this is plain orjson + numpy with no pydantic or pandas;
and hostile input must end in a 4xx naming the offending field, never in a 5xx, so every shape,
type and size is checked before an array is built (a declared shape never sizes an allocation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from . import typed
from .model import LoadedModel
from .predict import Predictions

NUMERIC_DATATYPES = frozenset(
    {
        "BOOL",
        "UINT8",
        "UINT16",
        "UINT32",
        "UINT64",
        "INT8",
        "INT16",
        "INT32",
        "INT64",
        "FP16",
        "FP32",
        "FP64",
    }
)
KEY_DATATYPES = NUMERIC_DATATYPES | {"BYTES"}


class RequestError(Exception):
    """A client error: `status` is the HTTP status, the message names the field."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


#: At most this many input tensors in one V2 request: every feature, the key and the other
#: columns of a source row (ignored), so a wide table's full rows are accepted.
MAX_INPUTS = 4096


@dataclass(slots=True)
class Parsed:
    """A decoded prediction request: rows in model feature order, optional keys and id.

    ``ignored`` counts the request's columns that are neither a feature nor the key (a full
    source row carries its target, attributes and other columns): they are dropped, as batch
    scoring drops them, and the server counts them on /metrics.
    """

    features: np.ndarray
    keys: list[Any] | None
    request_id: Any
    ignored: int = 0


def _bad(message: str) -> RequestError:
    return RequestError(400, message)


def _missing(where: str, kind: str, missing: list[str], model: LoadedModel) -> RequestError:
    """The 400 for absent features: every missing one by name, and what the model takes."""
    names = ", ".join(map(repr, missing))
    return _bad(
        f"{where}: missing {kind} {names}; the model needs every feature "
        f"{list(model.features)} (the key {model.key!r} is optional; other columns are ignored)"
    )


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _bad(f"request body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise _bad("request body must be a JSON object")
    return doc


def _floats(data: Any, where: str) -> np.ndarray:
    if not isinstance(data, list):
        raise _bad(f"{where}: expected a list of numbers")
    try:
        arr = np.asarray(data, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        raise _bad(f"{where}: expected numbers (null for missing) in a rectangular list") from None
    if np.isinf(arr).any():
        raise _bad(f"{where}: numbers must be finite")
    return arr


def _matrix(rows: Any, model: LoadedModel, where: str) -> np.ndarray:
    """Rows of cells in feature order as the model matrix (``typed.py`` for text and dates)."""
    select = typed.encoder(model)
    if select is None:
        return _floats(rows, where)
    if not isinstance(rows, list):
        raise _bad(f"{where}: expected a list of rows")
    try:
        return typed.from_rows(select, rows, where)
    except typed.TypedInputError as exc:
        raise _bad(str(exc)) from None


def _keys(data: Any, rows: int, where: str) -> list[Any]:
    if not isinstance(data, list) or len(data) != rows:
        raise _bad(f"{where}: expected a flat list of {rows} keys, one per row")
    for value in data:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _bad(f"{where}: keys must be strings or numbers")
    return data


def _shape(tensor: dict[str, Any], where: str) -> list[int]:
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or not shape
        or len(shape) > 2
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise _bad(f"{where}.shape: expected [N] or [N, F] with non-negative integers")
    return shape


def _tensor(inputs: Any, i: int) -> tuple[str, dict[str, Any]]:
    tensor = inputs[i]
    where = f"inputs[{i}]"
    if not isinstance(tensor, dict):
        raise _bad(f"{where}: expected an object with name, shape, datatype and data")
    name = tensor.get("name")
    if not isinstance(name, str):
        raise _bad(f"{where}.name: expected a string")
    dtype = tensor.get("datatype")
    if not isinstance(dtype, str) or dtype not in KEY_DATATYPES:
        raise _bad(f"{where}.datatype: expected one of {sorted(KEY_DATATYPES)}")
    return name, tensor


def _fast_matrix(doc: dict[str, Any], model: LoadedModel) -> Parsed | None:
    """The common request (one numeric [N, F] tensor, no key) without the general checks.

    Anything unusual returns None and goes through the general path, which names the problem.
    """
    inputs = doc.get("inputs")
    if type(inputs) is not list or len(inputs) != 1:
        return None
    tensor = inputs[0]
    if type(tensor) is not dict:
        return None
    dtype = tensor.get("datatype")
    if type(dtype) is not str or dtype not in NUMERIC_DATATYPES:
        return None
    name, shape, data = tensor.get("name"), tensor.get("shape"), tensor.get("data")
    width = len(model.features)
    if (
        type(name) is not str
        or name in model.features
        or name == model.key
        or type(shape) is not list
        or len(shape) != 2
        or type(shape[0]) is not int
        or shape[1] != width
        or type(data) is not list
        or len(data) != shape[0] * width
    ):
        return None
    request_id = doc.get("id")
    if request_id is not None and type(request_id) is not str:
        return None
    if typed.encoder(model) is not None:  # text or date features: typed.py decodes those
        return None
    try:
        arr = np.array(data, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        return None
    if arr.ndim != 1 or np.isinf(arr).any():
        return None
    return Parsed(arr.reshape(shape[0], width), None, request_id)


def parse_infer(body: bytes, model: LoadedModel) -> Parsed:
    """Decode an OIP V2 infer request: one [N, F] tensor, or one [N] tensor per feature."""
    doc = _json_object(body)
    fast = _fast_matrix(doc, model)
    if fast is not None:
        return fast
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise _bad("inputs: expected a non-empty list of tensors")
    if len(inputs) > max(MAX_INPUTS, len(model.features) + 1):
        raise _bad(f"inputs: at most {max(MAX_INPUTS, len(model.features) + 1)} tensors")
    named = dict(_tensor(inputs, i) for i in range(len(inputs)))
    if len(named) != len(inputs):
        raise _bad("inputs: tensor names must be unique")
    key_tensor = named.pop(model.key, None)
    n_features = len(model.features)
    ignored = 0
    select = typed.encoder(model)
    if select is not None:
        if not (len(named) == 1 and next(iter(named)) not in model.features):
            missing = [f for f in model.features if f not in named]
            if missing:
                raise _missing("inputs", "tensor(s)", missing, model)
            ignored = len(named) - n_features  # a source row's other columns, as batch scoring
            named = {f: named[f] for f in model.features}
        try:
            matrix = typed.from_tensors(select, named)
        except typed.TypedInputError as exc:
            raise _bad(str(exc)) from None
    elif len(named) == 1 and next(iter(named)) not in model.features:
        name, tensor = next(iter(named.items()))
        where = f"inputs[{name}]"
        if tensor["datatype"] not in NUMERIC_DATATYPES:
            raise _bad(f"{where}.datatype: features are numeric, got {tensor['datatype']}")
        shape = _shape(tensor, where)
        arr = _floats(tensor.get("data"), f"{where}.data")
        if len(shape) != 2 or shape[1] != n_features:
            raise _bad(
                f"{where}.shape: expected [N, {n_features}] for features {list(model.features)}"
            )
        if arr.size != shape[0] * shape[1]:
            raise _bad(f"{where}.data: {arr.size} values do not fill shape {shape}")
        matrix = arr.reshape(shape[0], n_features)
    else:
        missing = [f for f in model.features if f not in named]
        if missing:
            raise _missing("inputs", "tensor(s)", missing, model)
        ignored = len(named) - n_features  # a source row's other columns, as batch scoring
        columns = []
        for feature in model.features:
            where = f"inputs[{feature}]"
            tensor = named[feature]
            if tensor["datatype"] not in NUMERIC_DATATYPES:
                raise _bad(f"{where}.datatype: features are numeric, got {tensor['datatype']}")
            shape = _shape(tensor, where)
            column = _floats(tensor.get("data"), f"{where}.data").reshape(-1)
            if column.size != math.prod(shape) or (len(shape) == 2 and shape[1] != 1):
                raise _bad(f"{where}: expected shape [N] or [N, 1] matching its data")
            columns.append(column)
        if len({c.size for c in columns}) != 1:
            raise _bad("inputs: every feature tensor must have the same number of rows")
        matrix = np.column_stack(columns)
    keys = None
    if key_tensor is not None:
        keys = _keys(key_tensor.get("data"), matrix.shape[0], f"inputs[{model.key}].data")
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise _bad("id: expected a string (the Open Inference Protocol's request id)")
    return Parsed(features=matrix, keys=keys, request_id=request_id, ignored=ignored)


def _records(records: Any, model: LoadedModel, where: str) -> Parsed:
    if not isinstance(records, list):
        raise _bad(f"{where}: expected a list of records")
    features, key, width = model.features, model.key, len(model.features)
    rows = []
    keys: list[Any] = []
    ignored: set[str] = set()
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise _bad(f"{where}[{i}]: expected an object of column -> value")
        try:
            rows.append([record[f] for f in features])
        except KeyError:
            raise _missing(
                f"{where}[{i}]", "field(s)", [f for f in features if f not in record], model
            ) from None
        extra = len(record) - width
        if key in record:
            keys.append(record[key])
            extra -= 1
        if extra:  # every feature is there, so these are the row's other columns
            ignored.update(c for c in record if c not in features and c != key)
    if keys and len(keys) != len(rows):
        raise _bad(f"{where}: field {key!r} must be on every record or on none")
    matrix = _matrix(rows, model, where).reshape(len(rows), width)
    return Parsed(
        matrix, _keys(keys, len(rows), where) if keys else None, None, ignored=len(ignored)
    )


def _split(split: Any, model: LoadedModel) -> Parsed:
    where = "dataframe_split"
    if not isinstance(split, dict) or not isinstance(split.get("columns"), list):
        raise _bad(f"{where}: expected {{'columns': [...], 'data': [[...], ...]}}")
    columns = split["columns"]
    data = split.get("data")
    if not isinstance(data, list):
        raise _bad(f"{where}.data: expected a list of rows")
    if not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns):
        raise _bad(f"{where}.columns: expected unique column names")
    if columns == list(model.features):
        matrix = _matrix(data, model, f"{where}.data")
        if matrix.ndim != 2 or matrix.shape[1] != len(columns):
            raise _bad(f"{where}.data: every row needs {len(columns)} values")
        return Parsed(matrix, None, None)
    position = {c: i for i, c in enumerate(columns)}
    missing = [f for f in model.features if f not in position]
    if missing:
        raise _missing(f"{where}.columns", "column(s)", missing, model)
    take = [position[f] for f in model.features]
    key_at = position.get(model.key)
    rows = []
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            raise _bad(f"{where}.data[{i}]: expected {len(columns)} values")
        rows.append([row[j] for j in take])
    matrix = _matrix(rows, model, f"{where}.data").reshape(len(rows), len(take))
    keys = None
    if key_at is not None:
        keys = _keys([row[key_at] for row in data], len(rows), f"{where}.data[{model.key}]")
    ignored = len(columns) - len(take) - (key_at is not None)
    return Parsed(matrix, keys, None, ignored=ignored)


def parse_invocations(body: bytes, model: LoadedModel) -> Parsed:
    """Decode MLflow's scoring formats: dataframe_split, dataframe_records, instances, inputs."""
    doc = _json_object(body)
    formats = [
        k for k in ("dataframe_split", "dataframe_records", "instances", "inputs") if k in doc
    ]
    if len(formats) != 1:
        raise _bad(
            "body must have exactly one of dataframe_split, dataframe_records, instances, inputs"
        )
    fmt = formats[0]
    payload = doc[fmt]
    if fmt == "dataframe_split":
        return _split(payload, model)
    if fmt == "dataframe_records":
        return _records(payload, model, fmt)
    if isinstance(payload, dict):
        payload = _columns_to_records(payload, model, fmt)
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        return _records(payload, model, fmt)
    matrix = _matrix(payload, model, fmt)
    if matrix.ndim != 2 or matrix.shape[1] != len(model.features):
        raise _bad(f"{fmt}: expected rows of {len(model.features)} values {list(model.features)}")
    return Parsed(matrix, None, None)


def parse_csv(body: bytes, model: LoadedModel) -> Parsed:
    """Decode a ``text/csv`` body as `mlflow models serve` does: a header row, then one row each.

    Columns are matched by name (any order; the key column is optional); an empty field is null.
    Other columns (a full source row's target, attributes, text) are skipped unread and counted.
    """
    import csv
    import io

    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad("text/csv body: not UTF-8 text") from None
    table = [row for row in csv.reader(io.StringIO(text)) if row]
    if not table:
        raise _bad("text/csv body: expected a header row with the column names")
    header, rows = table[0], table[1:]
    wanted = {*model.features, model.key}
    used = [j for j, name in enumerate(header) if name in wanted]
    select = typed.encoder(model)
    data: list[list[Any]] = []
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise _bad(f"text/csv row {i + 1}: {len(row)} fields, the header has {len(header)}")
        values: list[Any] = []
        for name, field in ((header[j], row[j]) for j in used):
            field = field.strip()
            if name == model.key:
                values.append(field)
                continue
            try:
                if select is not None:
                    values.append(typed.csv_cell(select, name, field))
                else:
                    values.append(float(field) if field else None)
            except ValueError:
                raise _bad(f"text/csv row {i + 1}, column {name!r}: not a number") from None
        data.append(values)
    parsed = _split({"columns": [header[j] for j in used], "data": data}, model)
    parsed.ignored = len(set(header) - wanted)
    return parsed


def _columns_to_records(columns: dict[str, Any], model: LoadedModel, where: str) -> list[Any]:
    lists = list(columns.values())
    if not all(isinstance(v, list) for v in lists) or len({len(v) for v in lists}) > 1:
        raise _bad(f"{where}: expected column -> list of values, all of one length")
    n = len(lists[0]) if lists else 0
    return [{c: columns[c][i] for c in columns} for i in range(n)]


def datatype(arr: np.ndarray) -> str:
    """The OIP datatype name of a numpy array's values."""
    kind = arr.dtype.kind
    if kind == "f":
        return "FP64"
    if kind in "iu":
        return "INT64"
    if kind == "b":
        return "BOOL"
    return "BYTES"


def _plain(arr: np.ndarray) -> Any:
    return arr if arr.dtype.kind in "fiub" else arr.tolist()


def encode_infer(model: LoadedModel, parsed: Parsed, out: Predictions) -> bytes:
    """Encode an OIP V2 infer response for one request's slice of a batch."""
    n = out.predict.shape[0]
    outputs: list[dict[str, Any]] = [
        {
            "name": "predict",
            "shape": [n],
            "datatype": datatype(out.predict),
            "data": _plain(out.predict),
        }
    ]
    if out.proba is not None:
        outputs.append(
            {
                "name": "predict_proba",
                "shape": list(out.proba.shape),
                "datatype": "FP64",
                "data": out.proba.ravel(),
                "parameters": {"classes": out.classes},
            }
        )
    if parsed.keys is not None:
        outputs.append({"name": model.key, "shape": [n], "datatype": "BYTES", "data": parsed.keys})
    doc: dict[str, Any] = {
        "model_name": model.name,
        "model_version": model.version,
        "outputs": outputs,
    }
    if parsed.request_id is not None:
        doc["id"] = parsed.request_id
    return orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)


def encode_invocations(model: LoadedModel, parsed: Parsed, out: Predictions) -> bytes:
    """Encode an MLflow-style response; the version and keys ride along as extra fields.

    A classifier's response also carries ``probabilities`` (one row per input row, one column per
    class) and ``classes`` (the labels of those columns), as the V2 ``predict_proba`` output does.
    """
    doc: dict[str, Any] = {"predictions": _plain(out.predict), "model_version": model.version}
    if out.proba is not None:
        doc["probabilities"] = out.proba
        doc["classes"] = out.classes
    if parsed.keys is not None:
        doc["keys"] = parsed.keys
    return orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)


__all__ = [
    "Parsed",
    "datatype",
    "RequestError",
    "encode_infer",
    "encode_invocations",
    "parse_infer",
    "parse_csv",
    "parse_invocations",
]
