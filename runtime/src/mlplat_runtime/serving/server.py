"""Process model: one listening socket, N pre-forked workers, signals forwarded, drain on SIGTERM.

Why: one Python process uses one core. Workers are forked after the socket is bound (so a busy
port fails once, clearly, and port 0 works) and before anything starts a thread or imports MLflow;
each worker then runs its own uvloop event loop and loads the model itself, so readiness is per
worker and a crashed worker is replaced without touching the others.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

import numpy as np

from .app import Loader, ServingApp
from .http import HttpTransport, TransportLimits
from .metrics import Metrics, shared_array
from .monitor import FileSink, PredictionLog, Sink
from .online import OnlineFeatures
from .resilience import CircuitBreaker, RetryPolicy
from .settings import ServeSettings
from .shipper import RecordShipper, ShipperLimits, s3_upload, target_from_env

log = logging.getLogger(__name__)

#: A worker's exit code when its first model load failed (a crash exits with 1).
LOAD_FAILED = 3

LoaderFactory = Callable[[CircuitBreaker], Loader]
#: Builds the worker's online-store client around its breaker (None: no lookups).
OnlineFactory = Callable[[CircuitBreaker], OnlineFeatures]


def bind(host: str, port: int, *, reuse_port: bool = False, listen: bool = True) -> socket.socket:
    """Bind (and listen); raise OSError with the address in the message.

    With `reuse_port` each worker binds its own socket to the same port (SO_REUSEPORT) and the
    kernel spreads new connections evenly over them; a single shared socket lets whichever
    worker wakes first take every connection.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None
    if listen:
        sock.listen(2048)
    sock.setblocking(False)
    return sock


class Worker:
    """One worker's wiring: metrics row, breakers, prediction log, app, transport.

    The worker accepts connections only once its model is loaded (`listen_early` excepted), so
    the kernel never hands a connection to a worker that would answer 503; `run_worker` drives
    it from signals in a worker process, tests drive it on a loop in a thread.

    Args:
        settings: the server's settings.
        table: the shared metrics table.
        index: this worker's row.
        make_loader: builds the model loader around the registry breaker.
        loop: the worker's event loop.
        listen_early: accept connections while the model loads (the only worker, or the first
            of several at start-up, so that liveness answers before any model is loaded).
        make_online: builds the online-store client around the ``online_store`` breaker, in
            the worker (after the fork), or None for no lookups.
    """

    def __init__(
        self,
        settings: ServeSettings,
        *,
        table: np.ndarray,
        index: int,
        make_loader: LoaderFactory,
        loop: asyncio.AbstractEventLoop,
        listen_early: bool = True,
        make_online: OnlineFactory | None = None,
    ) -> None:
        self.loop = loop
        self.settings = settings
        self.listen_early = listen_early
        self.metrics = Metrics(table, index)
        for gauge in ("ready", "draining", "listening", "compiled"):
            self.metrics.set(gauge, 0)  # a restarted worker starts afresh, whatever its row held
        self.registry = CircuitBreaker("registry", failure_threshold=3, reset_s=30.0)
        self.sink_breaker = CircuitBreaker("log_sink", failure_threshold=5, reset_s=10.0)
        # Opens before the hung-lookup cap (one per lookup thread) is reached, so /metrics
        # shows a store that hangs as an open breaker.
        self.online_breaker = CircuitBreaker(
            "online_store",
            failure_threshold=min(3, settings.feature_threads),
            reset_s=5.0,
            max_hung=settings.feature_threads,
        )
        self.online = make_online(self.online_breaker) if make_online is not None else None
        breakers = {"registry": self.registry, "log_sink": self.sink_breaker}
        if self.online is not None:
            breakers["online_store"] = self.online_breaker
        self.shipper = self._shipper(settings, index)
        if self.shipper is not None:
            breakers["object_store"] = self.shipper.breaker
        sink: Sink | None = self.shipper
        if sink is None and settings.log_dir:
            sink = FileSink(settings.log_dir, worker=index)
        self.plog = PredictionLog(
            sink=sink,
            metrics=self.metrics,
            sample_rate=settings.log_sample_rate,
            capacity=settings.log_capacity,
            breaker=self.sink_breaker,
            policy=RetryPolicy(attempts=2, timeout_s=2.0, backoff_s=0.1),
        )
        self.app = ServingApp(
            settings=settings,
            metrics=self.metrics,
            loader=make_loader(self.registry),
            prediction_log=self.plog,
            loop=loop,
            breakers=breakers,
            on_ready=self._model_ready,
            on_fatal=self._fatal,
            online=self.online,
        )
        self.transport = HttpTransport(
            handler=self.app,
            limits=TransportLimits(
                max_body_bytes=settings.max_body_bytes,
                max_connections=settings.max_connections,
                keepalive_s=settings.keepalive_s,
                read_timeout_s=settings.read_timeout_s,
                send_timeout_s=settings.send_timeout_s,
            ),
            loop=loop,
            on_response=self.metrics.response,
        )
        self.stopped: asyncio.Future[int] = loop.create_future()
        self._sock: socket.socket | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = False
        self.supervisor: int | None = None  # parent pid to watch; a worker never outlives it

    def _shipper(self, settings: ServeSettings, index: int) -> RecordShipper | None:
        """The object-store sink when ``MLPLAT_RECORDS_S3_URL`` is set (on the platform).

        A malformed target is logged and shipping stays off: monitoring never stops serving.
        """
        try:
            target = target_from_env()
        except ValueError as exc:
            log.error("prediction records will not be shipped: %s", exc)
            return None
        if target is None:
            return None
        limits = ShipperLimits(
            batch_records=settings.ship_batch_records,
            batch_age_s=settings.ship_batch_age_s,
            backlog=settings.ship_backlog,
            connect_timeout_s=settings.ship_connect_timeout_s,
            read_timeout_s=settings.ship_read_timeout_s,
        )
        log.info(
            "shipping prediction records to s3://%s/%s at %s",
            target.bucket,
            target.prefix,
            target.endpoint,
        )
        return RecordShipper(
            upload=s3_upload(target, limits),
            metrics=self.metrics,
            breaker=CircuitBreaker("object_store", failure_threshold=3, reset_s=30.0),
            limits=limits,
            worker=index,
            spool=settings.log_dir / "outbox" / f"w{index}" if settings.log_dir else None,
        )

    async def start(self, sock: socket.socket) -> None:
        """Start the log writer and the sweeper, begin loading, and listen (now or when loaded).

        `sock` is bound; it is put into the listening state only when this worker starts
        accepting, so that with SO_REUSEPORT the kernel sends it no connection before that.
        """
        self._sock = sock
        self._sweeper = self.loop.create_task(self._sweep())
        if self.shipper is not None:
            self.shipper.start()
        self.plog.start()
        if self.listen_early:
            self._listen()
        self.app.start_loading()

    def _listen(self) -> None:
        if self._sock is None or self.transport.listening or self._stopping:
            return
        self._sock.listen(2048)
        self.transport.listen(self._sock)
        self.metrics.set("listening", 1)

    def _model_ready(self) -> None:
        self._listen()

    def request_stop(self) -> None:
        """Begin the graceful drain (idempotent); `stopped` resolves with 0 when it is done."""
        if self._stopping:
            return
        self._stopping = True  # SIGTERM may come from the supervisor and the process group both
        task = self.loop.create_task(self._drain())
        task.add_done_callback(lambda _: self._finish(0))

    async def _drain(self) -> None:
        """Readiness false, keep serving for the grace, take the accept queue, finish in flight."""
        app = self.app
        app.begin_drain()
        # From now on every answer says `connection: close` and quiet connections are closed:
        # clients reconnect, and the load balancer sends the new connections elsewhere.
        self.transport.draining = True
        await asyncio.sleep(self.settings.drain_grace_s)
        await self.transport.close_listener()
        self.metrics.set("listening", 0)
        if self._sock is not None and not self.transport.listening:
            self._sock.close()
        end = self.loop.time() + self.settings.drain_timeout_s
        await self.transport.drain(self.settings.drain_timeout_s)
        while app.batcher.inflight and self.loop.time() < end:
            await asyncio.sleep(0.01)
        app.batcher.shutdown()
        await self.loop.run_in_executor(None, self.plog.stop, 5.0)
        if self.shipper is not None:  # the final upload, within what is left of the budget
            budget = max(end - self.loop.time(), 1.0)
            await self.loop.run_in_executor(None, self.shipper.stop, budget)
        if self.online is not None:
            self.online.close()
        log.info("drained; exiting")

    def _fatal(self) -> None:
        self.transport.stop_accepting()
        self.metrics.set("listening", 0)
        self._finish(LOAD_FAILED)

    def _finish(self, code: int) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if not self.stopped.done():
            self.stopped.set_result(code)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.transport.sweep()
            if self.supervisor is not None and os.getppid() != self.supervisor:
                log.error("the supervisor process is gone; draining and exiting")
                self.request_stop()


def run_worker(
    settings: ServeSettings,
    sock: socket.socket,
    table: np.ndarray,
    index: int,
    make_loader: LoaderFactory,
    *,
    listen_early: bool = True,
    make_online: OnlineFactory | None = None,
) -> int:
    """Run one worker until it has drained after SIGTERM/SIGINT; SIGHUP reloads the model."""
    try:
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:  # uvloop is Linux/macOS only; asyncio's loop is slower but correct
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    if settings.cpu_affinity and settings.workers > 1 and hasattr(os, "sched_setaffinity"):
        # One core per worker: its loop and model threads stop migrating and competing with the
        # other workers' threads, which measurably cuts tail latency. Threads inherit it.
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[index % len(cpus)]})
    worker = Worker(
        settings,
        table=table,
        index=index,
        make_loader=make_loader,
        loop=loop,
        listen_early=listen_early,
        make_online=make_online,
    )
    if settings.workers > 1:
        worker.supervisor = os.getppid()
    loop.add_signal_handler(signal.SIGTERM, worker.request_stop)
    loop.add_signal_handler(signal.SIGINT, worker.request_stop)
    loop.add_signal_handler(signal.SIGHUP, worker.app.start_loading)
    try:
        loop.run_until_complete(worker.start(sock))
        return loop.run_until_complete(worker.stopped)
    finally:
        loop.close()


def serve(
    settings: ServeSettings,
    make_loader: LoaderFactory,
    make_online: OnlineFactory | None = None,
) -> int:
    """Bind, fork `settings.workers` workers, supervise them and forward signals.

    Each worker builds its own online-store client with `make_online` (after the fork).
    """
    reuse_port = settings.workers > 1 and hasattr(socket, "SO_REUSEPORT")
    port = settings.port
    if reuse_port:
        # SO_REUSEPORT lets any process of this user bind the port as well: a second server
        # started on it would silently split the traffic with the first. A bind without it
        # fails while anyone listens there, so the port is claimed that way first.
        probe = bind(settings.host, port, listen=False)
        port = probe.getsockname()[1]
        probe.close()
    sock = bind(settings.host, port, reuse_port=reuse_port, listen=not reuse_port)
    host, port = sock.getsockname()[:2]
    print(
        f"listening on http://{host}:{port} with {settings.workers} worker(s); "
        f"model {settings.model_uri}",
        flush=True,
    )
    table = shared_array(settings.workers)
    if settings.workers == 1:
        return run_worker(settings, sock, table, 0, make_loader, make_online=make_online)
    children: dict[int, int] = {}
    spawned: set[int] = set()
    stopping = False

    def spawn(index: int) -> None:
        # The first worker listens while it loads (liveness answers from the start); the others,
        # and any restarted worker, join the port only once their model serves.
        early = index == 0 and index not in spawned
        spawned.add(index)
        pid = os.fork()
        if pid == 0:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            code = 1
            try:
                own = bind(host, port, reuse_port=True, listen=False) if reuse_port else sock
                code = run_worker(
                    settings,
                    own,
                    table,
                    index,
                    make_loader,
                    listen_early=early,
                    make_online=make_online,
                )
            finally:
                os._exit(code)
        children[pid] = index

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        if signum in (signal.SIGTERM, signal.SIGINT):
            stopping = True
            signum = signal.SIGTERM
        for pid in list(children):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    for first in range(settings.workers):
        spawn(first)
    failures: list[float] = []
    failed = False  # stopping because of failures, not because we were asked to
    metrics = Metrics(table, 0)
    while children:
        pid, status = os.wait()
        index = children.pop(pid, None)
        if index is None or stopping:
            continue
        code = os.waitstatus_to_exitcode(status)
        if code == LOAD_FAILED and not metrics.get("ready"):
            # No worker serves and the model cannot be loaded: restarting would only repeat
            # the failure (logged above by the worker). Exit non-zero so the platform sees it.
            log.error("worker %d could not load the model and none serves; stopping", index)
            failed = True
            forward(signal.SIGTERM, None)
            continue
        failures = [t for t in failures if time.monotonic() - t < 60.0] + [time.monotonic()]
        log.error("worker %d exited with status %d; restarting it", index, code)
        if len(failures) > 5 * settings.workers:
            log.error("workers keep crashing; stopping")
            failed = True
            forward(signal.SIGTERM, None)
            continue
        spawn(index)
    sock.close()
    return 1 if failed or not stopping else 0


def configure_logging(verbose: bool) -> None:
    """Log to stdout, one line per event (12-factor; the platform collects stdout)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s",
    )


__all__ = ["Worker", "bind", "configure_logging", "run_worker", "serve"]
