"""Score a CSV or Parquet file of feature rows with the project's model into a Parquet file.

The same model call as the online server (the compiled model when the registered model carries
one) and the same data contract, so a row scored in batch gets exactly the answer the server
gives. The input is checked (exists, readable, has the feature columns) before the model loads,
and read in chunks, so memory stays bounded whatever its size.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import PipelineError
from .serving.cli import ServingProject
from .serving.guard import contract_check
from .serving.model import LoadedModel, ModelLoadError, load_model
from .serving.resilience import CircuitBreaker, RetryPolicy
from .serving.typed import encoder


class BatchError(Exception):
    """Bad input for batch scoring; the message names the file, column or rows."""


def _columns(chunk: Any, model: LoadedModel, where: str) -> np.ndarray:
    select = encoder(model)
    if select is not None:  # text and date features: the model's own encoding, as in training
        frame = chunk.select(list(model.features)).to_pandas()
        try:
            return select.encode(frame)
        except (ValueError, TypeError) as exc:
            raise BatchError(f"{where}: {exc}") from None
    arrays = []
    for feature in model.features:
        try:
            arrays.append(chunk.column(feature).to_numpy(zero_copy_only=False).astype(np.float64))
        except (ValueError, TypeError) as exc:
            raise BatchError(
                f"{where}: column {feature!r} is not numeric ({exc}); features are numbers, "
                "with null for missing"
            ) from None
    return np.column_stack(arrays) if arrays else np.empty((chunk.num_rows, 0))


def _batches(
    source: Path,
    columns: list[str],
    numeric: Sequence[str],
    chunk_rows: int,
    *,
    text: Sequence[str] = (),
) -> Iterator[Any]:
    """Record batches of `columns` from a Parquet or CSV file (by suffix; else sniffed)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if _is_csv(source):
        options = pacsv.ConvertOptions(
            include_columns=columns,
            column_types={name: pa.float64() for name in numeric}
            | {name: pa.string() for name in text},
        )
        read = pacsv.ReadOptions(block_size=1 << 20)
        with pacsv.open_csv(source, read_options=read, convert_options=options) as reader:
            yield from reader
        return
    yield from pq.ParquetFile(source).iter_batches(batch_size=chunk_rows, columns=columns)


def _is_csv(source: Path) -> bool:
    if source.suffix.lower() in (".csv", ".txt"):
        return True
    if source.suffix.lower() in (".parquet", ".pq"):
        return False
    with source.open("rb") as handle:
        return handle.read(4) != b"PAR1"


def input_columns(source: Path) -> list[str]:
    """The column names of a CSV or Parquet file; BatchError naming the file and the fix."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if not source.exists():
        raise BatchError(
            f"input {source} does not exist: pass --input PATH to a CSV or Parquet file"
        )
    if not source.is_file():
        raise BatchError(
            f"input {source} is not a file: pass --input PATH to a CSV or Parquet file"
        )
    kind = "CSV" if _is_csv(source) else "Parquet"
    try:
        if kind == "CSV":
            with pacsv.open_csv(source) as reader:
                return list(reader.schema.names)
        return list(pq.ParquetFile(source).schema_arrow.names)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise BatchError(
            f"cannot read {source} as {kind}: {str(exc).rstrip('.')}. Pass --input PATH to a "
            "readable CSV "
            "(with a header row) or Parquet file"
        ) from None


def check_input(source: Path, features: Sequence[str]) -> list[str]:
    """Check `source` before any model loads; return its columns."""
    names = input_columns(source)
    missing = [f for f in features if f not in names]
    if missing:
        raise BatchError(
            f"input {source} lacks the feature column(s) {', '.join(map(repr, missing))} (it has "
            f"{', '.join(names) or 'no columns'}): the file needs every feature of the contract: "
            f"{', '.join(features)}"
        )
    return names


def score_file(model: LoadedModel, source: Path, target: Path, *, chunk_rows: int = 65536) -> int:
    """Score every row of `source` (CSV or Parquet) into `target`; return the rows scored.

    The output is written next to `target` and renamed into place when every row is scored, so
    a failure never leaves a partial file that looks complete. It has the key column (when the
    input has it), `prediction`, one `proba_<class>` column per class for classifiers, and
    `model_name` / `model_version` on every row.

    Raises:
        BatchError: the input is missing, unreadable, lacks a feature column, has a non-numeric
            feature or breaks the contract.
    """
    import pyarrow as pa

    names = check_input(source, model.features)
    try:
        return _score(model, source, target, chunk_rows, names)
    except (pa.ArrowException, OSError) as exc:
        raise BatchError(
            f"cannot score {source} into {target}: {exc}. Pass --input PATH to a readable CSV "
            "or Parquet file and an --output in a writable directory"
        ) from None


def _score(
    model: LoadedModel, source: Path, target: Path, chunk_rows: int, names: list[str]
) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    keyed = model.key in names
    wanted = list(model.features) + ([model.key] if keyed else [])
    writer = None
    done = 0
    partial = target.with_name(target.name + ".partial")
    try:
        select = encoder(model)
        typed = set(select.text or {}) | set(select.dates) if select is not None else set()
        numeric = [f for f in model.features if f not in typed]
        text = [f for f in model.features if f in typed]
        for chunk in _batches(source, wanted, numeric, chunk_rows, text=text):
            where = f"rows {done}..{done + chunk.num_rows - 1} of {source}"
            rows = _columns(chunk, model, where)
            problems = model.check(rows)
            if problems:
                raise BatchError(f"{where} break the data contract: " + "; ".join(problems))
            out = model.predict(rows)
            cols: dict[str, Any] = {}
            if keyed:
                cols[model.key] = chunk.column(model.key)
            cols["prediction"] = out.predict
            if out.proba is not None and out.classes is not None:
                for i, label in enumerate(out.classes):
                    cols[f"proba_{label}"] = out.proba[:, i]
            cols["model_name"] = [model.name] * chunk.num_rows
            cols["model_version"] = [model.version] * chunk.num_rows
            table = pa.table(cols)
            if writer is None:
                target.parent.mkdir(parents=True, exist_ok=True)
                writer = pq.ParquetWriter(partial, table.schema)
            writer.write_table(table)
            done += chunk.num_rows
    except BaseException:
        if writer is not None:
            writer.close()
        partial.unlink(missing_ok=True)
        raise
    if writer is not None:
        writer.close()
        partial.replace(target)
    return done


def main(project: ServingProject, argv: Sequence[str] | None = None) -> int:
    """Score a file with ``project``'s model: 0 done, 1 the model cannot load, 2 bad input."""
    prog = project.prog.removesuffix(".serving") + ".batch"
    p = argparse.ArgumentParser(prog=prog, description=__doc__)
    p.add_argument("--input", type=Path, required=True, help="CSV or Parquet file of rows")
    p.add_argument("--output", type=Path, required=True, help="Parquet file to write")
    p.add_argument("--model-uri", default="", help="default: models:/<registry name>@champion")
    p.add_argument("--verbose", action="store_true", help="show tracebacks")
    args = p.parse_args(argv)
    contract = project.contract
    try:
        check_input(args.input, contract.features)  # before the model: loading it takes seconds
        name = project.model_name()
        model = load_model(
            args.model_uri or f"models:/{name}@champion",
            default_name=name,
            features=tuple(contract.features),
            key=contract.key or "key",
            check=contract_check(contract),
            breaker=CircuitBreaker("registry"),
            policy=RetryPolicy(attempts=3, timeout_s=60.0),
        )
        rows = score_file(model, args.input, args.output)
    except (BatchError, ModelLoadError, PipelineError) as exc:
        if args.verbose:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, ModelLoadError) else 2
    print(f"scored {rows} rows with {model.name} version {model.version} into {args.output}")
    return 0


__all__ = ["BatchError", "check_input", "input_columns", "main", "score_file"]
