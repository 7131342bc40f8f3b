"""How a project gets mlplat-runtime: a wheel in ``wheels/`` that ``mlplat new`` and ``update`` put
there, named by the project's ``[tool.uv.sources]``; and what an update from 0.2.x, whose
projects carried the runtime as their own code, does with it.
"""

from __future__ import annotations

import hashlib
import subprocess
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mlplat import __version__, resources
from mlplat._cli import app
from mlplat.scaffold.runtime import place_runtime_wheel, runtime_wheel, wheel_name
from mlplat.settings import Settings
from tests.conftest import run_git

runner = CliRunner()
WHEEL = f"wheels/{wheel_name(__version__)}"


def _new(dest: Path, *args: str) -> dict[str, str]:
    made = runner.invoke(app, ["new", str(dest), "--defaults", *args])
    assert made.exit_code == 0, made.output
    answers: dict[str, str] = yaml.safe_load((dest / ".copier-answers.yml").read_text())
    return answers


def test_a_new_project_commits_the_runtime_wheel_its_lock_will_pin(tmp_path: Path) -> None:
    dest = tmp_path / "churn-model"
    answers = _new(dest)
    assert run_git(dest, "ls-files", "wheels") == WHEEL
    pyproject = tomllib.loads((dest / "pyproject.toml").read_text())
    assert f"mlplat-runtime=={__version__}" in pyproject["project"]["dependencies"]
    assert pyproject["tool"]["uv"]["sources"]["mlplat-runtime"] == {"path": WHEEL}
    names = zipfile.ZipFile(dest / WHEEL).namelist()
    assert {"mlplat_runtime/serving/cli.py", "mlplat_runtime/compiled.py"} <= set(names)
    assert "mlplat_runtime/py.typed" in names
    metadata = zipfile.ZipFile(dest / WHEEL).read(
        f"mlplat_runtime-{__version__}.dist-info/METADATA"
    )
    assert f"\nVersion: {__version__}\n".encode() in metadata
    package = dest / "src" / answers["package_name"]
    assert not (package / "serving").exists() and not (package / "compiled.py").exists()
    assert (package / "serving.py").is_file()


def test_the_runtime_wheel_is_the_same_bytes_wherever_it_is_built(tmp_path: Path) -> None:
    """uv.lock records the wheel's hash: two machines must build the same file."""
    first = runtime_wheel(Settings(data_dir=tmp_path / "a"))
    second = runtime_wheel(Settings(data_dir=tmp_path / "b"))
    assert first != second
    assert (
        hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    )


def test_a_runtime_version_this_mlplat_does_not_carry_says_how_to_get_it(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    old = "wheels/mlplat_runtime-0.0.1-py3-none-any.whl"
    (project / "pyproject.toml").write_text(
        f'[tool.uv.sources]\nmlplat-runtime = {{ path = "{old}" }}\n'
    )
    from mlplat.errors import MlplatError

    with pytest.raises(MlplatError) as error:
        place_runtime_wheel(project, Settings(data_dir=tmp_path / "home"))
    assert "mlplat-runtime 0.0.1" in str(error.value)
    assert "pip download 'mlplat-runtime==0.0.1'" in (error.value.hint or "")


def test_older_runtime_wheels_leave_and_a_project_without_the_source_is_untouched(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "home")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert place_runtime_wheel(plain, settings) is None
    assert not (plain / "wheels").exists()

    project = tmp_path / "project"
    (project / "wheels").mkdir(parents=True)
    (project / "wheels" / "mlplat_runtime-0.2.9-py3-none-any.whl").write_bytes(b"old")
    (project / "wheels" / "other-1.0-py3-none-any.whl").write_bytes(b"theirs")
    (project / "pyproject.toml").write_text(
        f'[tool.uv.sources]\nmlplat-runtime = {{ path = "{WHEEL}" }}\n'
    )
    placed = place_runtime_wheel(project, settings)
    assert placed is not None and placed.removed == (
        Path("wheels/mlplat_runtime-0.2.9-py3-none-any.whl"),
    )
    assert sorted(p.name for p in (project / "wheels").iterdir()) == sorted(
        [wheel_name(__version__), "other-1.0-py3-none-any.whl"]
    )


def test_update_from_0_2_0_moves_the_runtime_out_and_keeps_the_owners_edits(
    tmp_path: Path,
) -> None:
    """The recorded 0.2.0 release carried the server in the project. An update removes those
    files; the one the owner changed comes back as ``.orig``, is listed, and the update exits 1
    so it is not missed; the untouched ones are simply gone; the runtime wheel arrives."""
    dest = tmp_path / "churn-model"
    answers = _new(dest, "--vcs-ref", "v0.2.0")
    package = dest / "src" / answers["package_name"]
    assert (package / "serving" / "resilience.py").is_file() and not (dest / "wheels").exists()
    edited = package / "serving" / "resilience.py"
    ours = edited.read_text() + "\n# Our team: the breaker opens after 5 failures in prod.\n"
    edited.write_text(ours)
    run_git(dest, "commit", "-qam", "our breaker note")

    result = runner.invoke(app, ["update", str(dest), "--defaults"])
    assert result.exit_code == 1, result.output
    assert "your versions are kept as .orig" in result.stderr
    orig = f"src/{answers['package_name']}/serving/resilience.py.orig"
    assert f"  {orig}\n" in result.stderr
    assert (dest / orig).read_text() == ours
    assert not edited.exists() and not (package / "compiled.py").exists()
    assert [p.relative_to(dest).as_posix() for p in dest.rglob("*.orig")] == [orig]
    assert (package / "serving.py").is_file()
    assert (dest / WHEEL).is_file()
    assert "Conflicts" not in result.stderr


def _released_with_runtime() -> list[str]:
    """Every recorded release that pins a runtime wheel (0.3.0 was the first)."""
    bundle = resources.template_history_bundle()
    assert bundle is not None
    heads = subprocess.run(
        ["git", "bundle", "list-heads", str(bundle)], capture_output=True, text=True, check=True
    ).stdout.split()
    versions = [h.removeprefix("refs/tags/v") for h in heads if h.startswith("refs/tags/v")]
    return [v for v in versions if tuple(int(p) for p in v.split(".")[:2]) >= (0, 3)]


def test_every_released_runtime_wheel_is_shipped_and_this_one_is_this_build(
    tmp_path: Path,
) -> None:
    """A 0.3.0 project's uv.lock pins its wheel by hash: a later mlplat generating or repairing
    that release must place the very same bytes, and this release's copy must be what a
    checkout builds now (re-run ``python -m mlplat.scaffold.history`` after a runtime change)."""
    history = resources.runtime_history_dir()
    assert history is not None
    released = _released_with_runtime()
    assert "0.3.0" in released
    for version in released:
        assert (history / wheel_name(version)).is_file(), f"history lacks runtime {version}"
    ours = runtime_wheel(Settings(data_dir=tmp_path / "home"))
    kept = history / wheel_name(__version__)
    assert kept.read_bytes() == ours.read_bytes(), "re-record: python -m mlplat.scaffold.history"


def test_a_project_of_an_earlier_release_gets_that_release_s_runtime(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    old = "wheels/mlplat_runtime-0.3.0-py3-none-any.whl"
    (project / "pyproject.toml").write_text(
        f'[tool.uv.sources]\nmlplat-runtime = {{ path = "{old}" }}\n'
    )
    placed = place_runtime_wheel(project, Settings(data_dir=tmp_path / "home"))
    assert placed is not None and placed.version == "0.3.0"
    digest = hashlib.sha256((project / old).read_bytes()).hexdigest()
    # The hash 0.3.0 projects locked (uv.lock of a project generated by mlplat 0.3.0).
    assert digest == "4b33304e2a15974500c83b69c72aac2c3ad28cc816d03aa8d543d124e1828df9"
