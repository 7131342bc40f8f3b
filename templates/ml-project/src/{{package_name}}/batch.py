"""Batch scoring: `python -m <package>.batch --input rows.parquet --output scored.parquet`.

Why: the same pure predict function as the online server (`serving.predict.predict_arrays`) and
the same data contract, so a row scored in batch gets exactly the answer the server would give.
The file is read in chunks, so memory stays bounded whatever its size.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from . import contract
from .errors import PipelineError
from .serving.model import LoadedModel, ModelLoadError, load_model
from .serving.predict import predict_arrays
from .serving.resilience import CircuitBreaker, RetryPolicy


class BatchError(Exception):
    """Bad input for batch scoring; the message names the file, column or rows."""


def _columns(chunk: Any, model: LoadedModel, where: str) -> np.ndarray:
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


def score_file(model: LoadedModel, source: Path, target: Path, *, chunk_rows: int = 65536) -> int:
    """Score every row of `source` into `target`; return the number of rows scored.

    The output is written next to `target` and renamed into place when every row is scored, so
    a failure never leaves a partial file that looks complete. It has the key column (when the
    input has it), `prediction`, one `proba_<class>` column per class for classifiers, and
    `model_name` / `model_version` on every row.

    Raises:
        BatchError: the input is missing, unreadable, lacks a feature column, has a non-numeric
            feature or breaks the contract.
    """
    import pyarrow as pa

    try:
        return _score(model, source, target, chunk_rows)
    except (pa.ArrowException, OSError) as exc:
        raise BatchError(
            f"cannot score {source} into {target}: {exc}. Pass --input PATH to a readable "
            "Parquet file and an --output in a writable directory"
        ) from None


def _score(model: LoadedModel, source: Path, target: Path, chunk_rows: int) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not source.is_file():
        raise BatchError(f"input {source} does not exist: pass --input PATH to a Parquet file")
    reader = pq.ParquetFile(source)
    names = set(reader.schema_arrow.names)
    missing = [f for f in model.features if f not in names]
    if missing:
        raise BatchError(
            f"input {source} has no column {missing[0]!r} (features: {', '.join(model.features)})"
        )
    wanted = list(model.features) + ([model.key] if model.key in names else [])
    writer = None
    done = 0
    partial = target.with_name(target.name + ".partial")
    try:
        for chunk in reader.iter_batches(batch_size=chunk_rows, columns=wanted):
            rows = _columns(chunk, model, f"rows {done}..{done + chunk.num_rows - 1} of {source}")
            problems = model.check(rows)
            if problems:
                raise BatchError(
                    f"rows {done}..{done + chunk.num_rows - 1} of {source} break "
                    "the data contract: " + "; ".join(problems)
                )
            out = predict_arrays(model.estimator, rows)
            cols: dict[str, Any] = {}
            if model.key in names:
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


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit 0 on success, 1 when the model cannot load, 2 on bad input."""
    p = argparse.ArgumentParser(prog=f"python -m {__package__}.batch", description=__doc__)
    p.add_argument("--input", type=Path, required=True, help="Parquet file with feature columns")
    p.add_argument("--output", type=Path, required=True, help="Parquet file to write")
    p.add_argument("--model-uri", default="", help="default: models:/<registry name>@champion")
    p.add_argument("--verbose", action="store_true", help="show tracebacks")
    args = p.parse_args(argv)
    try:
        from .config import load_config

        name = load_config().registry.model_name
        model = load_model(
            args.model_uri or f"models:/{name}@champion",
            default_name=name,
            features=tuple(contract.FEATURES),
            key=contract.KEY or "key",
            check=contract.check_batch,
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


__all__ = ["BatchError", "main", "score_file"]

if __name__ == "__main__":
    sys.exit(main())
