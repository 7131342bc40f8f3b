"""Circuit breaker, retries with backoff and timeouts for every outbound call.

Why: the server talks to two things it does not control, the model registry (at start-up and on
reload) and the prediction-log sink. A slow or failing dependency must cost a bounded amount of
time and must not be hammered while it is down, so every such call goes through `guarded_call`:
a timeout per attempt, a few retries with exponential backoff and jitter, and a breaker that fails
fast once the dependency has failed repeatedly and probes it again after a cool-down.
"""

from __future__ import annotations

import concurrent.futures
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class CircuitOpenError(RuntimeError):
    """Raised instead of calling a dependency whose breaker is open."""


class CallTimeoutError(TimeoutError):
    """Raised when one attempt of an outbound call exceeds its timeout."""


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How hard to try one outbound call.

    Attributes:
        attempts: total attempts including the first one.
        timeout_s: limit for each attempt.
        backoff_s: delay before the second attempt; doubles for each later one.
        max_backoff_s: upper bound for one delay.
    """

    attempts: int = 3
    timeout_s: float = 30.0
    backoff_s: float = 0.2
    max_backoff_s: float = 5.0


class CircuitBreaker:
    """Closed -> open after `failure_threshold` consecutive failures -> half-open after `reset_s`.

    In the half-open state one trial call is let through: success closes the breaker, failure
    opens it again. Attempts that timed out but are still running (a thread cannot be killed)
    are counted; at `max_hung` of them no new attempt starts, so a dependency that hangs forever
    costs a bounded number of threads instead of one more per cool-down. Thread-safe; the clock
    is injectable so tests need no sleeping.
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_s: float = 30.0,
        max_hung: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_s = reset_s
        self.max_hung = max_hung
        self.hung = 0
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self.opened_total = 0

    @property
    def state(self) -> str:
        """Return "closed", "open" or "half_open"."""
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_s:
            return "half_open"
        return "open"

    def before_call(self) -> None:
        """Raise CircuitOpenError unless a call may go through now."""
        with self._lock:
            if self.hung >= self.max_hung:
                raise CircuitOpenError(
                    f"{self.name}: {self.hung} earlier calls timed out and are still running; "
                    "no new call starts until one of them returns"
                )
            state = self._state_locked()
            if state == "open" or (state == "half_open" and self._trial_running):
                raise CircuitOpenError(
                    f"{self.name}: circuit open after {self._failures} consecutive failures; "
                    f"next trial in at most {self.reset_s:g}s"
                )
            if state == "half_open":
                self._trial_running = True

    def record_success(self) -> None:
        """Close the breaker."""
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_running = False

    def record_failure(self) -> None:
        """Count a failure; open (or re-open) the breaker when the threshold is reached."""
        with self._lock:
            self._failures += 1
            half_open = self._trial_running
            self._trial_running = False
            if half_open or self._failures >= self.failure_threshold:
                if self._opened_at is None or half_open:
                    self.opened_total += 1
                self._opened_at = self._clock()

    def hang_started(self) -> None:
        """Count an attempt that timed out while its thread keeps running."""
        with self._lock:
            self.hung += 1

    def hang_ended(self) -> None:
        """A timed-out attempt's thread has finished."""
        with self._lock:
            self.hung -= 1


def _run_with_timeout(fn: Callable[[], T], timeout_s: float, breaker: CircuitBreaker) -> T:
    """Run `fn` in a daemon thread and give up waiting after `timeout_s`.

    A thread cannot be killed, so a hung call keeps its thread (counted on `breaker` until it
    returns); the caller gets control back, which is what matters for start-up, reload and the
    log writer. The thread is a daemon, not a thread pool's: the interpreter joins pool threads
    at exit, so an abandoned call would keep a stopping server alive for as long as it hangs.
    """
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:  # handed to the waiting caller, who re-raises it
            future.set_exception(exc)

    threading.Thread(target=run, name="outbound", daemon=True).start()
    try:
        return future.result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        breaker.hang_started()
        future.add_done_callback(lambda _: breaker.hang_ended())
        raise CallTimeoutError(f"call did not finish within {timeout_s:g}s") from None


def guarded_call(
    fn: Callable[[], T],
    *,
    breaker: CircuitBreaker,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
) -> T:
    """Call `fn` through `breaker` with per-attempt timeouts and exponential backoff.

    Args:
        fn: the outbound call, without arguments.
        breaker: the dependency's breaker; an open breaker fails fast with CircuitOpenError.
        policy: attempts, timeout and backoff.
        sleep: injectable for tests.
        retry_on: exception types worth another attempt; others are raised at once.

    Returns:
        The value of the first successful attempt.

    Raises:
        CircuitOpenError: the breaker is open.
        Exception: the last attempt's error when every attempt failed.
    """
    delay = policy.backoff_s
    for attempt in range(1, policy.attempts + 1):
        breaker.before_call()
        try:
            result = _run_with_timeout(fn, policy.timeout_s, breaker)
        except retry_on:
            breaker.record_failure()
            if attempt == policy.attempts:
                raise
            sleep(min(delay, policy.max_backoff_s) * (0.5 + random.random() / 2))
            delay *= 2
        except BaseException:
            breaker.record_failure()
            raise
        else:
            breaker.record_success()
            return result
    raise AssertionError("unreachable: the loop returns or raises")


__all__ = [
    "CallTimeoutError",
    "CircuitBreaker",
    "CircuitOpenError",
    "RetryPolicy",
    "guarded_call",
]
