"""The seam between the transport (`http.py`) and the serving core (`app.py`).

Why a module of its own: the transport knows bytes, connections and limits; the core knows
routes, the model and readiness. Each depends only on these types, so either can be replaced (the
benchmark runs the same core under uvicorn through `bench/serving/asgi_app.py`) and neither reads
the other's internals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

JSON = b"application/json"
Headers = Sequence[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class Request:
    """One complete HTTP request as the core sees it.

    Attributes:
        method: e.g. ``b"POST"``.
        path: the path without the query string.
        headers: lower-cased names of the headers the core reads (content-type, the deadline).
        body: the whole body (the transport enforced the size cap before buffering it).
    """

    method: bytes
    path: bytes
    headers: Mapping[bytes, bytes]
    body: bytes


class Reply(Protocol):
    """Answers one request, exactly once, from the event loop's thread."""

    def __call__(
        self, status: int, body: bytes, *, headers: Headers = (), content_type: bytes = JSON
    ) -> None:
        """Send the response; `headers` are extra (name, value) pairs."""


class Handler(Protocol):
    """What a transport drives: the serving core."""

    def handle(self, request: Request, reply: Reply) -> None:
        """Answer `request` through `reply`, now or later; never raise."""


__all__ = ["JSON", "Handler", "Headers", "Reply", "Request"]
