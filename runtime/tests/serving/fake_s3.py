"""An in-process fake of the S3 PUT the record shipper makes: it checks each request's SigV4.

Modes, switched by the test at any time: ``ok`` stores the object; ``fail`` answers 503 with an
S3 error body; ``hang`` accepts the request and answers nothing until the test opens ``gate``
(a store that is slow forever). Every request is counted; a bad signature is a 403.
"""

from __future__ import annotations

import hashlib
import http.server
import re
import threading
import urllib.parse
from typing import Any

from mlplat_runtime.serving.s3 import Credentials, authorization

CREDENTIALS = Credentials(access_key_id="AKIDSHIPTEST", secret_access_key="shipper/secret+key")
_SIGNED = re.compile(r"SignedHeaders=([^,]+)")


class FakeS3:
    """A threaded HTTP server on 127.0.0.1 holding ``objects`` by ``bucket/key``."""

    def __init__(self, region: str = "us-east-1") -> None:
        self.region = region
        self.objects: dict[str, bytes] = {}
        self.mode = "ok"
        self.requests = 0
        self.bad_signatures = 0
        self.gate = threading.Event()
        self.hanging = threading.Event()  # set while a request is held in ``hang`` mode
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
                fake.requests += 1
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if fake.mode == "hang":
                    fake.hanging.set()
                    fake.gate.wait()
                    return
                if fake.mode == "fail":
                    self._answer(503, b"<Error><Code>SlowDown</Code></Error>")
                    return
                if not fake.signature_ok(self.command, self.path, dict(self.headers), body):
                    fake.bad_signatures += 1
                    self._answer(403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>")
                    return
                fake.objects[urllib.parse.unquote(self.path).lstrip("/")] = body
                self._answer(200, b"")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def signature_ok(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bool:
        """Recompute the request's SigV4 from what arrived, as S3 does."""
        lower = {k.lower(): v for k, v in headers.items()}
        given = lower.get("authorization", "")
        signed = _SIGNED.search(given)
        if not signed or lower.get("x-amz-content-sha256") != hashlib.sha256(body).hexdigest():
            return False
        expected = authorization(
            method=method,
            path=urllib.parse.unquote(path),
            headers={name: lower[name] for name in signed[1].split(";")},
            payload_sha256=lower["x-amz-content-sha256"],
            credentials=CREDENTIALS,
            region=self.region,
        )
        return expected == given

    def keys(self, prefix: str = "") -> list[str]:
        """Stored keys under ``prefix``, sorted."""
        return sorted(k for k in list(self.objects) if k.startswith(prefix))

    def close(self) -> None:
        """Release held requests and stop serving."""
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()
