"""The wheel carries everything: a fresh environment with only the wheel runs mlplat new.

Dependencies are borrowed from the test environment through a ``.pth`` file (no network),
while mlplat itself must come from the wheel: the test asserts where it was imported from,
from a working directory outside the checkout.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from mlplat import __version__
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


def _run(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None, code: int = 0
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == code, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--wheel-dir",
        out,
        REPO_ROOT,
        cwd=out,
    )
    (built,) = out.glob("mlplat-*.whl")
    return built


def test_wheel_contains_templates_and_platform(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "mlplat/_bundled/templates/ml-project/copier.yml" in names
    assert "mlplat/_bundled/template-history/ml-project.bundle" in names
    assert any(n.startswith("mlplat_platform/") for n in names)
    assert not any(n.startswith(("platform/", "cli/")) for n in names)
    # The runtime's wheel, built from runtime/ by hatch_build.py: `mlplat new` puts it in wheels/.
    assert f"mlplat/_bundled/runtime/mlplat_runtime-{__version__}-py3-none-any.whl" in names
    assert not any(n.startswith(("mlplat_runtime/", "runtime/")) for n in names)


def _install_wheel(wheel: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A fresh venv holding only the wheel (dependencies borrowed); its python and env."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run(python, "-c", purelib, cwd=tmp_path).stdout.strip())
    _run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--target",
        site,
        wheel,
        cwd=tmp_path,
    )
    (site / "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    for package in ("mlplat", "mlplat_platform"):
        where = _run(
            python, "-c", f"import {package}; print({package}.__file__)", cwd=tmp_path
        ).stdout
        assert where.startswith(str(site)), where
    env = {
        "PATH": f"{env_dir / 'bin'}:/usr/bin:/bin",
        "MLPLAT_HOME": str(tmp_path / "home"),
        "HOME": str(tmp_path),
    }
    return python, env


def test_mlplat_new_from_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    python, env = _install_wheel(wheel, tmp_path)
    _run(python, "-m", "mlplat", "new", "demo", "--defaults", cwd=tmp_path, env=env)
    assert (tmp_path / "demo" / "pyproject.toml").is_file()
    assert (tmp_path / "demo" / ".git").is_dir()
    answers = (tmp_path / "demo" / ".copier-answers.yml").read_text(encoding="utf-8")
    assert "project_name: demo\n" in answers and "package_name: demo\n" in answers
    # The runtime wheel comes from the installed wheel (no checkout, no index), byte for byte.
    name = f"mlplat_runtime-{__version__}-py3-none-any.whl"
    placed = (tmp_path / "demo" / "wheels" / name).read_bytes()
    assert placed == zipfile.ZipFile(wheel).read(f"mlplat/_bundled/runtime/{name}")


def test_mlplat_render_from_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    python, env = _install_wheel(wheel, tmp_path)
    _run(python, "-m", "mlplat", "render", "--out", "rendered", cwd=tmp_path, env=env)
    rendered = tmp_path / "rendered"
    assert (rendered / "charts.yaml").is_file()
    assert len(list(rendered.rglob("*.yaml"))) > 10


def test_render_docs_are_reachable_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    """A pip user has no checkout: help, errors and the config reference must not need one."""
    import yaml

    from mlplat_platform import load_config

    python, env = _install_wheel(wheel, tmp_path)
    mlplat = (python, "-m", "mlplat")
    help_text = " ".join(_run(*mlplat, "render", "--help", cwd=tmp_path, env=env).stdout.split())
    assert "mlplat docs platform-config" in help_text
    reference = _run(*mlplat, "docs", "platform-config", cwd=tmp_path, env=env).stdout
    assert "database_instances: 1" in reference and "# oidc:" in reference
    assert load_config(yaml.safe_load(reference)) == load_config({})
    (tmp_path / "platform.yaml").write_text("sizing: {replica: 2}\n", encoding="utf-8")
    failed = _run(
        *mlplat, "render", "-o", "out", "-c", "platform.yaml", cwd=tmp_path, env=env, code=2
    )
    first, hint = failed.stderr.splitlines()
    assert first.startswith("Error: invalid platform config in platform.yaml: sizing.replica:")
    assert (
        hint == "`mlplat docs platform-config` lists every key with its default and what it does."
    )


def test_deploy_commands_from_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    """The stack commands and the project render work from the wheel alone; without a Pulumi
    CLI (none here) up and deploy stop with the clear error, not an ImportError."""
    python, env = _install_wheel(wheel, tmp_path)
    _run(python, "-m", "mlplat", "new", "demo", "--defaults", "--no-git", cwd=tmp_path, env=env)
    _run(python, "-m", "mlplat", "render", "--project", "demo", "--out", "r", cwd=tmp_path, env=env)
    assert (tmp_path / "r" / "mlplat-models" / "inferenceservice-demo.yaml").is_file()
    for command in (["up", "--yes"], ["deploy", "--yes", "--project", "demo"]):
        result = subprocess.run(
            [str(python), "-m", "mlplat", *command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 1, result.stderr
        assert "Error: the Pulumi CLI is not installed" in result.stderr
        assert "Traceback" not in result.stderr
