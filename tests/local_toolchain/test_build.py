"""toolchain.build: versions come from the wrapper modules, builds are cached by stamp and
atomic, and every failure is one line that says what to run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.tools import unavailable
from toolchain import build


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLPLAT_TOOLCHAIN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def hello_module(root: Path) -> build.Target:
    """A wrapper module shaped like the real ones (require + tool) around a local module."""
    (root / "hello").mkdir(parents=True, exist_ok=True)
    (root / "hello" / "go.mod").write_text("module example.test/hello\n\ngo 1.25.0\n")
    (root / "hello" / "main.go").write_text(
        'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n'
    )
    (root / "go.mod").write_text(WRAPPER)
    (root / "go.sum").write_text("")
    return build.Target(
        name="hello",
        module="example.test/hello",
        binaries={"hello": "example.test/hello"},
        directory=root,
    )


WRAPPER = """module example.test/wrapper

go 1.25.0

require example.test/hello v1.0.0

replace example.test/hello => ./hello

tool example.test/hello
"""


def test_every_target_pins_its_module_in_go_mod_with_a_lock() -> None:
    for target in build.TARGETS.values():
        assert target.version().startswith("v"), target.name
        assert (target.module_dir / "go.sum").stat().st_size > 0, target.name


def test_install_dir_is_in_the_user_cache_keyed_by_name_and_version(cache: Path) -> None:
    target = build.TARGETS["kubernetes"]
    assert target.install_dir() == cache / f"kubernetes-{target.version()}"


def test_cache_root_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MLPLAT_TOOLCHAIN_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert build.cache_root() == tmp_path / "mlplat" / "toolchain"


def test_kubernetes_version_flags_make_version_truthful() -> None:
    flags = build.TARGETS["kubernetes"].ldflags("v1.35.4", "2026-04-15T18:01:22Z")
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert f"-X {package}.gitVersion=v1.35.4" in flags
        assert f"-X {package}.gitMajor=1" in flags
        assert f"-X {package}.gitMinor=35" in flags
        assert f"-X {package}.buildDate=2026-04-15T18:01:22Z" in flags


def test_binary_not_built_names_the_command(cache: Path) -> None:
    with pytest.raises(build.ToolchainError, match=r"python -m toolchain.build kubernetes"):
        build.binary("kube-apiserver")
    with pytest.raises(build.ToolchainError, match="no toolchain target builds 'helm'"):
        build.binary("helm")


def test_unknown_target_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert build.main(["kubernets"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "toolchain: error: unknown target 'kubernets': choose from "
        "kubernetes, etcd, kwok, pulumi, actionlint"
    ]


def test_env_prints_exports(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (build.TARGETS["kwok"].bin_dir()).mkdir(parents=True)
    assert build.main(["env"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"export PATH='{build.TARGETS['kwok'].bin_dir()}:")
    assert out[1] == "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION='true'"


def test_build_is_cached_and_rebuilds_when_the_module_changes(cache: Path, tmp_path: Path) -> None:
    if not shutil.which("go"):
        unavailable("Go is not installed: the toolchain needs Go 1.26")
    target = hello_module(tmp_path / "hello")
    first = build.build(target)
    assert not first.cached
    assert (target.bin_dir() / "hello").is_file()
    assert build.build(target).cached
    (target.module_dir / "go.mod").write_text(WRAPPER + "// changed\n")
    assert not build.build(target).cached
    assert not list(cache.glob(".*.partial")), "a finished build leaves no staging directory"


def test_a_failed_build_keeps_the_previous_binaries(cache: Path, tmp_path: Path) -> None:
    if not shutil.which("go"):
        unavailable("Go is not installed: the toolchain needs Go 1.26")
    target = hello_module(tmp_path / "hello")
    build.build(target)
    (target.module_dir / "hello" / "main.go").write_text("package main\n\nfunc main() { x }\n")
    (target.module_dir / "go.mod").write_text(WRAPPER + "// changed\n")
    with pytest.raises(build.ToolchainError, match="go build"):
        build.build(target)
    assert (target.bin_dir() / "hello").is_file()


def test_pulumi_cli_must_not_be_older_than_the_installed_sdk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flags = build.TARGETS["pulumi"].ldflags
    monkeypatch.setattr(build, "_installed_version", lambda name: "3.272.0")
    assert flags("v3.274.0", "") == [
        "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v3.274.0"
    ]
    with pytest.raises(build.ToolchainError, match="older than the installed pulumi SDK 3.272.0"):
        flags("v3.260.0", "")


def test_pulumi_is_built_only_on_request(capsys: pytest.CaptureFixture[str], cache: Path) -> None:
    assert build.main(["list"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == ["kubernetes", "etcd", "kwok", "pulumi", "actionlint"]
    assert not build.TARGETS["pulumi"].default


def test_env_adds_pulumi_only_when_named(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pulumi_bin = build.TARGETS["pulumi"].bin_dir()
    pulumi_bin.mkdir(parents=True)
    assert str(pulumi_bin) not in build.environment()["PATH"]
    assert build.environment(["pulumi"])["PATH"].startswith(str(pulumi_bin))
    assert build.main(["env", "pulumi"]) == 0
    assert str(pulumi_bin) in capsys.readouterr().out
