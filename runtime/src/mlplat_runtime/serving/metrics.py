"""Prometheus metrics shared by all worker processes.

Why: with several workers behind one port a scrape reaches one of them, so counters live in one
shared-memory array (created before the workers fork, one row per worker, each row written only by
its own worker, so no locks) and any worker can render the sum. Fixed-size storage keeps memory
bounded: there are no per-request labels.
"""

from __future__ import annotations

import bisect
import multiprocessing.sharedctypes
from collections.abc import Sequence
from typing import Any

import numpy as np

CODES = (200, 400, 404, 405, 408, 411, 413, 415, 431, 500, 503, 504)
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
MAX_FEATURES = 64

_COUNTERS = (
    "rows",
    "batches",
    "shed_queue_delay",
    "shed_concurrency",
    "deadline_exceeded",
    "log_enqueued",
    "log_dropped",
    "log_written",
    "log_sink_errors",
    "log_lost",
    "model_load_failures",
    "latency_sum",
    "latency_count",
    "drift_windows",
    "ship_batches",
    "ship_failed_batches",
    "ship_dropped_batches",
    "ship_dropped_records",
)
_GAUGES = ("inflight", "ready", "draining", "queue_rows", "listening", "compiled", "ship_backlog")
#: The request formats whose ignored columns are counted (a fixed label set: never column names).
INPUTS = ("v2", "json", "csv")
_CODE_BASE = len(_COUNTERS)
_HIST_BASE = _CODE_BASE + len(CODES) + 1
_GAUGE_BASE = _HIST_BASE + len(LATENCY_BUCKETS) + 1
_IGNORED_BASE = _GAUGE_BASE + len(_GAUGES)  # per input: columns, then requests
_DRIFT_BASE = _IGNORED_BASE + 2 * len(INPUTS)
SLOTS = _DRIFT_BASE + MAX_FEATURES
_INDEX = {name: i for i, name in enumerate(_COUNTERS)} | {
    name: _GAUGE_BASE + i for i, name in enumerate(_GAUGES)
}
_CODE_INDEX = {code: _CODE_BASE + i for i, code in enumerate(CODES)}
_IGNORED_INDEX = {name: _IGNORED_BASE + 2 * i for i, name in enumerate(INPUTS)}
_HELP = {
    "rows": "Rows predicted.",
    "batches": "Prediction batches run.",
    "shed_queue_delay": "Requests refused with 503 because the estimated queue delay exceeded "
    "their deadline.",
    "shed_concurrency": "Requests refused with 503 at the concurrency or queue cap.",
    "deadline_exceeded": "Requests dropped before predicting because their deadline passed.",
    "log_enqueued": "Sampled prediction records queued for the log sink.",
    "log_dropped": "Sampled prediction records dropped because the log queue was full.",
    "log_written": "Prediction records written to the log sink.",
    "log_sink_errors": "Failed writes to the prediction log sink.",
    "log_lost": "Prediction records lost because the log sink failed to take them.",
    "model_load_failures": "Model loads (start-up or reload) that failed; a failed reload "
    "keeps serving the previous model.",
    "drift_windows": "Completed drift-check windows.",
    "ship_batches": "Batches of prediction records uploaded to the object store.",
    "ship_failed_batches": "Failed uploads of a batch of prediction records (retried later).",
    "ship_dropped_batches": "Batches of prediction records dropped because the upload backlog "
    "was full.",
    "ship_dropped_records": "Prediction records in the dropped batches.",
}


def shared_array(workers: int) -> np.ndarray:
    """Allocate the zeroed shared counter array for `workers` processes (call before forking)."""
    raw = multiprocessing.sharedctypes.RawArray("d", workers * SLOTS)
    table = np.frombuffer(raw, dtype=np.float64).reshape(workers, SLOTS)
    table[:, _DRIFT_BASE:] = np.nan  # drift is "not measured" until a window completes
    return table


class Metrics:
    """One worker's writer over the shared array, and the renderer of the whole."""

    def __init__(self, table: np.ndarray, worker: int) -> None:
        self._table = table
        # Scalar writes through a memoryview cost a fraction of numpy item assignment, and
        # they happen several times per request.
        self._row: Any = memoryview(table[worker])  # typeshed types it as ints; it holds "d"
        self.worker = worker

    def inc(self, name: str, value: float = 1.0) -> None:
        """Add to a counter."""
        self._row[_INDEX[name]] += value

    def set(self, name: str, value: float) -> None:
        """Set this worker's gauge."""
        self._row[_INDEX[name]] = value

    def get(self, name: str) -> float:
        """Return the sum over workers of a counter or gauge."""
        return float(self._table[:, _INDEX[name]].sum())

    def response(self, code: int) -> None:
        """Count one response by status code."""
        self._row[_CODE_INDEX.get(code, _HIST_BASE - 1)] += 1

    def ignored_columns(self, source: str, columns: int) -> None:
        """Count a request's columns that are neither a feature nor the key, by input format.

        ``source`` is one of :data:`INPUTS`; the column names are not recorded (unbounded).
        """
        at = _IGNORED_INDEX[source]
        self._row[at] += columns
        self._row[at + 1] += 1

    def observe_latency(self, seconds: float) -> None:
        """Record one prediction request's latency."""
        row = self._row
        row[_HIST_BASE + bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        row[_INDEX["latency_sum"]] += seconds
        row[_INDEX["latency_count"]] += 1

    def all_listening_ready(self) -> bool:
        """True when every worker that accepts connections has a model ready to serve."""
        listening = self._table[:, _INDEX["listening"]] > 0
        ready = self._table[:, _INDEX["ready"]] > 0
        return bool(np.all(ready | ~listening))

    def clear_drift(self) -> None:
        """Mark this worker's drift as not measured (a new model starts a new window)."""
        self._table[self.worker, _DRIFT_BASE:] = np.nan

    def set_drift(self, psi: Sequence[float]) -> None:
        """Publish this worker's latest population stability index per feature."""
        n = min(len(psi), MAX_FEATURES)
        self._table[self.worker, _DRIFT_BASE : _DRIFT_BASE + n] = psi[:n]

    def render(
        self,
        *,
        model_name: str,
        model_version: str,
        runtime: str,
        features: Sequence[str],
        breakers: dict[str, str],
    ) -> bytes:
        """Render the Prometheus text exposition format (version 0.0.4)."""
        total = self._table.sum(axis=0)
        out: list[str] = []
        for name in _COUNTERS:
            if name in ("latency_sum", "latency_count"):
                continue
            metric = f"model_server_{name}_total"
            out += [
                f"# HELP {metric} {_HELP[name]}",
                f"# TYPE {metric} counter",
                f"{metric} {total[_INDEX[name]]:.0f}",
            ]
        out += [
            "# HELP model_server_responses_total HTTP responses by status code.",
            "# TYPE model_server_responses_total counter",
        ]
        for code, idx in _CODE_INDEX.items():
            out.append(f'model_server_responses_total{{code="{code}"}} {total[idx]:.0f}')
        out.append(f'model_server_responses_total{{code="other"}} {total[_HIST_BASE - 1]:.0f}')
        metric = "model_server_request_duration_seconds"
        out += [
            f"# HELP {metric} Prediction request latency from parsed request to response.",
            f"# TYPE {metric} histogram",
        ]
        cumulative = 0.0
        for i, bound in enumerate(LATENCY_BUCKETS):
            cumulative += total[_HIST_BASE + i]
            out.append(f'{metric}_bucket{{le="{bound}"}} {cumulative:.0f}')
        cumulative += total[_HIST_BASE + len(LATENCY_BUCKETS)]
        out += [
            f'{metric}_bucket{{le="+Inf"}} {cumulative:.0f}',
            f"{metric}_sum {total[_INDEX['latency_sum']]:.6f}",
            f"{metric}_count {total[_INDEX['latency_count']]:.0f}",
        ]
        out += _render_ignored(total)
        for name in _GAUGES:
            metric = f"model_server_{name}"
            out.append(f"# TYPE {metric} gauge")
            for w in range(self._table.shape[0]):
                out.append(f'{metric}{{worker="{w}"}} {self._table[w, _INDEX[name]]:g}')
        out += [
            "# HELP model_drift_psi Population stability index of live inputs against the "
            "training reference, last completed window; absent until one is measured.",
            "# TYPE model_drift_psi gauge",
        ]
        measured = []
        for w in range(self._table.shape[0]):
            values = self._table[w, _DRIFT_BASE : _DRIFT_BASE + min(len(features), MAX_FEATURES)]
            done = bool(len(values)) and not np.isnan(values).all()
            measured.append(f'model_drift_measured{{worker="{w}"}} {int(done)}')
            for feature, value in zip(features, values, strict=False):
                if not np.isnan(value):
                    out.append(f'model_drift_psi{{feature="{feature}",worker="{w}"}} {value:.6f}')
        out += [
            "# HELP model_drift_measured 1 when drift was measured (a window completed against a "
            "reference profile); 0 means not measured, not zero drift.",
            "# TYPE model_drift_measured gauge",
            *measured,
        ]
        out += ["# TYPE model_server_breaker_open gauge"]
        for dep, state in breakers.items():
            out.append(f'model_server_breaker_open{{dependency="{dep}"}} {int(state != "closed")}')
        out += [
            "# TYPE model_info gauge",
            f'model_info{{name="{model_name}",version="{model_version}",runtime="{runtime}"}} 1',
            "",
        ]
        return "\n".join(out).encode()


def _render_ignored(total: np.ndarray) -> list[str]:
    columns, requests = "model_server_ignored_columns_total", "model_server_ignored_requests_total"
    out = [
        f"# HELP {columns} Request columns neither a feature nor the key (a full source row's "
        "target, attributes and other columns), ignored as batch scoring ignores them; by input "
        "format.",
        f"# TYPE {columns} counter",
    ]
    out += [f'{columns}{{input="{n}"}} {total[i]:.0f}' for n, i in _IGNORED_INDEX.items()]
    out += [
        f"# HELP {requests} Requests that carried ignored columns, by input format.",
        f"# TYPE {requests} counter",
    ]
    out += [f'{requests}{{input="{n}"}} {total[i + 1]:.0f}' for n, i in _IGNORED_INDEX.items()]
    return out


__all__ = ["CODES", "INPUTS", "LATENCY_BUCKETS", "SLOTS", "Metrics", "shared_array"]
