"""Circuit breaker, retries with backoff and per-attempt timeouts for outbound calls."""

from __future__ import annotations

import threading

import pytest

from mlplat_runtime.serving.resilience import (
    CallTimeoutError,
    CircuitBreaker,
    CircuitOpenError,
    RetryPolicy,
    guarded_call,
)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_breaker_opens_fails_fast_half_opens_and_closes():
    clock = Clock()
    breaker = CircuitBreaker("dep", failure_threshold=2, reset_s=10, clock=clock)
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError, match="dep"):
        breaker.before_call()
    clock.now = 10
    assert breaker.state == "half_open"
    breaker.before_call()  # the one trial
    with pytest.raises(CircuitOpenError):
        breaker.before_call()  # no second trial while the first runs
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now = 20
    breaker.before_call()
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.opened_total == 2


def test_retries_with_exponential_backoff_then_succeeds():
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("registry down")
        return "ok"

    breaker = CircuitBreaker("registry", failure_threshold=10)
    policy = RetryPolicy(attempts=3, timeout_s=5, backoff_s=0.2)
    assert guarded_call(flaky, breaker=breaker, policy=policy, sleep=sleeps.append) == "ok"
    assert len(calls) == 3
    assert 0.1 <= sleeps[0] <= 0.2 and 0.2 <= sleeps[1] <= 0.4  # doubling, with jitter
    assert breaker.state == "closed"


def test_gives_up_after_the_last_attempt_and_opens_the_breaker():
    breaker = CircuitBreaker("registry", failure_threshold=3)

    def down():
        raise ConnectionError("refused")

    with pytest.raises(ConnectionError):
        guarded_call(down, breaker=breaker, policy=RetryPolicy(attempts=3), sleep=lambda _: None)
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError):
        guarded_call(lambda: "never called", breaker=breaker, policy=RetryPolicy())


def test_each_attempt_has_a_timeout():
    hang = threading.Event()
    breaker = CircuitBreaker("sink")
    with pytest.raises(CallTimeoutError):
        guarded_call(
            lambda: hang.wait(30),
            breaker=breaker,
            policy=RetryPolicy(attempts=2, timeout_s=0.05),
            sleep=lambda _: None,
        )
    hang.set()
    assert breaker.state == "closed"  # 2 failures < the default threshold of 5


def test_calls_that_hang_forever_cost_a_bounded_number_of_threads():
    hang = threading.Event()
    breaker = CircuitBreaker("sink", failure_threshold=100, max_hung=2)
    policy = RetryPolicy(attempts=1, timeout_s=0.05)
    started = []

    def call():
        started.append(1)
        return hang.wait(30)

    for _ in range(2):
        with pytest.raises(CallTimeoutError):
            guarded_call(call, breaker=breaker, policy=policy)
    with pytest.raises(CircuitOpenError, match="still running"):
        guarded_call(call, breaker=breaker, policy=policy)
    assert len(started) == 2  # the third call never started a thread
    hang.set()
    for _ in range(1000):
        if breaker.hung == 0:
            break
        threading.Event().wait(0.01)
    assert guarded_call(call, breaker=breaker, policy=policy) is True


def test_errors_not_worth_retrying_are_raised_at_once():
    calls = []

    def bad():
        calls.append(1)
        raise ValueError("bad model uri")

    with pytest.raises(ValueError):
        guarded_call(
            bad,
            breaker=CircuitBreaker("r"),
            policy=RetryPolicy(attempts=3),
            retry_on=(ConnectionError,),
        )
    assert calls == [1]
