"""A minimal S3 client: one signed PUT over ``http.client``, with connect and read timeouts.

Why not boto3: the model server uploads one object per batch and nothing else. A generated
project's dependency closure has no botocore (only the Feast option brings it, through s3fs);
boto3 would add about 38 MB to every image and seconds of import time to every worker for a
single request type. AWS Signature Version 4 is fully specified and small; this module
implements it for S3 (unsigned-payload is not used: the body's SHA-256 is always signed) and is
tested against AWS's published examples.

Credentials are read on every call, so a rotated Secret mounted as a file takes effect without
a restart: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` from the environment when both are
set, else the ``[AWS_PROFILE or default]`` section of ``AWS_SHARED_CREDENTIALS_FILE`` (the
platform mounts its ``credentials`` key there, so the keys never appear in the environment).
"""

from __future__ import annotations

import configparser
import hashlib
import hmac
import http.client
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

_ALGORITHM = "AWS4-HMAC-SHA256"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class S3Error(RuntimeError):
    """The store refused a request (a non-2xx answer); the message has its status and code."""


@dataclass(frozen=True, kw_only=True)
class Credentials:
    """An access key pair (never logged)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)


def load_credentials(environ: Mapping[str, str] | None = None) -> Credentials:
    """The credentials to sign with, from the environment or the shared credentials file.

    Raises:
        S3Error: Neither source holds a key pair (the message says what was looked at).
    """
    env = os.environ if environ is None else environ
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return Credentials(access_key_id=key, secret_access_key=secret)
    path = env.get("AWS_SHARED_CREDENTIALS_FILE")
    profile = env.get("AWS_PROFILE") or "default"
    if not path:
        raise S3Error(
            "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or AWS_SHARED_CREDENTIALS_FILE"
        )
    parser = configparser.ConfigParser()
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
        section = parser[profile]
        return Credentials(
            access_key_id=section["aws_access_key_id"].strip(),
            secret_access_key=section["aws_secret_access_key"].strip(),
        )
    except (OSError, configparser.Error, KeyError) as exc:
        raise S3Error(f"no S3 credentials in {path} [{profile}]: {exc!r}") from None


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The derived key of SigV4: HMAC chain over date, region, service and ``aws4_request``."""
    key = _hmac(("AWS4" + secret).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def authorization(
    *,
    method: str,
    path: str,
    query: str = "",
    headers: Mapping[str, str],
    payload_sha256: str,
    credentials: Credentials,
    region: str,
    service: str = "s3",
) -> str:
    """The ``Authorization`` header of a SigV4 request; every header in ``headers`` is signed.

    ``headers`` must hold ``host`` and ``x-amz-date`` (``YYYYMMDDTHHMMSSZ``); ``path`` is the raw
    (not yet encoded) path, encoded here once per S3's rules (S3 does not double-encode).
    """
    canonical = {k.lower().strip(): " ".join(v.split()) for k, v in headers.items()}
    names = sorted(canonical)
    signed = ";".join(names)
    amz_date = canonical["x-amz-date"]
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    request = "\n".join(
        [
            method,
            urllib.parse.quote(path, safe="/~"),
            query,
            "".join(f"{n}:{canonical[n]}\n" for n in names),
            signed,
            payload_sha256,
        ]
    )
    to_sign = "\n".join([_ALGORITHM, amz_date, scope, hashlib.sha256(request.encode()).hexdigest()])
    key = signing_key(credentials.secret_access_key, amz_date[:8], region, service)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"{_ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )


@dataclass(frozen=True, kw_only=True)
class S3Target:
    """Where objects go: an endpoint, a bucket and a key prefix (path-style addressing).

    Attributes:
        endpoint: ``http(s)://host[:port]``; path-style requests work with SeaweedFS, MinIO-
            compatible stores and AWS alike.
        bucket: The bucket.
        prefix: Key prefix without a trailing slash (``monitor/<name>/prediction-logs``).
        region: Region signed into requests.
    """

    endpoint: str
    bucket: str
    prefix: str
    region: str = "us-east-1"

    @classmethod
    def parse(cls, url: str, *, endpoint: str, region: str) -> S3Target:
        """``s3://bucket/prefix`` plus an endpoint (``''``: AWS's for the region).

        Raises:
            ValueError: The URL, bucket or endpoint is malformed (the message names it).
        """
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "s3" or not _BUCKET.match(parts.netloc):
            raise ValueError(f"{url!r} is not s3://BUCKET/PREFIX with a valid bucket name")
        endpoint = endpoint or f"https://s3.{region}.amazonaws.com"
        ep = urllib.parse.urlsplit(endpoint)
        if ep.scheme not in ("http", "https") or not ep.hostname or ep.path not in ("", "/"):
            raise ValueError(f"S3 endpoint {endpoint!r} is not http(s)://HOST[:PORT]")
        return cls(
            endpoint=endpoint.rstrip("/"),
            bucket=parts.netloc,
            prefix=parts.path.strip("/"),
            region=region,
        )

    def key(self, name: str) -> str:
        """The object key of ``name`` under the prefix."""
        return f"{self.prefix}/{name}" if self.prefix else name


def put_object(
    target: S3Target,
    key: str,
    body: bytes,
    *,
    credentials: Credentials,
    amz_date: str,
    connect_timeout_s: float,
    read_timeout_s: float,
    content_type: str = "application/octet-stream",
) -> None:
    """PUT ``body`` at ``key``; the connect and every read are bounded by their timeouts.

    Raises:
        S3Error: The store answered with a non-2xx status.
        OSError: The connection failed or timed out (``TimeoutError`` is an ``OSError``).
    """
    ep = urllib.parse.urlsplit(target.endpoint)
    host = ep.netloc
    path = f"/{target.bucket}/{key}"
    digest = hashlib.sha256(body).hexdigest()
    headers = {
        "host": host,
        "x-amz-date": amz_date,
        "x-amz-content-sha256": digest,
        "content-type": content_type,
        "content-length": str(len(body)),
    }
    headers["authorization"] = authorization(
        method="PUT",
        path=path,
        headers=headers,
        payload_sha256=digest,
        credentials=credentials,
        region=target.region,
    )
    connection: http.client.HTTPConnection
    port = ep.port
    if ep.scheme == "https":
        connection = http.client.HTTPSConnection(ep.hostname or "", port, timeout=connect_timeout_s)
    else:
        connection = http.client.HTTPConnection(ep.hostname or "", port, timeout=connect_timeout_s)
    try:
        connection.connect()
        if connection.sock is not None:
            connection.sock.settimeout(read_timeout_s)
        connection.putrequest("PUT", urllib.parse.quote(path, safe="/~"), skip_host=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        answer = response.read(4096)
        if not 200 <= response.status < 300:
            code = re.search(rb"<Code>([^<]{1,64})</Code>", answer)
            reason = code[1].decode(errors="replace") if code else response.reason
            raise S3Error(f"PUT s3://{target.bucket}/{key}: {response.status} {reason}")
    finally:
        connection.close()


__all__ = [
    "Credentials",
    "S3Error",
    "S3Target",
    "authorization",
    "load_credentials",
    "put_object",
    "signing_key",
]
