"""Certificates and kubeconfigs for the local control plane, made with the openssl CLI.

One throwaway CA per cluster directory signs the API server's serving certificate (loopback
and the in-cluster service names) and one client certificate per identity: the admin
(``system:masters``), the controller manager and the scheduler under the names the API server's
bootstrap RBAC policy already grants their permissions to. The service-account signing key is
a separate P-256 key pair. Keys are elliptic-curve: generating them takes milliseconds.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CLIENTS", "Pki", "make_pki", "write_kubeconfig"]

#: Client identities: file stem -> (common name, organisation or "").
CLIENTS: dict[str, tuple[str, str]] = {
    "admin": ("mlplat-admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", ""),
    "scheduler": ("system:kube-scheduler", ""),
}

#: Names the API server answers to: loopback, and the `kubernetes` Service's in-cluster names
#: and its ClusterIP (the first address of the service range the cluster module passes).
_SERVER_NAMES = (
    "IP:127.0.0.1",
    "IP:10.96.0.1",
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
)


@dataclass(frozen=True, kw_only=True)
class Pki:
    """Paths of the files :func:`make_pki` wrote."""

    directory: Path

    def cert(self, stem: str) -> Path:
        """A certificate by stem (``ca``, ``apiserver``, ``admin``...)."""
        return self.directory / f"{stem}.crt"

    def key(self, stem: str) -> Path:
        """A private key by stem (``sa`` is the service-account signing key)."""
        return self.directory / f"{stem}.key"

    @property
    def sa_public(self) -> Path:
        """The service-account verification key."""
        return self.directory / "sa.pub"


def _openssl(*args: str, cwd: Path) -> None:
    openssl = shutil.which("openssl")
    if not openssl:
        raise RuntimeError("openssl is not installed: apt-get install openssl")
    result = subprocess.run([openssl, *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def _new_key(path: Path, cwd: Path) -> None:
    _openssl(
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        str(path),
        cwd=cwd,
    )
    path.chmod(0o600)


def _signed(stem: str, subject: str, extensions: str, pki: Pki) -> None:
    """A key and a certificate for ``subject`` signed by the CA, with ``extensions``."""
    cwd = pki.directory
    _new_key(pki.key(stem), cwd)
    csr = cwd / f"{stem}.csr"
    ext = cwd / f"{stem}.ext"
    _openssl("req", "-new", "-key", str(pki.key(stem)), "-subj", subject, "-out", str(csr), cwd=cwd)
    ext.write_text(extensions + "\n", encoding="utf-8")
    _openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(pki.cert("ca")),
        "-CAkey",
        str(pki.key("ca")),
        "-CAcreateserial",
        "-days",
        "3650",
        "-sha256",
        "-extfile",
        str(ext),
        "-out",
        str(pki.cert(stem)),
        cwd=cwd,
    )
    csr.unlink()
    ext.unlink()


def make_pki(directory: Path) -> Pki:
    """Create the CA, the serving and client certificates and the service-account keys.

    Idempotent: an existing complete set is kept, so a restarted cluster keeps trusting the
    tokens and kubeconfigs it issued before.
    """
    pki = Pki(directory=directory)
    if pki.cert("ca").is_file() and all(pki.cert(stem).is_file() for stem in CLIENTS):
        return pki
    directory.mkdir(parents=True, exist_ok=True)
    _new_key(pki.key("ca"), directory)
    _openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        str(pki.key("ca")),
        "-subj",
        "/CN=mlplat-local-ca",
        "-days",
        "3650",
        "-sha256",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-out",
        str(pki.cert("ca")),
        cwd=directory,
    )
    _signed(
        "apiserver",
        "/CN=kube-apiserver",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        f"extendedKeyUsage=serverAuth\nsubjectAltName={','.join(_SERVER_NAMES)}",
        pki,
    )
    for stem, (common_name, organisation) in CLIENTS.items():
        subject = f"/O={organisation}/CN={common_name}" if organisation else f"/CN={common_name}"
        _signed(
            stem,
            subject,
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=clientAuth",
            pki,
        )
    _new_key(pki.key("sa"), directory)
    _openssl(
        "pkey", "-in", str(pki.key("sa")), "-pubout", "-out", str(pki.sa_public), cwd=directory
    )
    return pki


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def write_kubeconfig(path: Path, *, pki: Pki, client: str, server: str, context: str) -> None:
    """Write a self-contained kubeconfig (data inlined) for one client identity, mode 0600.

    JSON is valid YAML, so no YAML library is needed to write one that kubectl reads.
    """
    import json

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": context,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": _b64(pki.cert("ca")),
                },
            }
        ],
        "users": [
            {
                "name": f"{context}-{client}",
                "user": {
                    "client-certificate-data": _b64(pki.cert(client)),
                    "client-key-data": _b64(pki.key(client)),
                },
            }
        ],
        "contexts": [
            {"name": context, "context": {"cluster": context, "user": f"{context}-{client}"}}
        ],
        "current-context": context,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
