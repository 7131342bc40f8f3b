"""Build the Go binaries the real deploy path needs, once per version, into the user's cache.

Usage::

    python -m toolchain.build [TARGET ...]   # build what is missing (default: all but pulumi)
    python -m toolchain.build env [pulumi]   # print `export` lines: eval "$(... env)"
    python -m toolchain.build list           # targets, versions and whether each is built

Each target is a small wrapper module under ``toolchain/modules/<name>/`` whose ``go.mod``
pins the upstream module and lists the binaries as ``tool`` directives, and whose ``go.sum`` is
the lock: builds run with ``-mod=readonly``, so a sum that does not match fails instead of
drifting. Binaries land in ``${XDG_CACHE_HOME:-~/.cache}/mlplat/toolchain/<name>-<version>/bin``:
outside the checkout, so a fresh clone on the same machine (CI) finds them, and keyed by a
stamp of the wrapper files, the linker flags and the Go version, so any change rebuilds.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "TARGETS",
    "BuildResult",
    "Target",
    "ToolchainError",
    "binary",
    "build",
    "cache_root",
    "environment",
    "main",
]

MODULES_DIR = Path(__file__).resolve().parent / "modules"


class ToolchainError(Exception):
    """A build or lookup failed; the message says what to run or fix."""


def cache_root() -> Path:
    """Where built binaries live: ``$MLPLAT_TOOLCHAIN_CACHE`` or the user's cache directory."""
    override = os.environ.get("MLPLAT_TOOLCHAIN_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlplat" / "toolchain"


def _kubernetes_ldflags(version: str, module_time: str) -> list[str]:
    """Version variables hack/lib/version.sh sets, so `/version` and `--version` tell the truth.

    Both packages carry the same variables (k8s.io/kubernetes v1.35.4, hack/lib/version.sh,
    ``kube::version::ldflags``). The commit is not known from the module proxy and is left out,
    as version.sh does when ``KUBE_GIT_COMMIT`` is unset.
    """
    match = re.fullmatch(r"v(\d+)\.(\d+)\.\d+", version)
    if not match:
        raise ToolchainError(f"kubernetes: cannot read major/minor from {version!r}")
    values = {
        "gitVersion": version,
        "gitMajor": match.group(1),
        "gitMinor": match.group(2),
        "gitTreeState": "clean",
        "buildDate": module_time,
    }
    return [
        f"-X {package}.{key}={value}"
        for package in ("k8s.io/client-go/pkg/version", "k8s.io/component-base/version")
        for key, value in values.items()
    ]


def _pulumi_ldflags(version: str, module_time: str) -> list[str]:
    """Without the version the CLI reports "" and the Automation API refuses it.

    The CLI must be at least as new as the installed pulumi SDK (the Automation API's check),
    so the SDK's version is read here, from the package, and compared.
    """
    del module_time
    sdk = _installed_version("pulumi")
    if sdk is not None and _semver(version) < _semver(sdk):
        raise ToolchainError(
            f"pulumi: the wrapper builds the CLI {version}, older than the installed pulumi "
            f"SDK {sdk}: raise github.com/pulumi/pulumi/{{pkg,sdk}}/v3 in "
            "toolchain/modules/pulumi/go.mod"
        )
    return [f"-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version={version}"]


def _installed_version(distribution: str) -> str | None:
    """The version of an installed Python distribution, or None when it is not installed."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _semver(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def _no_ldflags(version: str, module_time: str) -> list[str]:
    """For modules whose version is a source constant or read from the build info."""
    del version, module_time
    return []


@dataclass(frozen=True, kw_only=True)
class Target:
    """One wrapper module and the binaries built from it.

    ``binaries`` maps each binary's name to its main package; the version that names the cache
    directory is the one ``go.mod`` requires of ``module``.
    """

    name: str
    module: str
    binaries: dict[str, str]
    ldflags: Callable[[str, str], list[str]] = _no_ldflags
    directory: Path | None = None
    default: bool = True

    @property
    def module_dir(self) -> Path:
        """The wrapper module: ``toolchain/modules/<name>`` unless ``directory`` is given."""
        return self.directory or MODULES_DIR / self.name

    def version(self) -> str:
        """The version of ``module`` that the wrapper's go.mod requires."""
        go_mod = (self.module_dir / "go.mod").read_text(encoding="utf-8")
        match = re.search(rf"^\s*(?:require\s+)?{re.escape(self.module)}\s+(v\S+)", go_mod, re.M)
        if not match:
            raise ToolchainError(f"{self.name}: {self.module} is not required in its go.mod")
        return match.group(1)

    def install_dir(self) -> Path:
        """The cache directory of this target at its pinned version."""
        return cache_root() / f"{self.name}-{self.version()}"

    def bin_dir(self) -> Path:
        """Where its binaries are, once built."""
        return self.install_dir() / "bin"


TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        Target(
            name="kubernetes",
            module="k8s.io/kubernetes",
            binaries={
                "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
                "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
                "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
                "kubectl": "k8s.io/kubernetes/cmd/kubectl",
            },
            ldflags=_kubernetes_ldflags,
        ),
        Target(
            name="etcd",
            module="go.etcd.io/etcd/server/v3",
            binaries={"etcd": "go.etcd.io/etcd/server/v3"},
        ),
        Target(
            name="kwok", module="sigs.k8s.io/kwok", binaries={"kwok": "sigs.k8s.io/kwok/cmd/kwok"}
        ),
        Target(
            name="pulumi",
            module="github.com/pulumi/pulumi/pkg/v3",
            binaries={"pulumi": "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"},
            ldflags=_pulumi_ldflags,
            default=False,
        ),
        Target(
            name="actionlint",
            module="github.com/rhysd/actionlint",
            binaries={"actionlint": "github.com/rhysd/actionlint/cmd/actionlint"},
        ),
    )
}


@dataclass(frozen=True, kw_only=True)
class BuildResult:
    """What one target's build did: ``cached`` when nothing needed building."""

    name: str
    version: str
    seconds: float
    cached: bool


def _go() -> str:
    found = shutil.which("go")
    if not found:
        raise ToolchainError("the Go toolchain is not on PATH: the toolchain needs Go 1.26")
    return found


def _go_env() -> dict[str, str]:
    """The environment for go: no automatic toolchain download, no VCS stamping."""
    env = dict(os.environ)
    env["GOTOOLCHAIN"] = "local"
    env["GOFLAGS"] = "-mod=readonly -buildvcs=false"
    return env


def _run_go(args: Sequence[str], cwd: Path) -> str:
    result = subprocess.run(
        [_go(), *args], cwd=cwd, env=_go_env(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise ToolchainError(f"`go {' '.join(args[:2])}` failed in {cwd}:\n{tail}")
    return result.stdout


def _stamp(target: Target, ldflags: list[str]) -> str:
    """A key for everything that changes the binaries: the wrapper files, flags and Go."""
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum"):
        digest.update((target.module_dir / name).read_bytes())
    digest.update(json.dumps([ldflags, sorted(target.binaries.items())]).encode())
    digest.update(_run_go(["env", "GOVERSION"], target.module_dir).encode())
    return digest.hexdigest()


def _is_built(target: Target, stamp: str) -> bool:
    stamp_file = target.install_dir() / "stamp"
    if not stamp_file.is_file() or stamp_file.read_text(encoding="utf-8") != stamp:
        return False
    return all((target.bin_dir() / name).is_file() for name in target.binaries)


@contextlib.contextmanager
def _locked(target: Target) -> Iterator[None]:
    """One build per target at a time, across processes (a developer and CI on one machine)."""
    cache_root().mkdir(parents=True, exist_ok=True)
    with open(cache_root() / f".{target.name}.lock", "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _module_time(target: Target) -> str:
    """The upstream module's publication time: a reproducible build date."""
    info = json.loads(_run_go(["list", "-m", "-json", target.module], target.module_dir))
    return str(info.get("Time", "1970-01-01T00:00:00Z"))


def build(target: Target) -> BuildResult:
    """Build ``target`` unless the cache already has it at this stamp; atomic on success.

    The binaries are built into a hidden sibling directory that replaces the install
    directory only when every binary linked, so an interrupted build leaves no half state.
    """
    started = time.monotonic()
    version = target.version()
    with _locked(target):
        ldflags = target.ldflags(version, _module_time(target))
        stamp = _stamp(target, ldflags)
        if _is_built(target, stamp):
            return BuildResult(
                name=target.name,
                version=version,
                seconds=time.monotonic() - started,
                cached=True,
            )
        final = target.install_dir()
        staging = final.with_name(f".{final.name}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "bin").mkdir(parents=True)
        flags = " ".join(["-s", "-w", *ldflags])
        for name, package in target.binaries.items():
            output = staging / "bin" / name
            _run_go(
                ["build", "-trimpath", "-ldflags", flags, "-o", str(output), package],
                target.module_dir,
            )
        (staging / "stamp").write_text(stamp, encoding="utf-8")
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
    return BuildResult(
        name=target.name, version=version, seconds=time.monotonic() - started, cached=False
    )


def binary(name: str) -> Path:
    """The path of a built binary by its name (``kube-apiserver``, ``kwok``, ``actionlint``...).

    Raises:
        ToolchainError: no target builds it, or it is not built yet (the message says how).
    """
    for target in TARGETS.values():
        if name in target.binaries:
            path = target.bin_dir() / name
            if not path.is_file():
                raise ToolchainError(
                    f"{name} {target.version()} is not built: run `python -m toolchain.build "
                    f"{target.name}` (or .ci/run)"
                )
            return path
    raise ToolchainError(f"no toolchain target builds {name!r}")


def environment(extra: Sequence[str] = ()) -> dict[str, str]:
    """Variables that put the built targets first on PATH (for `eval` or a subprocess env).

    The default targets, plus the on-request ones named in ``extra`` (``pulumi``): a Pulumi
    CLI on PATH changes what mlplat's deploy commands do, so it is there only when asked for.
    """
    chosen = [t for t in TARGETS.values() if t.default or t.name in extra]
    dirs = [str(target.bin_dir()) for target in chosen if target.bin_dir().is_dir()]
    path = os.pathsep.join([*dirs, os.environ.get("PATH", "")])
    return {"PATH": path, "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true"}


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def _select(names: Sequence[str]) -> list[Target]:
    unknown = [name for name in names if name not in TARGETS]
    if unknown:
        raise ToolchainError(f"unknown target {unknown[0]!r}: choose from {', '.join(TARGETS)}")
    if names:
        return [TARGETS[name] for name in names]
    return [target for target in TARGETS.values() if target.default]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m toolchain.build``; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args[:1] == ["env"]:
            _select(args[1:])
            for key, value in environment(args[1:]).items():
                print(f"export {key}={_shell_quote(value)}")
            return 0
        if args[:1] == ["list"]:
            for target in _select(args[1:]) if args[1:] else TARGETS.values():
                state = "built" if target.bin_dir().is_dir() else "missing"
                print(f"{target.name:12} {target.version():10} {state:8} {target.install_dir()}")
            return 0
        total = time.monotonic()
        for target in _select(args):
            print(f"toolchain: {target.name} {target.version()} ...", file=sys.stderr, flush=True)
            result = build(target)
            how = "cached" if result.cached else "built"
            print(f"toolchain: {result.name} {result.version} {how} in {result.seconds:.1f} s")
        print(f"toolchain: done in {time.monotonic() - total:.1f} s ({cache_root()})")
        return 0
    except ToolchainError as error:
        print(f"toolchain: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
