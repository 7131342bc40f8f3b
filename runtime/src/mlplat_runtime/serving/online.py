"""Online features for the model server: looked up by entity key, bounded, with a fallback.

Why: the online store is a dependency the server does not control. A lookup must never block
the event loop, never take longer than its budget (``--feature-timeout-ms``, capped by the
request's own deadline) and never hammer a store that is down. So each lookup runs on one of a
few threads of its own (a bulkhead: ``--feature-threads``; with four times as many waiting,
new lookups fail at once), a timer on the event loop ends the wait, and the ``online_store``
circuit breaker (``resilience.py``) fails lookups fast once three in a row failed, probing
the store again after five seconds. A lookup that timed out keeps its thread until it returns; the
breaker counts those and starts no new lookup while ``--feature-threads`` of them hang.

Where the features of a row come from (the ``X-Feature-Source`` header of the answer names
each source used):

- the request has keys (the contract's key column) and no features: the online store; when it
  cannot answer (down, slow, breaker open, key unknown), the ``--feature-defaults`` values if
  configured, else 503 with ``Retry-After`` (422 for a key the store does not hold);
- the request has keys and features: the online store, and the request's own values when the
  store cannot answer or does not know the key (so a caller that sends both never gets 503);
- the request has features and no keys: the request's values, with no lookup.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .codec import KEY_DATATYPES, Parsed, RequestError
from .model import LoadedModel
from .resilience import CircuitBreaker, CircuitOpenError

log = logging.getLogger(__name__)

#: Keys in, ``{column: [value per key]}`` out (``feature_store.online_fetcher``).
Fetch = Callable[[Sequence[Any]], dict[str, list[Any]]]


@dataclass(frozen=True, slots=True)
class Lookup:
    """The outcome of one lookup.

    Attributes:
        matrix: [N, F] float64 in model feature order (NaN where the store had no value), or
            None when the store could not answer.
        found: [N] bool, True where the store held every feature of the key.
        error: why the store could not answer, else None.
    """

    matrix: np.ndarray | None
    found: np.ndarray | None
    error: str | None


class OnlineFeatures:
    """One worker's online-store client.

    Args:
        open_fetch: opens the store and returns the lookup call; runs on a lookup thread, at
            start-up (``prepare``) and again after a failure to open.
        features: the model's feature names, in input order.
        breaker: the ``online_store`` breaker.
        timeout_s: the budget of one lookup.
        threads: lookups running at once.
        defaults: the fallback row for keys-only requests ([F], model order), or None.
        warm_up_s: at start-up, wait at most this long for one lookup of a key no entity has
            (Feast's first lookup in a process loads its registry and connects: tens of
            milliseconds, more than the budget); 0: no warm-up.
    """

    def __init__(
        self,
        open_fetch: Callable[[], Fetch],
        *,
        features: Sequence[str],
        breaker: CircuitBreaker,
        timeout_s: float,
        threads: int = 4,
        defaults: np.ndarray | None = None,
        warm_up_s: float = 0.0,
    ) -> None:
        self.open_fetch = open_fetch
        self.features = tuple(features)
        self.breaker = breaker
        self.timeout_s = timeout_s
        self.defaults = defaults
        self.warm_up_s = warm_up_s
        self.max_waiting = 4 * threads
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="online-features"
        )
        self._fetch: Fetch | None = None
        self._open_lock = threading.Lock()
        self._waiting = 0

    def prepare(self) -> None:
        """Open the store now, from the model loader's thread: the first request does not pay.

        Then one warm-up lookup, waited for at most ``warm_up_s`` (a store that hangs delays
        readiness by that much, never more). A failure is logged, and lookups try again.
        """
        try:
            fetch = self._opened()
        except Exception as exc:
            log.warning("online store not available yet (%s); lookups will retry", exc)
            return
        if self.warm_up_s <= 0:
            return
        future = self._pool.submit(fetch, ["__warm-up__"])
        try:
            future.result(timeout=self.warm_up_s)
        except concurrent.futures.TimeoutError:
            log.warning("online store: no warm-up answer within %gs", self.warm_up_s)
        except Exception as exc:
            log.warning("online store warm-up failed (%s); lookups will retry", exc)

    def _opened(self) -> Fetch:
        with self._open_lock:
            if self._fetch is None:
                self._fetch = self.open_fetch()
            return self._fetch

    def _run(self, keys: list[Any]) -> dict[str, list[Any]]:
        return self._opened()(keys)

    def lookup(
        self,
        keys: list[Any],
        budget_s: float,
        loop: asyncio.AbstractEventLoop,
        done: Callable[[Lookup], None],
    ) -> None:
        """Look ``keys`` up; ``done`` runs once on ``loop`` with the outcome, within the budget."""
        try:
            self.breaker.before_call()
        except CircuitOpenError as exc:
            return done(Lookup(None, None, str(exc)))
        if self._waiting >= self.max_waiting:
            self.breaker.record_failure()
            return done(Lookup(None, None, f"{self._waiting} lookups already waiting"))
        self._waiting += 1
        finished = False

        def finish(outcome: Lookup) -> None:
            nonlocal finished
            if finished:
                return
            finished = True
            self._waiting -= 1
            timer.cancel()
            done(outcome)

        def timed_out() -> None:
            if finished:
                return
            self.breaker.record_failure()
            self.breaker.hang_started()
            future.add_done_callback(lambda _: self.breaker.hang_ended())
            finish(Lookup(None, None, f"no answer within {budget_s * 1000:.0f} ms"))

        def returned(fut: concurrent.futures.Future[dict[str, list[Any]]]) -> None:
            loop.call_soon_threadsafe(settle, fut)

        def settle(fut: concurrent.futures.Future[dict[str, list[Any]]]) -> None:
            if finished:
                return
            error = fut.exception()
            if error is not None:
                self.breaker.record_failure()
                return finish(Lookup(None, None, f"{type(error).__name__}: {error}"))
            try:
                matrix, found = self._matrix(fut.result(), len(keys))
            except Exception as exc:  # a store answering something else is a failing store
                self.breaker.record_failure()
                return finish(Lookup(None, None, f"unreadable answer: {exc}"))
            self.breaker.record_success()
            finish(Lookup(matrix, found, None))

        timer = loop.call_later(max(budget_s, 0.0), timed_out)
        future = self._pool.submit(self._run, keys)
        future.add_done_callback(returned)

    def _matrix(self, answer: dict[str, list[Any]], rows: int) -> tuple[np.ndarray, np.ndarray]:
        columns = []
        for name in self.features:
            values = answer[name]
            if len(values) != rows:
                raise ValueError(f"{len(values)} values of {name} for {rows} keys")
            columns.append([math.nan if v is None else float(v) for v in values])
        matrix = np.asarray(columns, dtype=np.float64).T.reshape(rows, len(self.features))
        found = np.asarray(~np.isnan(matrix).any(axis=1), dtype=bool)
        return matrix, found

    def close(self) -> None:
        """Stop the lookup threads (a hung one is left to finish on its own)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True, slots=True)
class Resolved:
    """The rows to predict on, or why there are none.

    Attributes:
        parsed: the request with its rows' features filled in, or None.
        sources: the sources used (``online``, ``request``, ``defaults``), for the header.
        status: the HTTP status to answer with when ``parsed`` is None.
        message: why, when ``parsed`` is None.
    """

    parsed: Parsed | None
    sources: tuple[str, ...] = ()
    status: int = 200
    message: str = ""


def resolve(
    parsed: Parsed, has_features: bool, outcome: Lookup, defaults: np.ndarray | None, key: str
) -> Resolved:
    """Each row's features: the store's, else the request's, else the defaults (module doc)."""
    rows = parsed.features.shape[0]
    matrix = parsed.features.copy()
    source = np.full(rows, "", dtype=object)
    if outcome.matrix is not None and outcome.found is not None:
        matrix[outcome.found] = outcome.matrix[outcome.found]
        source[outcome.found] = "online"
    missing = source == ""
    if missing.any():
        if has_features:
            source[missing] = "request"
        elif defaults is not None:
            matrix[missing] = defaults
            source[missing] = "defaults"
        elif outcome.error is not None:
            return Resolved(
                None,
                status=503,
                message=(
                    f"online features unavailable ({outcome.error}); send the features with "
                    "the keys, or start the server with --feature-defaults FILE"
                ),
            )
        else:
            unknown = [parsed.keys[i] for i in np.flatnonzero(missing)] if parsed.keys else []
            return Resolved(
                None,
                status=422,
                message=(
                    f"the online store holds no features for {key} {unknown[:5]!r}: "
                    "send the features with the keys (or run make materialize)"
                ),
            )
    used = tuple(name for name in ("online", "request", "defaults") if (source == name).any())
    return Resolved(Parsed(matrix, parsed.keys, parsed.request_id), used)


def parse_keys_only(body: bytes, model: LoadedModel, csv: bool = False) -> Parsed | None:
    """A request that carries only entity keys, as rows of NaN features; else None.

    Accepted: an OIP V2 body with one tensor named after the key, ``dataframe_records`` /
    ``instances`` of ``{key: value}`` objects, ``dataframe_split`` with the key as the only
    column, ``inputs`` as ``{key: [values]}``, and a ``text/csv`` body whose header is the key.
    """
    keys = _csv_keys(body, model.key) if csv else _json_keys(body, model.key)
    if not keys:
        return None
    for value in keys:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise RequestError(400, f"{model.key}: keys must be strings or numbers")
    return Parsed(np.full((len(keys), len(model.features)), np.nan), keys, None)


def _json_keys(body: bytes, key: str) -> list[Any] | None:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict):
        return None
    inputs = doc.get("inputs")
    if isinstance(inputs, list) and len(inputs) == 1 and isinstance(inputs[0], dict):
        tensor = inputs[0]
        if tensor.get("name") == key and tensor.get("datatype") in KEY_DATATYPES:
            data = tensor.get("data")
            return data if isinstance(data, list) else None
        return None
    if isinstance(inputs, dict) and set(inputs) == {key} and isinstance(inputs[key], list):
        return list(inputs[key])
    for name in ("dataframe_records", "instances"):
        records = doc.get(name)
        if isinstance(records, list) and records and len(doc) == 1:
            if all(isinstance(r, dict) and set(r) == {key} for r in records):
                return [r[key] for r in records]
    split = doc.get("dataframe_split")
    if isinstance(split, dict) and split.get("columns") == [key]:
        data = split.get("data")
        if isinstance(data, list) and all(isinstance(r, list) and len(r) == 1 for r in data):
            return [r[0] for r in data]
    return None


def _csv_keys(body: bytes, key: str) -> list[Any] | None:
    try:
        lines = [line.strip() for line in body.decode("utf-8-sig").splitlines() if line.strip()]
    except UnicodeDecodeError:
        return None
    if not lines or lines[0] != key:
        return None
    return lines[1:]


def load_defaults(path: str, features: Sequence[str]) -> np.ndarray:
    """The ``--feature-defaults`` file: a JSON object with a number for every feature.

    Raises:
        ValueError: the file is missing, not JSON, or lacks a feature; the message says which.
    """
    try:
        doc = orjson.loads(Path(path).read_bytes())
    except OSError as exc:
        raise ValueError(f"--feature-defaults {path}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"--feature-defaults {path} is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"--feature-defaults {path}: expected an object of feature -> number")
    missing = [f for f in features if not isinstance(doc.get(f), int | float)]
    if missing:
        raise ValueError(
            f"--feature-defaults {path} has no number for {', '.join(missing)} "
            "(python -m <package>.feature_store defaults --out FILE writes a complete one)"
        )
    return np.asarray([float(doc[f]) for f in features], dtype=np.float64)


__all__ = [
    "Fetch",
    "Lookup",
    "OnlineFeatures",
    "Resolved",
    "load_defaults",
    "parse_keys_only",
    "resolve",
]
