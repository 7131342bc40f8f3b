"""Shared pieces of the real deploy tests: mlplat run as a user types it, against a local cluster.

`Deployer` runs the installed ``mlplat`` console script in a subprocess with the environment
a user would have after ``eval "$(python -m toolchain.build env pulumi)"``: the cluster's
kubeconfig, the toolchain's binaries (the Pulumi CLI and providers built from source) first on
PATH, plugin downloads off, a private ``MLPLAT_HOME`` and Pulumi home, a passphrase in
``PULUMI_CONFIG_PASSPHRASE`` and the chart mirror in ``MLPLAT_CHART_MIRROR``. Every run's
duration is printed to the terminal (``live: 93.4 s  mlplat up --yes --profile dev -> 0``)
and kept, so the numbers of a CI run are in its log.

``tests/live/live_mlflow.py`` has a real MLflow server on loopback; the checks of what a
deploy leaves in the cluster are in ``tests/live/apply_helpers.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.platform.platform_helpers import shared_chart_mirror
from tests.tools import unavailable
from toolchain import build
from toolchain.cluster import Cluster

#: The provider plugins a deploy loads, and why this machine may lack them: the Go module
#: proxy here answers 403 for every pulumi-random module and does not serve the
#: pulumi-kubernetes provider at the commit of v4.34.2 (toolchain/README notes), so they are
#: not toolchain targets yet. Until they are, the deploy scenarios skip, in CI too, with this.
PROVIDERS = ("pulumi-resource-kubernetes", "pulumi-resource-random")


def require_pulumi_cli() -> str:
    """The built Pulumi CLI's toolchain target; skip (locally) or fail (CI) without it."""
    try:
        build.binary("pulumi")
    except build.ToolchainError as error:
        unavailable(str(error))
    return "pulumi"


def provider_dirs() -> list[str]:
    """Directories holding the provider plugins (on PATH or in the toolchain), if all exist."""
    found: list[str] = []
    search = [str(t.bin_dir()) for t in build.TARGETS.values()] + os.environ.get("PATH", "").split(
        os.pathsep
    )
    for name in PROVIDERS:
        where = next((d for d in search if d and (Path(d) / name).is_file()), None)
        if where is None:
            return []
        found.append(where)
    return found


#: Namespaces the platform creates (the dev and prod profiles' union).
PLATFORM_NAMESPACES = (
    "cert-manager",
    "cnpg-system",
    "kserve",
    "mlplat-database",
    "mlplat-features",
    "mlplat-gateway",
    "mlplat-models",
    "mlplat-pipelines",
    "mlplat-registry",
    "mlplat-storage",
)

#: The passphrase of every live stack (tests only; never a real one).
PASSPHRASE = "live-tests-only"


def chart_mirror() -> Path:
    """The pinned charts' archives; skip (locally) or fail (CI) without them."""
    mirror = shared_chart_mirror()
    if mirror is None:
        unavailable("no chart mirror: ../shared/charts (or MLPLAT_TEST_CHART_MIRROR)")
    return mirror


def mlplat_executable() -> str:
    """The ``mlplat`` console script of the environment running the tests."""
    beside = Path(sys.executable).with_name("mlplat")
    return str(beside) if beside.is_file() else "mlplat"


@dataclass(frozen=True, kw_only=True)
class Run:
    """One finished command: what was typed, its exit code, output and duration."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> Any:
        """Its stdout as JSON (``--json`` runs)."""
        return json.loads(self.stdout)

    def describe(self) -> str:
        """The command, exit code and the tail of its output, for a failure message."""
        tail = "\n".join((self.stderr + "\n" + self.stdout).strip().splitlines()[-40:])
        typed = " ".join(self.args)
        return f"`mlplat {typed}` exited {self.code} after {self.seconds:.1f} s:\n{tail}"


@dataclass
class Deployer:
    """Runs ``mlplat`` against one cluster, as a user in a shell would, and times each run.

    Attributes:
        env: The environment of every run.
        cwd: Where commands run (config files are written here).
        report: Prints one line to the test session's terminal.
        runs: Every finished run, in order.
    """

    env: dict[str, str]
    cwd: Path
    report: Any
    runs: list[Run] = field(default_factory=list)

    def __call__(
        self,
        *args: str,
        expect: int | None = 0,
        cwd: Path | None = None,
        extra_env: Mapping[str, str] | None = None,
        timeout: float = 1200,
    ) -> Run:
        """Run ``mlplat ARGS``; fail the test unless it exits ``expect`` (``None``: any)."""
        started = time.monotonic()
        result = subprocess.run(
            [mlplat_executable(), *args],
            cwd=cwd or self.cwd,
            env={**self.env, **(extra_env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        run = self._record(args, result.returncode, result.stdout, result.stderr, started)
        if expect is not None and run.code != expect:
            pytest.fail(run.describe(), pytrace=False)
        return run

    @contextmanager
    def started(self, *args: str) -> Iterator[subprocess.Popen[str]]:
        """Start ``mlplat ARGS`` in its own process group (fault tests signal it)."""
        process = subprocess.Popen(
            [mlplat_executable(), *args],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def finish(self, process: subprocess.Popen[str], args: Sequence[str], started: float) -> Run:
        """Wait for a `started` process and record it."""
        stdout, stderr = process.communicate(timeout=1200)
        return self._record(tuple(args), process.returncode, stdout, stderr, started)

    def _record(
        self, args: Sequence[str], code: int, stdout: str, stderr: str, started: float
    ) -> Run:
        run = Run(
            args=tuple(args),
            code=code,
            stdout=stdout,
            stderr=stderr,
            seconds=time.monotonic() - started,
        )
        self.runs.append(run)
        self.report(f"live: {run.seconds:6.1f} s  mlplat {' '.join(run.args)} -> {run.code}")
        return run


def terminal_reporter(config: pytest.Config) -> Any:
    """A function printing a line to the terminal even while output is captured."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")

    def report(line: str) -> None:
        if reporter is None or capture is None:  # pragma: no cover - plugins switched off
            print(line, file=sys.__stderr__)
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)

    return report


def deploy_env(cluster: Cluster, home: Path, targets: Sequence[str]) -> dict[str, str]:
    """The environment of a user deploying to ``cluster`` with the built toolchain.

    The provider plugins, where built, come first on PATH (Pulumi's "ambient" plugins); the
    Pulumi home is a fresh one, so nothing the machine's user installed is used.
    """
    env = cluster.env()
    env.update(build.environment(targets))
    env["PATH"] = os.pathsep.join([*dict.fromkeys(provider_dirs()), env["PATH"]])
    for name in list(env):
        if name.startswith(("MLPLAT_", "MLFLOW_", "PULUMI_")) and name not in (
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
        ):
            del env[name]
    env.update(
        {
            "MLPLAT_HOME": str(home / "mlplat"),
            "PULUMI_HOME": str(home / "pulumi-home"),
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "MLPLAT_CHART_MIRROR": str(chart_mirror()),
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "NO_COLOR": "1",
            "GIT_AUTHOR_NAME": "Live Test",
            "GIT_COMMITTER_NAME": "Live Test",
            "GIT_AUTHOR_EMAIL": "live@example.com",
            "GIT_COMMITTER_EMAIL": "live@example.com",
        }
    )
    return env


def deployer(
    request: pytest.FixtureRequest, cluster: Cluster, home: Path, targets: Sequence[str]
) -> Deployer:
    """A `Deployer` for ``cluster`` whose state lives under ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    return Deployer(
        env=deploy_env(cluster, home, targets), cwd=home, report=terminal_reporter(request.config)
    )


# -- reading the cluster ---------------------------------------------------------------------


def existing_namespaces(cluster: Cluster) -> set[str]:
    """The names of the cluster's namespaces."""
    listing = cluster.kubectl("get", "namespaces", "-o", "json").stdout
    return {item["metadata"]["name"] for item in json.loads(listing)["items"]}
