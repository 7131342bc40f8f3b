"""``mlplat doctor``: is this machine ready to deploy, and if not, what fixes it.

Checks, each with pass/fail and a fix:

- the Pulumi CLI (mlplat's own install first, then ``PATH``) and its version, at least
  `mlplat.stack.workspace.MIN_PULUMI_CLI`; ``--install-pulumi`` runs the SDK's
  ``PulumiCommand.install`` into mlplat's data directory (the CLI version matching the SDK);
- the Pulumi resource plugins the deploy loads (``kubernetes``, ``random`` at the versions the
  installed packages declare, `mlplat.stack.plugins`): on ``PATH`` or in Pulumi's plugin
  cache; missing ones fail when ``PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION`` forbids the
  download, and warn otherwise (the first ``up`` downloads them);
- the kube context (``--kube-context`` or the current one), its API server reachable, and the
  server at least Kubernetes `MIN_KUBERNETES` — KServe v0.20's documented minimum
  (kserve/website ``versioned_docs/version-0.20/admin-guide/kubernetes-deployment.md``,
  "Kubernetes: Version 1.32+");
- git (``mlplat new`` commits the project); docker and kubectl (optional: building a project's
  image, port-forwarding to the UIs).

A required check failing makes ``mlplat doctor`` exit 1.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplat.errors import MlplatError
from mlplat.settings import Settings, load_settings
from mlplat.stack.kube import KubeContext, probe, resolve_context, server_version
from mlplat.stack.plugins import acquisition_disabled, find_plugin, install_hint, required_plugins
from mlplat.stack.workspace import MIN_PULUMI_CLI, find_pulumi

__all__ = [
    "MIN_KUBERNETES",
    "Check",
    "DoctorOptions",
    "DoctorReport",
    "install_pulumi",
    "run_doctor",
]

#: KServe v0.20's minimum Kubernetes (see the module docstring for the upstream file).
MIN_KUBERNETES = (1, 32)
_INSTALL_DOCS = "https://www.pulumi.com/docs/iac/download-install/"


@dataclass(frozen=True, kw_only=True)
class DoctorOptions:
    """Options of ``mlplat doctor``.

    Attributes:
        install_pulumi: Install the Pulumi CLI into mlplat's data dir when missing or too old.
        kube_context: The context to check; ``None`` for the current one.
    """

    install_pulumi: bool = False
    kube_context: str | None = None


@dataclass(frozen=True, kw_only=True)
class Check:
    """One check's outcome.

    Attributes:
        name: What was checked.
        ok: Whether it passed.
        required: Whether deploying needs it (a failing one makes doctor exit 1).
        detail: What was found.
        fix: What to do when it failed.
    """

    name: str
    ok: bool
    required: bool
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable form."""
        return {
            "name": self.name,
            "ok": self.ok,
            "required": self.required,
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass(frozen=True, kw_only=True)
class DoctorReport:
    """Every check, in order."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """Every required check passed."""
        return all(c.ok for c in self.checks if c.required)

    def lines(self) -> list[str]:
        """``PASS``/``FAIL``/``WARN`` per check, with the fix under a failed one."""
        width = max(len(c.name) for c in self.checks)
        out = []
        for c in self.checks:
            status = "PASS" if c.ok else ("FAIL" if c.required else "WARN")
            out.append(f"{status}  {c.name:<{width}}  {c.detail}")
            if not c.ok and c.fix:
                out.append(f"      {'':<{width}}  fix: {c.fix}")
        return out

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable form for ``--json``."""
        return {"ok": self.ok, "checks": [c.as_dict() for c in self.checks]}


def run_doctor(options: DoctorOptions, settings: Settings | None = None) -> DoctorReport:
    """Run every check (installing the Pulumi CLI first when asked).

    Raises:
        MlplatError: ``--install-pulumi`` could not download or install the CLI.
    """
    settings = settings or load_settings()
    pulumi = _pulumi_check(settings)
    if options.install_pulumi and not pulumi.ok:
        install_pulumi(settings)
        pulumi = _pulumi_check(settings)
    checks = [pulumi, _plugins_check(), *_kube_checks(options.kube_context)]
    checks.append(_tool("git", ["git", "--version"], required=True, fix="apt-get install git"))
    checks.append(
        _tool(
            "docker",
            ["docker", "version", "--format", "{{.Server.Version}}"],
            required=False,
            fix="install Docker and start its daemon (needed to build a project's image)",
        )
    )
    checks.append(
        _tool(
            "kubectl",
            ["kubectl", "version", "--client", "-o", "yaml"],
            required=False,
            fix="install kubectl (the port-forward commands mlplat prints use it)",
            first_line=False,
        )
    )
    return DoctorReport(checks=tuple(checks))


def install_pulumi(settings: Settings) -> Path:
    """Install the Pulumi CLI matching the SDK into ``settings.pulumi_cli_root``.

    Raises:
        MlplatError: The installer could not be downloaded or failed.
    """
    import urllib.error

    from pulumi import automation as auto

    root = settings.pulumi_cli_root
    root.mkdir(parents=True, exist_ok=True)
    try:
        auto.PulumiCommand.install(root=str(root))
    except urllib.error.URLError as exc:
        raise MlplatError(
            f"could not download the Pulumi CLI installer (get.pulumi.com): {exc.reason}",
            hint=f"Check the network or proxy, or install Pulumi yourself ({_INSTALL_DOCS}) and "
            "put it on PATH; then run `mlplat doctor` again.",
        ) from None
    except (OSError, subprocess.CalledProcessError) as exc:
        raise MlplatError(
            f"installing the Pulumi CLI into {root} failed: {exc}",
            hint=f"Install Pulumi yourself ({_INSTALL_DOCS}) and put it on PATH.",
        ) from None
    return root / "bin" / "pulumi"


def _pulumi_check(settings: Settings) -> Check:
    cli = find_pulumi(settings)
    fix = (
        f"`mlplat doctor --install-pulumi` (installs into {settings.pulumi_cli_root}), "
        f"or see {_INSTALL_DOCS}"
    )
    if cli is None:
        return Check(name="pulumi CLI", ok=False, required=True, detail="not found", fix=fix)
    version = _run([str(cli.executable), "version"])
    if version is None:
        return Check(
            name="pulumi CLI",
            ok=False,
            required=True,
            detail=f"{cli.executable} does not run",
            fix=fix,
        )
    parsed = _version_tuple(version)
    minimum = _version_tuple(MIN_PULUMI_CLI)
    ok = parsed is not None and minimum is not None and parsed >= minimum
    return Check(
        name="pulumi CLI",
        ok=ok,
        required=True,
        detail=f"{version} ({cli.executable})" + ("" if ok else f", need {MIN_PULUMI_CLI}+"),
        fix=None if ok else fix,
    )


def _plugins_check() -> Check:
    plugins = required_plugins()
    missing = [p for p in plugins if find_plugin(p) is None]
    if not missing:
        return Check(
            name="pulumi plugins", ok=True, required=True, detail=", ".join(map(str, plugins))
        )
    disabled = acquisition_disabled()
    detail = f"not installed: {', '.join(map(str, missing))}"
    if disabled:
        detail += " (automatic download disabled)"
    return Check(
        name="pulumi plugins",
        ok=False,
        required=disabled,
        detail=detail,
        fix=install_hint(missing),
    )


def _kube_checks(requested: str | None) -> list[Check]:
    try:
        context = resolve_context(requested)
    except MlplatError as exc:
        return [
            Check(
                name="kube context",
                ok=False,
                required=True,
                detail=exc.message,
                fix="`kubectl config use-context NAME`, --kube-context, or create a cluster "
                "(`kind create cluster`)",
            )
        ]
    checks = [
        Check(
            name="kube context", ok=True, required=True, detail=f"{context.name} ({context.server})"
        )
    ]
    reason = probe(context)
    if reason is not None:
        checks.append(
            Check(
                name="cluster reachable",
                ok=False,
                required=True,
                detail=reason,
                fix="start the cluster, or choose another context with --kube-context",
            )
        )
        return checks
    checks.append(_server_version_check(context))
    return checks


def _server_version_check(context: KubeContext) -> Check:
    need = ".".join(map(str, MIN_KUBERNETES))
    try:
        major, minor, text = server_version(context)
    except OSError as exc:
        found = _kubectl_server_version(context.name)
        if found is not None:
            major, minor, text = found
            ok = (major, minor) >= MIN_KUBERNETES
            return Check(
                name="Kubernetes version",
                ok=ok,
                required=True,
                detail=f"{text} (kubectl)" + ("" if ok else f", KServe v0.20 needs {need}+"),
                fix=None if ok else f"upgrade the cluster to Kubernetes {need} or later",
            )
        return Check(
            name="Kubernetes version",
            ok=False,
            required=True,
            detail=f"could not read {context.server}/version: {exc}",
            fix=f"check the cluster; KServe v0.20 needs Kubernetes {need}+",
        )
    ok = (major, minor) >= MIN_KUBERNETES
    return Check(
        name="Kubernetes version",
        ok=ok,
        required=True,
        detail=f"{text}" + ("" if ok else f", KServe v0.20 needs {need}+"),
        fix=None if ok else f"upgrade the cluster to Kubernetes {need} or later",
    )


def _kubectl_server_version(context: str) -> tuple[int, int, str] | None:
    """The server version through kubectl's credentials, when anonymous ``/version`` is off."""
    import json

    if shutil.which("kubectl") is None:
        return None
    out = _run(["kubectl", "version", "-o", "json", "--context", context, "--request-timeout=5s"])
    try:
        server = json.loads(out or "{}")["serverVersion"]
        major = int("".join(c for c in server["major"] if c.isdigit()))
        minor = int("".join(c for c in server["minor"] if c.isdigit()))
    except (ValueError, KeyError, TypeError):
        return None
    return major, minor, str(server.get("gitVersion", f"v{major}.{minor}"))


def _tool(
    name: str, argv: list[str], *, required: bool, fix: str, first_line: bool = True
) -> Check:
    if shutil.which(argv[0]) is None:
        return Check(name=name, ok=False, required=required, detail="not found", fix=fix)
    out = _run(argv)
    if out is None:
        return Check(
            name=name, ok=False, required=required, detail=f"`{' '.join(argv)}` failed", fix=fix
        )
    detail = out.splitlines()[0] if first_line else _kubectl_client(out)
    return Check(name=name, ok=True, required=required, detail=detail)


def _kubectl_client(out: str) -> str:
    for line in out.splitlines():
        if line.strip().startswith("gitVersion:"):
            return line.split(":", 1)[1].strip()
    return out.splitlines()[0] if out else ""


def _run(argv: list[str]) -> str | None:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else None


def _version_tuple(text: str) -> tuple[int, int, int] | None:
    parts = text.strip().lstrip("v").split("-", 1)[0].split(".")
    try:
        major, minor, patch = (int(p) for p in parts[:3])
    except ValueError:
        return None
    return major, minor, patch
