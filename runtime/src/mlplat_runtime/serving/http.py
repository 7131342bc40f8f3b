"""A minimal HTTP/1.1 transport on httptools, built for one job: answering small JSON calls.

Why hand-written: on this workload a general server costs more per request than the compiled
model (bench/serving measures it against uvicorn on the same core). This transport parses with
httptools (llhttp), keeps responses in request order (pipelining safe), enforces the body, header
and URL caps before buffering anything, times out slow or idle clients, bounds per-connection
memory by pausing reads while responses are pending or unread (and drops a client that reads
nothing for `send_timeout_s`), answers a refused request before closing
(a lingering close, so a client still sending its body reads the 413 instead of a reset), and
drains without failing a request on an established connection: it first stops the kernel from
completing new handshakes on the listener (Linux: a socket filter that drops SYNs, so a client
still connecting is refused later, never reset after its connect succeeded), accepts everything
the kernel has already queued, then closes the listener; and it closes a keep-alive connection
only after answering its request with `connection: close` or after it has been quiet for a while.
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import logging
import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httptools

from .exchange import JSON, Handler, Headers, Request

log = logging.getLogger(__name__)

_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
    408: b"Request Timeout",
    411: b"Length Required",
    413: b"Content Too Large",
    414: b"URI Too Long",
    415: b"Unsupported Media Type",
    422: b"Unprocessable Content",  # a key the online store holds no features for
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
    504: b"Gateway Timeout",
}
_KEEP = frozenset(
    {b"content-type", b"content-length", b"x-request-timeout-ms", b"expect", b"x-request-id"}
)
# Header names as clients usually spell them, so the common case is one dict lookup per header.
_SPELLED = {name: name for name in _KEEP} | {name.title(): name for name in _KEEP}
_SKIP = frozenset(
    {b"Host", b"host", b"User-Agent", b"user-agent", b"Accept", b"accept", b"Connection"}
    | {b"connection", b"Accept-Encoding", b"accept-encoding"}
)
MAX_URL = 8192
MAX_HEADER_BYTES = 16384
#: Raw bytes of one request head (request line and headers), counted before the parser sees
#: them: httptools buffers an unfinished line and calls back only at its end, so a line that
#: never ends would otherwise be buffered (quadratically) without any limit applying. nginx's
#: default `large_client_header_buffers 4 8k` allows the same 32 KiB.
MAX_HEAD_BYTES = 32768
MAX_PENDING = 32
#: Bytes fed to the parser at a time, so a read full of pipelined requests stops being
#: answered as soon as the connection pauses (its client is not reading, or too much is pending).
_FEED_SLICE = 4096


@dataclass(frozen=True, kw_only=True)
class TransportLimits:
    """The transport's caps and timeouts (from `ServeSettings`).

    Attributes:
        max_body_bytes: larger bodies get 413.
        max_connections: open connections; more are closed at once.
        keepalive_s: idle keep-alive connections are closed after this.
        read_timeout_s: a request must arrive completely within this (408).
        linger_s: after refusing a request, keep reading (and discarding) this long at most.
        linger_bytes: ... and at most this many bytes, then close.
        drain_quiet_s: while draining, an idle connection is closed once quiet this long.
        send_timeout_s: a client that takes none of its pending response bytes for this long
            is aborted (nginx's `send_timeout`).
    """

    max_body_bytes: int
    max_connections: int
    keepalive_s: float
    read_timeout_s: float
    linger_s: float = 2.0
    linger_bytes: int = 64 << 20
    drain_quiet_s: float = 0.5
    send_timeout_s: float = 60.0


# A classic BPF socket filter for a listening TCP socket: drop every segment with SYN set, pass
# the rest. The kernel runs it on the segment's TCP header (byte 13 holds the flags) for the
# listener and for the handshakes it has half-completed: new connection attempts are dropped
# (the client retransmits its SYN and is refused once the listener is closed), while the final
# ACK of a handshake already answered still completes it into the accept queue.
_BPF_LD_B_ABS, _BPF_JMP_JSET_K, _BPF_RET_K = 0x30, 0x45, 0x06
_DROP_SYN = (
    (_BPF_LD_B_ABS, 0, 0, 13),  # A = TCP flags
    (_BPF_JMP_JSET_K, 0, 1, 0x02),  # SYN set? next : skip one
    (_BPF_RET_K, 0, 0, 0),  # drop
    (_BPF_RET_K, 0, 0, 0xFFFFFFFF),  # keep
)
_SO_ATTACH_FILTER = 26
#: After refusing handshakes, how long the listener keeps accepting: a handshake answered just
#: before needs one round trip to complete (well under this inside a cluster).
HANDSHAKE_SETTLE_S = 0.1


def refuse_handshakes(sock: socket.socket) -> bool:
    """Make the kernel drop new connection attempts on listening ``sock``; False if it cannot.

    Linux only (``SO_ATTACH_FILTER``); elsewhere the caller closes the listener directly, and a
    connection completing in that instant can still be reset.
    """
    if sys.platform != "linux":
        return False
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *op) for op in _DROP_SYN))
    program = struct.pack("HL", len(_DROP_SYN), ctypes.addressof(code))
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, program)
    except OSError as exc:
        log.warning("cannot refuse new connections before closing the listener: %s", exc)
        return False
    return True


def error_body(message: str) -> bytes:
    """The JSON error body every refusal uses: ``{"error": "..."}``."""
    import orjson

    return orjson.dumps({"error": message})


class HttpTransport:
    """Accepts connections on one listening socket and feeds complete requests to a handler."""

    def __init__(
        self,
        *,
        handler: Handler,
        limits: TransportLimits,
        loop: asyncio.AbstractEventLoop,
        on_response: Callable[[int], None],
    ) -> None:
        self.handler = handler
        self.limits = limits
        self.loop = loop
        self.on_response = on_response
        self.connections: set[HttpConnection] = set()
        self.draining = False
        self._sock: socket.socket | None = None
        self._adopting = 0  # accepted sockets not yet connections (drain must wait for them)

    @property
    def listening(self) -> bool:
        """True while new connections are accepted."""
        return self._sock is not None

    def listen(self, sock: socket.socket) -> None:
        """Start accepting on `sock` (bound, listening, non-blocking)."""
        self._sock = sock
        self.loop.add_reader(sock.fileno(), self._accept)

    def _accept(self) -> None:
        sock = self._sock
        while sock is not None:
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # EMFILE and friends: leave the rest queued for later
                log.warning("accept failed: %s", exc)
                return
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._adopting += 1
            self.loop.create_task(self._adopt(conn))

    async def _adopt(self, conn: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(lambda: HttpConnection(self), conn)
        except OSError:  # the client left between accept and adoption
            conn.close()
        finally:
            self._adopting -= 1

    async def close_listener(self) -> None:
        """Refuse new handshakes, accept what completes meanwhile, then close the listener.

        Closing a listening socket resets the connections in its accept queue, which their
        clients already see as established; the kernel keeps completing handshakes until the
        socket is closed, so taking the queue first leaves a window. Refusing SYNs first closes
        it: after `HANDSHAKE_SETTLE_S` no connection can be queued that is not accepted.
        """
        if self._sock is not None and refuse_handshakes(self._sock):
            await asyncio.sleep(HANDSHAKE_SETTLE_S)  # still accepting and serving meanwhile
        self.stop_accepting()

    def stop_accepting(self) -> None:
        """Accept every connection the kernel has queued, then close the listener now.

        A connection completing its handshake in between is reset: the drain uses
        `close_listener`, which refuses handshakes first.
        """
        sock = self._sock
        if sock is None:
            return
        self.loop.remove_reader(sock.fileno())
        self._accept()
        self._sock = None
        sock.close()

    async def drain(self, timeout_s: float) -> None:
        """Answer what is in flight, close connections as they go quiet, for `timeout_s` at most."""
        self.draining = True
        end = self.loop.time() + timeout_s
        while (self.connections or self._adopting) and self.loop.time() < end:
            self.sweep()
            await asyncio.sleep(0.01)
        for conn in list(self.connections):
            conn.shutdown()

    def sweep(self) -> None:
        """Close connections that are idle too long, too slow to send a request or to read.

        A connection that has sent nothing yet gets the read timeout, not the keep-alive time
        (nginx's `client_header_timeout`); one whose client takes no response bytes for
        `send_timeout_s` is aborted, since closing it would wait for a flush that never comes.
        """
        now = time.monotonic()
        limits = self.limits
        idle_limit = limits.drain_quiet_s if self.draining else limits.keepalive_s
        for conn in list(self.connections):
            if conn.stuck_for(now) > limits.send_timeout_s:
                conn.abort()
            elif not conn.spoke and now - conn.last_active > limits.read_timeout_s:
                conn.shutdown()
            elif conn.linger_until is not None:
                if now > conn.linger_until:
                    conn.shutdown()
            elif conn.request_started is not None:
                if now - conn.request_started > limits.read_timeout_s:
                    conn.reject(408, f"request not received within {limits.read_timeout_s}s")
            elif conn.idle() and now - conn.last_active > idle_limit:
                conn.shutdown()


_HEADER_LINES: dict[Any, bytes] = {}


def _header_lines(headers: Headers) -> bytes:
    """`name: value` lines; the few distinct header sets (the model version) are formatted once."""
    try:
        return _HEADER_LINES[headers]
    except (KeyError, TypeError):  # TypeError: a list, not hashable
        lines = b"".join(b"%s: %s\r\n" % pair for pair in headers)
        if isinstance(headers, tuple) and len(_HEADER_LINES) < 64:
            _HEADER_LINES[headers] = lines
        return lines


class _Slot:
    """One request's place in the response order; calling it is the request's `Reply`."""

    __slots__ = ("conn", "data", "close", "linger", "head")

    def __init__(self, conn: HttpConnection, close: bool, head: bool = False) -> None:
        self.conn = conn
        self.data: bytes | None = None
        self.close = close
        self.linger = False
        self.head = head  # a HEAD request: the headers of the answer, without its body

    def __call__(
        self, status: int, body: bytes, *, headers: Headers = (), content_type: bytes = JSON
    ) -> None:
        self.conn.complete(self, status, body, headers, content_type)


class HttpConnection(asyncio.Protocol):
    """One client connection: parse, dispatch to the handler, write responses in order."""

    def __init__(self, server: HttpTransport) -> None:
        self.server = server
        self.handler = server.handler
        self.max_body = server.limits.max_body_bytes
        self.transport: Any = None
        self.parser = httptools.HttpRequestParser(self)
        self.pending: collections.deque[_Slot] = collections.deque()
        self.closing = False
        self.paused = False
        self.request_started: float | None = None
        self.last_active = time.monotonic()
        self.linger_until: float | None = None
        self._lingered = 0
        self._url = b""
        self._headers: dict[bytes, bytes] = {}
        self._header_bytes = 0
        self._body: list[bytes] = []
        self._body_len = 0
        self._rejected = False
        self.spoke = False  # has sent a byte (a silent connection gets the read timeout)
        self._in_head = True  # reading a request head: its raw bytes count against the cap
        self._head_room = MAX_HEAD_BYTES
        self._write_blocked = False  # the transport's buffer is above its high-water mark
        self._unparsed: memoryview | None = None  # read before a pause, parsed on resume
        self._deferred: collections.deque[tuple[Request, bool, bool]] = collections.deque()
        self._unsent = 0
        self._unsent_since: float | None = None

    # asyncio callbacks -------------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:  # noqa: D102
        self.transport = transport
        connections = self.server.connections
        if len(connections) >= self.server.limits.max_connections:
            # At the cap an idle connection gives way, one that never sent a byte first (as
            # nginx reuses keep-alive connections); refuse the new one only if none is idle.
            idle = [c for c in connections if c.idle() and c.linger_until is None]
            if not idle:
                transport.close()
                return
            victim = min(idle, key=lambda c: (c.spoke, c.last_active))
            if victim.transport.get_write_buffer_size():
                victim.abort()  # a close would wait for a client that is not reading
            else:
                connections.discard(victim)
                victim.shutdown()
        connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        self.server.connections.discard(self)
        self.closing = True

    def eof_received(self) -> bool:  # noqa: D102
        return False  # close; a half-closed client gets no more answers

    def data_received(self, data: bytes) -> None:  # noqa: D102
        self.spoke = True
        if self._rejected:
            self._lingered += len(data)  # reading and discarding until the client stops
            if self._lingered > self.server.limits.linger_bytes:
                self.shutdown()
            return
        size = len(data)
        if (
            size <= _FEED_SLICE
            and not self.paused
            and (size <= self._head_room or not self._in_head)
        ):
            if self._in_head:  # the common case: a small read, parsed in one call
                self._head_room -= size
            self._parse(data)
        else:
            self._feed(memoryview(data))

    def _feed(self, data: memoryview) -> None:
        """Parse `data` a slice at a time; keep what follows a pause for `_continue`.

        A request head may not grow past `MAX_HEAD_BYTES`: its bytes are counted here, before
        the parser buffers them, and the request is refused at the cap (431, then close).
        """
        while len(data) and not self._rejected:
            if self.paused:
                self._unparsed = data
                return
            piece, data = data[:_FEED_SLICE], data[_FEED_SLICE:]
            if self._in_head:
                room = self._head_room  # parsing may end this head and reset the room
                if len(piece) > room:
                    self._parse(piece[:room])
                    if self._in_head and not self._rejected:
                        self.reject(431, f"request head longer than {MAX_HEAD_BYTES} bytes")
                        return
                    piece = piece[room:]  # the head ended inside the cap
                    if not len(piece):
                        continue
                self._head_room -= len(piece)
            self._parse(piece)

    def _parse(self, data: bytes | memoryview) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # The request was answered (with `connection: close`, see on_message_complete);
            # what follows it is another protocol's bytes, so it is discarded, never parsed.
            self._rejected = True
        except httptools.HttpParserError as exc:
            self.reject(400, f"malformed HTTP request: {exc}")

    def pause_writing(self) -> None:  # noqa: D102
        self._write_blocked = True
        self._pause()

    def resume_writing(self) -> None:  # noqa: D102
        self._write_blocked = False
        self._resume()

    # httptools callbacks -----------------------------------------------------------------------
    def on_message_begin(self) -> None:  # noqa: D102
        self.request_started = time.monotonic()
        self._url = b""
        self._headers = {}
        self._header_bytes = 0
        self._body = []
        self._body_len = 0

    def on_url(self, url: bytes) -> None:  # noqa: D102
        self._url += url
        if len(self._url) > MAX_URL:
            self.reject(414, f"URL longer than {MAX_URL} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:  # noqa: D102
        self._header_bytes += len(name) + len(value) + 64  # + 64: each header costs something
        if self._header_bytes > MAX_HEADER_BYTES:
            self.reject(431, f"more than {MAX_HEADER_BYTES} bytes of headers")
            return
        key = _SPELLED.get(name)
        if key is None:
            if name in _SKIP:
                return
            key = name.lower()
            if key not in _KEEP:
                return
        self._headers[key] = value

    def on_headers_complete(self) -> None:  # noqa: D102
        self._in_head = False
        declared = self._headers.get(b"content-length")
        if declared is not None and (
            not declared.strip().isdigit() or int(declared) > self.max_body
        ):
            self.reject(413, f"body larger than {self.max_body} bytes")
        elif self._headers.get(b"expect", b"").lower() == b"100-continue" and not self._rejected:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # curl waits 1 s without it

    def on_body(self, body: bytes) -> None:  # noqa: D102
        if self._rejected:
            return
        self._body_len += len(body)
        if self._body_len > self.max_body:
            self.reject(413, f"body larger than {self.max_body} bytes")
            return
        self._body.append(body)

    def on_message_complete(self) -> None:  # noqa: D102
        if self._rejected:
            return
        self.request_started = None
        self._in_head = True
        self._head_room = MAX_HEAD_BYTES
        parser = self.parser
        # An Upgrade (h2c, websocket) or CONNECT is answered as plain HTTP/1.1, once, and the
        # connection closes: the bytes after it belong to a protocol this server does not speak.
        close = not parser.should_keep_alive() or parser.should_upgrade()
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        path = self._url.split(b"?", 1)[0]
        if not path.startswith(b"/") and b"://" in path:  # absolute-form (RFC 9112 3.2.2)
            authority_and_path = path.split(b"://", 1)[1]
            slash = authority_and_path.find(b"/")
            path = authority_and_path[slash:] if slash >= 0 else b"/"
        method = parser.get_method()
        head = method == b"HEAD"
        request = Request(b"GET" if head else method, path, self._headers, body)
        if self.paused or self._deferred:  # answered in order once the client catches up
            self._deferred.append((request, close, head))
        else:
            self._dispatch(request, close, head)

    def _dispatch(self, request: Request, close: bool, head: bool) -> None:
        slot = _Slot(self, close, head)
        self.pending.append(slot)
        if len(self.pending) >= MAX_PENDING:
            self._pause()
        try:
            self.handler.handle(request, slot)
        except Exception:  # the handler must answer; if it raised, the client must not hang
            log.exception("the handler raised answering %r", request.path)
            if slot.data is None:
                slot(500, error_body("internal error; see the server log"))

    # responses ---------------------------------------------------------------------------------
    def complete(
        self, slot: _Slot, status: int, body: bytes, headers: Headers, content_type: bytes
    ) -> None:
        """Fill `slot` and write every finished response at the head of the queue."""
        if self.closing or self.transport is None or slot.data is not None:
            return
        self.server.on_response(status)
        close = slot.close or self.server.draining
        extra = _header_lines(headers) if headers else b""
        slot.data = b"".join(
            (
                b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n"
                % (status, _REASONS.get(status, b"Unknown"), content_type, len(body)),
                extra,
                b"connection: close\r\n\r\n" if close else b"\r\n",
                b"" if slot.head else body,
            )
        )
        slot.close = close
        pending = self.pending
        while pending and pending[0].data is not None:
            done = pending.popleft()
            self.transport.write(done.data)
            if done.close:
                self._finish(done.linger)
                return
        self.last_active = time.monotonic()
        if self.paused and len(pending) < MAX_PENDING // 2:
            self._resume()

    def _finish(self, linger: bool) -> None:
        """Close after the last response; when lingering, half-close and keep reading first."""
        self.closing = True
        if linger and self.transport.can_write_eof():
            self.transport.write_eof()  # the client sees the answer, then end of stream
            self.linger_until = time.monotonic() + self.server.limits.linger_s
            self.paused = True
            self._resume_reading_for_linger()
            return
        self.transport.close()

    def _resume_reading_for_linger(self) -> None:
        self.paused = False
        try:
            self.transport.resume_reading()
        except (AttributeError, RuntimeError):  # already reading
            pass

    def reject(self, status: int, message: str) -> None:
        """Answer a request that cannot be parsed or accepted, then close lingeringly."""
        if self._rejected:
            return
        self._rejected = True
        self.request_started = None
        slot = _Slot(self, True)
        slot.linger = True
        self.pending.append(slot)
        slot(status, error_body(message))

    def idle(self) -> bool:
        """True when no request is being read or answered."""
        return not self.pending and not self._deferred and self.request_started is None

    def shutdown(self) -> None:
        """Close now (idle connections while draining, the sweeper, the end of a linger)."""
        if self.transport is not None and not self.transport.is_closing():
            self.closing = True
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection and whatever it has not sent (a peer that stopped reading)."""
        self.closing = True
        self.server.connections.discard(self)
        if self.transport is not None:
            self.transport.abort()

    def stuck_for(self, now: float) -> float:
        """Seconds the client has taken none of the bytes waiting for it (0 when none wait).

        Sampled by the sweeper: a buffer that shrank since the last look is progress.
        """
        size = self.transport.get_write_buffer_size() if self.transport is not None else 0
        if not size:
            self._unsent, self._unsent_since = 0, None
            return 0.0
        if self._unsent_since is None or size < self._unsent:
            self._unsent_since = now
        self._unsent = size
        return now - self._unsent_since

    def _pause(self) -> None:
        if not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def _resume(self) -> None:
        """Take requests again once the client reads and few responses are pending."""
        if (
            self.paused
            and self.transport is not None
            and not self.closing
            and not self._write_blocked
            and len(self.pending) < MAX_PENDING // 2
        ):
            self.paused = False
            # Not inline: this may run inside a parser callback, and the parser is not reentrant.
            self.server.loop.call_soon(self._continue)

    def _continue(self) -> None:
        """Answer the requests read before the pause, parse the rest, then read again."""
        while self._deferred and not self.paused and not self.closing:
            self._dispatch(*self._deferred.popleft())
        if self._unparsed is not None and not self.paused and not self.closing:
            data, self._unparsed = self._unparsed, None
            self._feed(data)
        if not self.paused and not self.closing and self.transport is not None:
            self.transport.resume_reading()


__all__ = ["HttpConnection", "HttpTransport", "TransportLimits", "error_body"]
