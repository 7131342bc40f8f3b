"""The runtime's micro-benchmark: each hot-path cost in-process, beside the floor it cannot beat.

No sockets and no server: every row times one piece of `mlplat_runtime` through its public API on
deterministic synthetic data (a seeded credit-like table of 6 features, a binary label), and
prints it next to an anchor, the cheapest way the same work can be done in Python here:

- V2 codec: `codec.parse_infer` + `codec.encode_infer` of 1 and 100 rows, against stdlib `json`
  and `orjson` parsing the same request bytes and writing the same answer (no checks, no arrays);
- the contract guard (`guard.contract_check`) on a batch of 1 and 1,000 rows, against the
  contract's own `check_batch` (the slow path it replaces) and one `np.isfinite(X).all()` pass;
- predict on 1 and 1,000 rows: the compiled model (`compiled.CompiledModel`, ONNX Runtime on one
  thread), the folded numpy form of the same linear pipeline (log1p, scaler and logistic
  regression folded into one weight vector: what a numpy-only runtime could reach), the sklearn
  pipeline (`predict.predict_arrays`, parameter validation off as in the model thread), one
  `X @ w` as the floor of any numpy call, and for one row the folded form in plain Python;
- the batcher (`batcher.Batcher`): a 1-row request submitted and answered on the event loop,
  alone and 16 at a time, against calling the model's check and predict directly and against one
  bare event-loop hop (`call_soon` resolving a future).

Each figure is the best of `--repeat` samples (default 7) of a loop sized to take about 20 ms, in
microseconds per call: the best sample is the one least disturbed by other work on the machine.

Run:  .venv/bin/python bench/runtime.py              (about 30 s)
      .venv/bin/python bench/runtime.py --repeat 3   (quicker, noisier)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import orjson
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mlplat_runtime.compiled import CompiledModel, class_labels, export_onnx
from mlplat_runtime.rules import Column, Contract
from mlplat_runtime.serving import codec
from mlplat_runtime.serving.batcher import Batcher, Job, measure_cost
from mlplat_runtime.serving.guard import contract_check
from mlplat_runtime.serving.metrics import Metrics, shared_array
from mlplat_runtime.serving.model import LoadedModel
from mlplat_runtime.serving.predict import Predictions, predict_arrays
from mlplat_runtime.transforms import Log1pColumns, SelectFeatures

FEATURES = ("income", "debt", "age", "tenure", "utilisation", "inquiries")
LOG_COLUMNS = (0, 1)  # income and debt are skewed, as in the template's sample data
SEED = 17


@dataclass(frozen=True)
class Row:
    """One line of the table: a measurement and the anchor it is read against."""

    what: str
    rows: int
    us: float
    anchor: str
    anchor_us: float


def per_call_us(fn: Callable[[], Any], repeat: int, sample_s: float = 0.02) -> float:
    """Best-of-`repeat` microseconds per call of `fn`, each sample a loop of about `sample_s`."""
    fn()
    loops, took = 1, 0.0
    while took < sample_s / 4:  # size the loop on a short trial
        loops *= 2
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        took = time.perf_counter() - start
    loops = max(1, int(loops * sample_s / took))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        best = min(best, (time.perf_counter() - start) / loops)
    return best * 1e6


def synthetic(n: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` seeded rows in FEATURES order and their 0/1 labels (a noisy logistic rule)."""
    rng = np.random.default_rng(SEED)
    X = np.column_stack(
        [
            rng.lognormal(10.5, 0.6, n),  # income
            rng.lognormal(8.0, 1.0, n),  # debt
            rng.integers(18, 80, n).astype(np.float64),  # age
            rng.integers(0, 40, n).astype(np.float64),  # tenure
            rng.uniform(0.0, 1.0, n),  # utilisation
            rng.poisson(1.5, n).astype(np.float64),  # inquiries
        ]
    )
    score = -0.8 * np.log1p(X[:, 0] / 40_000) + 0.5 * np.log1p(X[:, 1] / 3_000) + 2.0 * X[:, 4]
    y = (score + rng.logistic(0.0, 0.5, n) > 0.6).astype(np.int64)
    return X, y


def contract() -> Contract:
    """The data contract of the synthetic table (ranges wide enough for every generated row)."""
    ranges = [(0, 1e7), (0, 1e7), (18, 100), (0, 60), (0, 1), (0, 50)]
    columns = [
        Column(name=name, dtype="float", role="feature", minimum=low, maximum=high)
        for name, (low, high) in zip(FEATURES, ranges, strict=True)
    ]
    target = Column(name="default", dtype="int", role="target", allowed=(0, 1))
    return Contract((*columns, target))


def fitted_pipeline(X: np.ndarray, y: np.ndarray) -> Pipeline:
    """The template's default shape: select, log1p, standardise, then logistic regression."""
    transform = Pipeline(
        [
            ("select", SelectFeatures(FEATURES)),
            ("log1p", Log1pColumns(list(LOG_COLUMNS))),
            ("scale", StandardScaler()),
        ]
    )
    model = LogisticRegression(random_state=SEED).fit(transform.fit_transform(X), y)
    return Pipeline([("features", transform), ("model", model)])


def folded(pipeline: Pipeline) -> Callable[[np.ndarray], Predictions]:
    """The pipeline as one numpy expression: the scaler folded into the regression's weights."""
    scaler, model = pipeline.named_steps["features"].named_steps["scale"], pipeline[-1]
    weights = model.coef_[0] / scaler.scale_
    bias = float(model.intercept_[0] - (scaler.mean_ / scaler.scale_) @ model.coef_[0])
    classes = np.asarray(model.classes_)
    labels = [c.item() for c in classes]
    logs = list(LOG_COLUMNS)

    def predict(X: np.ndarray) -> Predictions:
        Z = X.copy()
        Z[:, logs] = np.log1p(Z[:, logs])
        positive = 1.0 / (1.0 + np.exp(-(Z @ weights + bias)))
        proba = np.column_stack([1.0 - positive, positive])
        return Predictions(classes.take((positive > 0.5).astype(np.intp)), proba, labels)

    return predict


def folded_python(pipeline: Pipeline) -> Callable[[list[float]], float]:
    """The same folded form for one row in plain Python: the floor for a 1-row linear model."""
    scaler, model = pipeline.named_steps["features"].named_steps["scale"], pipeline[-1]
    weights = (model.coef_[0] / scaler.scale_).tolist()
    bias = float(model.intercept_[0] - (scaler.mean_ / scaler.scale_) @ model.coef_[0])
    logs = set(LOG_COLUMNS)

    def positive(row: list[float]) -> float:
        score = bias
        for j, (value, weight) in enumerate(zip(row, weights, strict=True)):
            score += weight * (math.log1p(value) if j in logs else value)
        return 1.0 / (1.0 + math.exp(-score))

    return positive


def v2_body(X: np.ndarray) -> bytes:
    """An OIP V2 infer request of the rows of X, as a client sends it."""
    n, width = X.shape
    data = X.ravel().tolist()
    tensor = {"name": "input-0", "shape": [n, width], "datatype": "FP64", "data": data}
    return json.dumps({"inputs": [tensor]}).encode()


def _round_trip(model: LoadedModel, body: bytes, answer: Predictions) -> bytes:
    return codec.encode_infer(model, codec.parse_infer(body, model), answer)


def _stdlib_json(body: bytes, document: Any) -> tuple[Any, str]:
    return json.loads(body), json.dumps(document)


def _orjson(body: bytes, document: Any) -> tuple[Any, bytes]:
    return orjson.loads(body), orjson.dumps(document)


def _all_finite(X: np.ndarray) -> bool:
    return bool(np.isfinite(X).all())


def codec_rows(model: LoadedModel, X: np.ndarray, repeat: int) -> list[Row]:
    """Decode and encode, against plain JSON libraries doing the same bytes."""
    out: list[Row] = []
    for n in (1, 100):
        body = v2_body(X[:n])
        parsed = codec.parse_infer(body, model)
        answer = model.predict(parsed.features)
        document = orjson.loads(codec.encode_infer(model, parsed, answer))
        ours = per_call_us(
            partial(_round_trip, model, body, answer),
            repeat,
        )
        std = per_call_us(partial(_stdlib_json, body, document), repeat)
        fast = per_call_us(partial(_orjson, body, document), repeat)
        out.append(Row("V2 decode + encode", n, ours, "json.loads + json.dumps", std))
        out.append(Row("", n, ours, "orjson.loads + orjson.dumps", fast))
    return out


def guard_rows(rules: Contract, X: np.ndarray, repeat: int) -> list[Row]:
    """The vectorised contract check per batch, against the slow path and one numpy pass."""
    check = contract_check(rules)
    out: list[Row] = []
    for n in (1, 1000):
        batch = X[:n]
        if check(batch):
            raise SystemExit(f"the synthetic batch breaks its own contract: {check(batch)}")
        ours = per_call_us(partial(check, batch), repeat)
        slow = per_call_us(partial(rules.check_batch, batch), repeat)
        floor = per_call_us(partial(_all_finite, batch), repeat)
        out.append(Row("contract guard", n, ours, "contract.check_batch", slow))
        out.append(Row("", n, ours, "np.isfinite(X).all()", floor))
    return out


def predict_rows(
    pipeline: Pipeline, compiled: CompiledModel, X: np.ndarray, repeat: int
) -> list[Row]:
    """The compiled model against the folded numpy form, the sklearn pipeline and one matmul."""
    fold = folded(pipeline)
    reference = predict_arrays(pipeline, X)
    for name, got in (("compiled", compiled.predict(X)), ("folded", fold(X))):
        assert got.proba is not None and reference.proba is not None
        gap = float(np.abs(got.proba - reference.proba).max())
        if gap > 1e-9 or not np.array_equal(got.predict, reference.predict):
            raise SystemExit(f"the {name} form disagrees with sklearn (max gap {gap:.2e})")
    plain = folded_python(pipeline)
    assert reference.proba is not None
    if abs(plain(X[0].tolist()) - float(reference.proba[0, 1])) > 1e-9:
        raise SystemExit("the plain-Python form disagrees with sklearn")
    weights = np.ones(X.shape[1])
    out: list[Row] = []
    for n in (1, 1000):
        batch = np.ascontiguousarray(X[:n])
        ours = per_call_us(partial(compiled.predict, batch), repeat)
        numpy_form = per_call_us(partial(fold, batch), repeat)
        with sklearn.config_context(skip_parameter_validation=True):
            reference_us = per_call_us(partial(predict_arrays, pipeline, batch), repeat)
        floor = per_call_us(partial(np.matmul, batch, weights), repeat)
        out.append(Row("predict, compiled (ONNX Runtime)", n, ours, "folded numpy", numpy_form))
        out.append(Row("", n, ours, "sklearn pipeline", reference_us))
        out.append(Row("", n, ours, "X @ w (one numpy call)", floor))
        if n == 1:
            python_form = per_call_us(partial(plain, X[0].tolist()), repeat)
            out.append(Row("", n, ours, "folded, plain Python (list in)", python_form))
    return out


async def _through_batcher(batcher: Batcher, row: np.ndarray, requests: int, together: int) -> None:
    """Submit `requests` 1-row jobs, `together` at a time, and wait for every answer."""
    loop = asyncio.get_running_loop()
    for _ in range(requests // together):
        finished: asyncio.Future[None] = loop.create_future()
        left = [together]

        def done(
            out: Predictions | None,
            status: int,
            message: str,
            left: list[int] = left,
            finished: asyncio.Future[None] = finished,
        ) -> None:
            if status != 200:
                raise RuntimeError(f"the batcher answered {status}: {message}")
            left[0] -= 1
            if left[0] == 0:
                finished.set_result(None)

        for _ in range(together):
            batcher.submit(Job(row, loop.time() + 10.0, done))
        await finished


async def _hop(requests: int) -> None:
    loop = asyncio.get_running_loop()
    for _ in range(requests):
        future = loop.create_future()
        loop.call_soon(future.set_result, None)
        await future


def batcher_rows(model: LoadedModel, X: np.ndarray, repeat: int) -> tuple[list[Row], str]:
    """A request through the batcher (alone, and 16 queued together) against a direct call."""
    try:  # the server's loop (uvloop) where it is installed, as each worker runs it
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    try:
        batcher = Batcher(
            loop=loop, metrics=Metrics(shared_array(1), 0), max_inflight=256, max_batch_rows=1024
        )
        batcher.model = model
        batcher.cost = measure_cost(model, X[:64])
        note = (
            f"batcher cost model at warm-up: {batcher.cost.fixed_s * 1e6:.1f} µs + "
            f"{batcher.cost.per_row_s * 1e6:.2f} µs a row (small compiled batches run inline)"
        )
        row = np.ascontiguousarray(X[:1])
        requests = 64  # short samples, like every other row: the best one is least disturbed

        def timed(make: Callable[[], Any]) -> float:
            return per_call_us(lambda: loop.run_until_complete(make()), repeat) / requests

        alone = timed(lambda: _through_batcher(batcher, row, requests, 1))
        queued = timed(lambda: _through_batcher(batcher, row, requests, 16))
        hop = timed(lambda: _hop(requests))
        batcher.shutdown()
    finally:
        loop.close()
    direct = per_call_us(lambda: (model.check(row), model.predict(row)), repeat)
    return [
        Row("batcher, 1 request at a time", 1, alone, "check + predict, called directly", direct),
        Row("", 1, alone, "one event-loop hop", hop),
        Row("batcher, 16 requests queued", 1, queued, "check + predict, called directly", direct),
    ], note


def print_table(rows: list[Row]) -> None:
    """The table: our cost, the anchor's, and how many anchors ours costs."""
    print("| runtime | rows | µs per call | anchor | anchor µs | x anchor |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        ours = f"{r.us:.2f}" if r.what else ""
        ratio = r.us / r.anchor_us if r.anchor_us else float("inf")
        times = f"{ratio:.2f}" if ratio < 10 else f"{ratio:.0f}"
        print(f"| {r.what} | {r.rows} | {ours} | {r.anchor} | {r.anchor_us:.2f} | {times} |")


def main() -> None:
    """Build the model from synthetic data, time every piece, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="samples per figure (best counts)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    X, y = synthetic(4000)
    rules = contract()
    pipeline = fitted_pipeline(X, y)
    compiled = CompiledModel(export_onnx(pipeline, len(FEATURES)), classes=class_labels(pipeline))
    model = LoadedModel(
        name="synthetic",
        version="1",
        uri="memory",
        estimator=pipeline,
        features=FEATURES,
        key="key",
        problem_type="classification",
        check=contract_check(rules),
        compiled=compiled,
    )
    load = os.getloadavg()[0]
    rows = codec_rows(model, X, args.repeat)
    rows += guard_rows(rules, X, args.repeat)
    rows += predict_rows(pipeline, compiled, X, args.repeat)
    batched, note = batcher_rows(model, X, args.repeat)
    rows += batched
    print(
        f"mlplat_runtime micro-benchmark: {len(FEATURES)} features, logistic regression; "
        f"best of {args.repeat}; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print_table(rows)
    direct = rows[-1].anchor_us
    print(
        f"batcher overhead per 1-row request: {rows[-3].us - direct:.2f} µs alone, "
        f"{rows[-1].us - direct:.2f} µs with 16 queued (negative: batching saves model calls)"
    )
    print(note)


if __name__ == "__main__":
    main()
