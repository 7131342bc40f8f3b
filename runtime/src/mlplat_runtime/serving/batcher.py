"""Greedy batching with deadlines and queue-delay-based load shedding.

Why: one model call per request wastes most of the time in per-call overhead; waiting on a timer
to fill a batch adds latency when the server is idle. So the batcher drains whatever is queued the
moment the model is free, and nothing waits when there is no queue. The model runs in its own
thread (a bulkhead): the event loop keeps answering health checks and metrics while it predicts.

Admission compares the *estimated queue delay* with the request's own deadline: work that cannot
finish in time is refused at once with 503 + Retry-After (cheap for everyone) instead of a fixed,
small in-flight cap that would also reject traffic the server could serve. Work whose deadline
passes while queued is dropped before the model sees it.

A compiled (ONNX) model whose batch is expected to take less than `INLINE_BUDGET_S` runs on the
event loop itself: handing a 20-microsecond call to a thread and back costs more than the call,
and the loop is held up no longer than a few parsed requests would hold it. Anything slower (or
the sklearn fallback, whose cost has no such bound) runs in the model thread.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .metrics import Metrics
from .model import LoadedModel
from .predict import Predictions

log = logging.getLogger(__name__)
#: How a rejection by the data contract starts (its messages follow, joined by "; ").
CONTRACT_REJECTED = "input breaks the data contract: "

INLINE_BUDGET_S = 0.0005

Done = Callable[[Predictions | None, int, str], None]
Outcome = tuple[Predictions | None, list[str]]


class Overloaded(Exception):
    """The request is refused (503); `retry_after_s` goes into Retry-After."""

    def __init__(self, reason: str, retry_after_s: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


@dataclass(slots=True)
class Job:
    """One request's rows, its absolute deadline (loop clock) and its completion callback."""

    rows: np.ndarray
    deadline: float
    done: Done
    solo: bool = False  # run in a batch of its own (its shared batch failed in the model)


class CostModel:
    """Batch time ~ scale * (fixed + per_row * rows), fixed and per_row measured at warm-up.

    `scale` follows observed batches (an exponentially weighted mean), so the estimate adapts to
    CPU contention without a fitting step on the hot path. Under a backlog the server's real
    drain rate also includes parsing and answering requests, so `row_period_s` (seconds per row
    between the ends of back-to-back batches) bounds the estimate from below.

    The drain rate is a ratio of sums (weighted seconds over weighted rows), not a mean of
    per-cycle ratios: a cycle's time includes parsing requests that are not in its batch, so a
    1-row batch that ended while a 1,000-row body was parsed would otherwise price every queued
    row at that whole parse, and refuse large requests the server could easily serve. For the
    same reason the rate is trusted only once `EVIDENCE_S` of backlog has been measured: the
    first cycles of a burst are too few to say what a row costs.
    """

    #: Seconds of back-to-back cycles the drain rate needs before it bounds the estimate.
    EVIDENCE_S = 0.05
    #: Time constant of the rate's memory: older cycles weigh less, by e^(-age / this).
    MEMORY_S = 0.5

    def __init__(self, fixed_s: float, per_row_s: float) -> None:
        self.fixed_s = fixed_s
        self.per_row_s = per_row_s
        self.scale = 1.0
        self._cycle_s = 0.0
        self._cycle_rows = 0.0
        self.observed_at = -math.inf

    @property
    def row_period_s(self) -> float:
        """Measured seconds per row under backlog (0 before any measurement)."""
        return self._cycle_s / self._cycle_rows if self._cycle_rows else 0.0

    def queue_delay(self, rows: int, batches: int, now: float) -> float:
        """Expected seconds until `rows` queued rows (in `batches` calls) are answered.

        The drain rate is used only while it is fresh (measured within the last second): a
        stale rate must not keep refusing work after the backlog that produced it is gone.
        """
        model = self.cost(rows, batches)
        if now - self.observed_at > 1.0 or self._cycle_s < self.EVIDENCE_S:
            return model
        return max(model, self.row_period_s * rows)

    def observe_backlog(self, rows: int, seconds: float, now: float) -> None:
        """Fold in one back-to-back cycle: `rows` rows answered `seconds` after the last batch."""
        if rows > 0 and seconds > 0:
            age = now - self.observed_at
            keep = math.exp(-age / self.MEMORY_S) if age <= 1.0 else 0.0  # stale: start afresh
            self._cycle_s = keep * self._cycle_s + seconds
            self._cycle_rows = keep * self._cycle_rows + rows
            self.observed_at = now

    def cost(self, rows: int, batches: int = 1) -> float:
        """Expected seconds to predict `rows` rows in `batches` model calls."""
        return self.scale * (self.fixed_s * batches + self.per_row_s * rows)

    def observe(self, rows: int, seconds: float) -> None:
        """Fold one measured batch into `scale`."""
        expected = self.fixed_s + self.per_row_s * rows
        if expected > 0:
            ratio = min(max(seconds / expected, 0.1), 100.0)
            self.scale += 0.1 * (ratio - self.scale)


def measure_cost(model: LoadedModel, rows: np.ndarray, rounds: int = 20) -> CostModel:
    """Warm the model up and measure the cost of 1-row and 64-row calls (best of `rounds`)."""
    one = rows[:1]
    many = np.repeat(rows[:1], 64, axis=0)
    t_one = t_many = math.inf
    for _ in range(rounds):
        start = time.perf_counter()
        model.predict(one)
        model.check(one)
        mid = time.perf_counter()
        model.predict(many)
        model.check(many)
        end = time.perf_counter()
        t_one, t_many = min(t_one, mid - start), min(t_many, end - mid)
    per_row = max((t_many - t_one) / 63, 0.0)
    return CostModel(max(t_one - per_row, 0.0), per_row)


def _fast_sklearn() -> None:
    """Skip sklearn's per-call parameter validation in the model thread (config is per thread).

    Inputs reaching the model already passed the data contract, and the fitted estimator's
    parameters were validated when it was trained.
    """
    import sklearn

    sklearn.set_config(skip_parameter_validation=True)


class Batcher:
    """Queue, admission control and the model thread for one worker."""

    def __init__(
        self,
        *,
        loop: asyncio.AbstractEventLoop,
        metrics: Metrics,
        max_inflight: int,
        max_batch_rows: int,
    ) -> None:
        self.loop = loop
        self.metrics = metrics
        self.max_inflight = max_inflight
        self.max_batch_rows = max_batch_rows
        self.model: LoadedModel | None = None
        self.cost = CostModel(0.0, 0.0)
        self._queue: collections.deque[Job] = collections.deque()
        self._queued_rows = 0
        self._busy_rows = 0
        self._busy_since = 0.0
        self.inflight = 0
        self._kick_pending = False
        self._backlogged = False
        self._last_end = 0.0
        self._shed = 0
        self._shed_at_last_end = 0
        self._ran_s = 0.0  # the last batch's own duration, written by whichever thread ran it
        self._executor = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="model", initializer=_fast_sklearn
        )

    def submit(self, job: Job) -> None:
        """Queue `job` or raise Overloaded; the job's callback runs later on the loop."""
        if self.inflight >= self.max_inflight:
            self.metrics.inc("shed_concurrency")
            raise Overloaded(f"at the cap of {self.max_inflight} requests in flight", 1.0)
        now = self.loop.time()
        rows = self._queued_rows + job.rows.shape[0]
        wait = self.cost.queue_delay(rows, 1 + rows // self.max_batch_rows, now)
        if self._busy_rows:
            wait += max(self._busy_since + self.cost.cost(self._busy_rows) - now, 0.0)
        if now + wait > job.deadline:
            self.metrics.inc("shed_queue_delay")
            self._shed += 1
            raise Overloaded(
                f"estimated queue delay {wait * 1000:.1f} ms exceeds the deadline", max(wait, 1.0)
            )
        self.inflight += 1
        self.metrics.set("inflight", self.inflight)
        self._queue.append(job)
        self._queued_rows += job.rows.shape[0]
        self._kick_soon()

    def _kick_soon(self) -> None:
        """Start a batch on the next loop iteration, after the I/O that is already readable.

        Requests that arrived together (one epoll wake-up) then share a batch. This is not a timer:
        the next iteration polls with a zero timeout, so an idle server adds no latency.
        """
        if not self._busy_rows and not self._kick_pending:
            self._kick_pending = True
            self.loop.call_soon(self._kick)

    def _kick(self) -> None:
        self._kick_pending = False
        if self._queue and not self._busy_rows:
            self._start()

    def _start(self) -> None:
        model = self.model
        queue = self._queue
        now = self.loop.time()
        jobs: list[Job] = []
        rows = 0
        while queue and (not jobs or rows + queue[0].rows.shape[0] <= self.max_batch_rows):
            if jobs and (queue[0].solo or jobs[0].solo):
                break
            job = queue.popleft()
            self._queued_rows -= job.rows.shape[0]
            if job.deadline <= now:
                self.inflight -= 1
                self.metrics.inc("deadline_exceeded")
                job.done(None, 504, "deadline exceeded while queued; the request was not run")
                continue
            jobs.append(job)
            rows += job.rows.shape[0]
        self.metrics.set("queue_rows", self._queued_rows)
        if not jobs:
            return
        if model is None:
            self.inflight -= len(jobs)
            for job in jobs:
                job.done(None, 503, "no model is loaded")
            return
        features = jobs[0].rows if len(jobs) == 1 else np.concatenate([j.rows for j in jobs])
        self._busy_rows = rows
        self._busy_since = now
        # The unscaled warm-up cost: `scale` also grows with queueing behind the thread, which
        # says nothing about how long the call itself holds the loop.
        intrinsic = self.cost.fixed_s + self.cost.per_row_s * rows
        if model.compiled is not None and intrinsic <= INLINE_BUDGET_S:
            try:
                outcome: Outcome | BaseException = self._run(model, features)
            except Exception as exc:
                outcome = exc
            self._finished(outcome, jobs, model, now)
            return
        future = self._executor.submit(self._run, model, features)
        future.add_done_callback(
            lambda f: self.loop.call_soon_threadsafe(self._finished_future, f, jobs, model, now)
        )

    def _run(self, model: LoadedModel, features: np.ndarray) -> Outcome:
        # Timed where it runs: the time until the loop sees the result also holds whatever the
        # loop was doing meanwhile (parsing other requests), which is not this batch's cost.
        start = time.perf_counter()
        try:
            problems = model.check(features)
            if problems:
                return None, problems
            return model.predict(features), []
        finally:
            self._ran_s = time.perf_counter() - start

    def _finished_future(
        self,
        future: concurrent.futures.Future[Outcome],
        jobs: list[Job],
        model: LoadedModel,
        started: float,
    ) -> None:
        exc = future.exception()
        self._finished(exc if exc is not None else future.result(), jobs, model, started)

    def _finished(
        self,
        outcome: Outcome | BaseException,
        jobs: list[Job],
        model: LoadedModel,
        started: float,
    ) -> None:
        rows = self._busy_rows
        self._busy_rows = 0
        self.inflight -= len(jobs)
        self.metrics.set("inflight", self.inflight)
        now = self.loop.time()
        self.cost.observe(rows, self._ran_s)
        # A back-to-back cycle measures the drain rate, unless refusing requests took part of
        # it: counting that time against admitted rows would feed shedding with itself.
        if self._backlogged and self._shed == self._shed_at_last_end:
            self.cost.observe_backlog(rows, now - self._last_end, now)
        self._last_end = now
        self._shed_at_last_end = self._shed
        self.metrics.inc("batches")
        if isinstance(outcome, BaseException):
            out: Predictions | None = None
            problems: list[str] = []
            if len(jobs) > 1:  # a bulkhead: find the failing request instead of failing all
                log.warning("a batch of %d requests failed; retrying each alone", len(jobs))
                for job in reversed(jobs):
                    job.solo = True
                    self._retry(job)
            else:
                log.error("prediction failed for a batch of %d rows", rows, exc_info=outcome)
                jobs[0].done(None, 500, "the model failed on this input; see the server log")
        else:
            out, problems = outcome
        if problems:
            for job in jobs:
                mine = model.check(job.rows)
                if mine:
                    job.done(None, 400, CONTRACT_REJECTED + "; ".join(mine))
                else:
                    self._retry(job)
        elif out is not None:
            self.metrics.inc("rows", rows)
            if len(jobs) == 1:
                jobs[0].done(out, 200, "")
            else:
                start = 0
                for job in jobs:
                    end = start + job.rows.shape[0]
                    proba = out.proba[start:end] if out.proba is not None else None
                    job.done(Predictions(out.predict[start:end], proba, out.classes), 200, "")
                    start = end
        self._backlogged = bool(self._queue)
        if self._queue:
            self._kick_soon()

    def _retry(self, job: Job) -> None:
        """Re-queue a valid job whose batch was rejected because of another request's rows."""
        self.inflight += 1
        self._queue.appendleft(job)
        self._queued_rows += job.rows.shape[0]

    def shutdown(self) -> None:
        """Stop the model thread after the current batch."""
        self._executor.shutdown(wait=False)


__all__ = ["CONTRACT_REJECTED", "Batcher", "CostModel", "Job", "Overloaded", "measure_cost"]
