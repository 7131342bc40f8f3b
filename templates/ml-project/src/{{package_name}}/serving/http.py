"""A minimal HTTP/1.1 server protocol on httptools, built for one job: answering small JSON calls.

Why: a general framework costs more per request than the model itself on 1-row calls. This
protocol parses with httptools (llhttp), keeps responses in request order (pipelining safe),
enforces the body, header and URL caps before buffering anything, times out slow or idle clients,
and bounds per-connection memory by pausing reads while responses are pending.
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import TYPE_CHECKING, Any

import httptools

if TYPE_CHECKING:
    from .app import ServingApp

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
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
    504: b"Gateway Timeout",
}
_KEEP = frozenset({b"content-type", b"content-length", b"x-request-timeout-ms", b"expect"})
MAX_URL = 8192
MAX_HEADER_BYTES = 16384
MAX_PENDING = 32


class _Slot:
    __slots__ = ("data", "close")

    def __init__(self) -> None:
        self.data: bytes | None = None
        self.close = False


class HttpConnection(asyncio.Protocol):
    """One client connection: parse, dispatch to the app, write responses in order."""

    def __init__(self, app: ServingApp) -> None:
        self.app = app
        self.transport: Any = None
        self.parser = httptools.HttpRequestParser(self)
        self.pending: collections.deque[_Slot] = collections.deque()
        self.closing = False
        self.paused = False
        self.request_started: float | None = None
        self.last_active = time.monotonic()
        self._url = b""
        self._headers: dict[bytes, bytes] = {}
        self._header_bytes = 0
        self._body: list[bytes] = []
        self._body_len = 0
        self._rejected = False

    # asyncio callbacks -------------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:  # noqa: D102
        self.transport = transport
        if not self.app.accept_connection(self):
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        self.app.connection_closed(self)
        self.closing = True

    def data_received(self, data: bytes) -> None:  # noqa: D102
        if self._rejected:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._reject(400, "protocol upgrades are not supported")
        except httptools.HttpParserError as exc:
            self._reject(400, f"malformed HTTP request: {exc}")

    def pause_writing(self) -> None:  # noqa: D102
        self._pause()

    def resume_writing(self) -> None:  # noqa: D102
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
            self._reject(414, f"URL longer than {MAX_URL} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:  # noqa: D102
        self._header_bytes += len(name) + len(value) + 64  # + 64: each header costs something
        if self._header_bytes > MAX_HEADER_BYTES:
            self._reject(431, f"more than {MAX_HEADER_BYTES} bytes of headers")
            return
        name = name.lower()
        if name in _KEEP:
            self._headers[name] = value

    def on_headers_complete(self) -> None:  # noqa: D102
        declared = self._headers.get(b"content-length")
        if declared is not None and (
            not declared.strip().isdigit() or int(declared) > self.app.settings.max_body_bytes
        ):
            self._reject(413, f"body larger than {self.app.settings.max_body_bytes} bytes")
        elif self._headers.get(b"expect", b"").lower() == b"100-continue" and not self._rejected:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # curl waits 1 s without it

    def on_body(self, body: bytes) -> None:  # noqa: D102
        if self._rejected:
            return
        self._body_len += len(body)
        if self._body_len > self.app.settings.max_body_bytes:
            self._reject(413, f"body larger than {self.app.settings.max_body_bytes} bytes")
            return
        self._body.append(body)

    def on_message_complete(self) -> None:  # noqa: D102
        if self._rejected:
            return
        self.request_started = None
        slot = _Slot()
        slot.close = not self.parser.should_keep_alive()
        self.pending.append(slot)
        if len(self.pending) >= MAX_PENDING:
            self._pause()
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        path = self._url.split(b"?", 1)[0]
        self.app.handle(self, slot, self.parser.get_method(), path, self._headers, body)

    # responses ---------------------------------------------------------------------------------
    def respond(
        self,
        slot: _Slot,
        status: int,
        body: bytes,
        extra: bytes = b"",
        content_type: bytes = b"application/json",
    ) -> None:
        """Complete `slot` and write every finished response at the head of the queue."""
        if self.closing or self.transport is None:
            return
        close = slot.close or self.app.draining
        slot.data = b"".join(
            (
                b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n"
                % (status, _REASONS.get(status, b"Unknown"), content_type, len(body)),
                self.app.version_header,
                extra,
                b"connection: close\r\n\r\n" if close else b"\r\n",
                body,
            )
        )
        slot.close = close
        pending = self.pending
        while pending and pending[0].data is not None:
            done = pending.popleft()
            self.transport.write(done.data)
            if done.close:
                self.closing = True
                self.transport.close()
                return
        self.last_active = time.monotonic()
        if self.paused and len(pending) < MAX_PENDING // 2:
            self._resume()

    def _reject(self, status: int, message: str) -> None:
        """Answer a request that cannot be parsed or accepted, then close the connection."""
        if self._rejected:
            return
        self._rejected = True
        slot = _Slot()
        slot.close = True
        self.pending.append(slot)
        self.app.reject(self, slot, status, message)

    def idle(self) -> bool:
        """True when no request is being read or answered."""
        return not self.pending and self.request_started is None

    def shutdown(self) -> None:
        """Close now (used for idle connections while draining and by the sweeper)."""
        if not self.closing and self.transport is not None:
            self.closing = True
            self.transport.close()

    def _pause(self) -> None:
        if not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def _resume(self) -> None:
        if self.paused and self.transport is not None and not self.closing:
            self.paused = False
            self.transport.resume_reading()


__all__ = ["HttpConnection"]
