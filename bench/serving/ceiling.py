"""The transport ceiling: a bare uvloop + httptools server answering every request with one body.

No routing, no JSON, no model: parse the request with httptools, write a fixed response, keep
the connection alive. What it serves is the most a Python server on this event loop and parser
can serve on this machine; `run.py` reports every other server as a fraction of it.

Run:  python bench/serving/ceiling.py --port 18500 --workers 2 [--body-bytes 230]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
from typing import Any

import httptools
import uvloop


class FixedBody(asyncio.Protocol):
    """Answers each complete request with the same pre-built response."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.transport: Any = None
        self.parser = httptools.HttpRequestParser(self)

    def connection_made(self, transport: Any) -> None:  # noqa: D102
        self.transport = transport

    def data_received(self, data: bytes) -> None:  # noqa: D102
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_complete(self) -> None:  # noqa: D102
        self.transport.write(self.response)


def _serve(sock: socket.socket, response: bytes) -> None:
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(lambda: FixedBody(response), sock=sock))
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, lambda: stop.done() or stop.set_result(None))
    loop.run_until_complete(stop)
    server.close()


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def main() -> None:
    """Fork `--workers` processes, each with its own SO_REUSEPORT socket, like ours."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--body-bytes", type=int, default=230, help="size of the fixed body")
    args = parser.parse_args()
    body = b'{"x": "' + b"a" * max(args.body_bytes - 9, 0) + b'"}'
    response = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
        % (len(body), body)
    )
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            _serve(_bind(args.port), response)
            os._exit(0)
        children.append(pid)
    print(f"listening on http://127.0.0.1:{args.port} with {args.workers} worker(s)", flush=True)

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        os.waitpid(child, 0)


if __name__ == "__main__":
    main()
