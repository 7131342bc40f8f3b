"""``mlplat new`` end to end through the CLI, on throwaway and bundled templates."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mlplat._cli import app
from mlplat.scaffold import _copier
from tests.conftest import run_git

runner = CliRunner()


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def test_new_from_local_template_commits(small_template: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "proj"
    result = runner.invoke(
        app, ["new", str(dest), "--template", str(small_template), "--data", "name=shop"]
    )
    assert result.exit_code == 0, result.output
    assert (dest / "README.md").read_text() == "# shop (plain)\n"
    answers = yaml.safe_load((dest / ".copier-answers.yml").read_text())
    assert answers["name"] == "shop"
    assert run_git(dest, "status", "--porcelain") == ""
    assert "Initial commit from mlplat" in run_git(dest, "log", "--format=%s")
    assert _siblings(dest) == ["proj"], "no staging directory left behind"


def test_no_git_skips_repository(small_template: Path, tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    result = runner.invoke(app, ["new", str(dest), "-t", str(small_template), "--no-git"])
    assert result.exit_code == 0, result.output
    assert not (dest / ".git").exists()


def test_config_file_answers_with_data_override(small_template: Path, tmp_path: Path) -> None:
    config = tmp_path / "answers.yml"
    config.write_text("name: fromfile\nflavour: fancy\n")
    dest = tmp_path / "proj"
    result = runner.invoke(
        app,
        [
            "new",
            str(dest),
            "-t",
            str(small_template),
            "--config",
            str(config),
            "--data",
            "name=fromflag",
            "--no-git",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (dest / "README.md").read_text() == "# fromflag (fancy)\n"


def test_empty_existing_destination_is_used(small_template: Path, tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    dest.mkdir()
    result = runner.invoke(app, ["new", str(dest), "-t", str(small_template), "--no-git"])
    assert result.exit_code == 0, result.output
    assert (dest / "README.md").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "name=not an identifier"], "Validation error for question 'name'"),
        (["--data", "flavour=spicy"], "Invalid choice for 'flavour'"),
        (["--data", "nmae=shop"], "Unknown answer 'nmae'"),
    ],
)
def test_bad_answers_exit_2_and_create_nothing(
    small_template: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    dest = tmp_path / "out" / "proj"
    result = runner.invoke(app, ["new", str(dest), "-t", str(small_template), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not dest.exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_unknown_key_suggests_the_close_question(small_template: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["new", str(tmp_path / "p"), "-t", str(small_template), "--data", "flavor=fancy"]
    )
    assert result.exit_code == 2
    assert "Did you mean 'flavour'?" in result.output


def test_unknown_key_in_config_file_is_rejected(small_template: Path, tmp_path: Path) -> None:
    config = tmp_path / "answers.yml"
    config.write_text("pakage_name: x\n")
    result = runner.invoke(
        app, ["new", str(tmp_path / "p"), "-t", str(small_template), "--config", str(config)]
    )
    assert result.exit_code == 2
    assert "Unknown answer 'pakage_name'" in result.output


def test_non_empty_destination_is_refused_and_untouched(
    small_template: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "proj"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["new", str(dest), "-t", str(small_template)])
    assert result.exit_code == 2
    assert "not empty" in result.output
    assert sorted(p.name for p in dest.iterdir()) == ["notes.txt"]
    assert (dest / "notes.txt").read_text() == "mine"


def test_destination_that_is_a_file_is_refused(small_template: Path, tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    dest.write_text("a file")
    result = runner.invoke(app, ["new", str(dest), "-t", str(small_template)])
    assert result.exit_code == 2 and dest.read_text() == "a file"


@pytest.mark.parametrize("failure", [KeyboardInterrupt, RuntimeError])
def test_interrupt_or_failure_mid_copy_leaves_nothing(
    small_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    failure: type[BaseException],
) -> None:
    real_copy = _copier.copy_template

    def copy_then_fail(request: _copier.RenderRequest) -> None:
        real_copy(request)
        assert (request.dst / "README.md").exists()
        raise failure()

    monkeypatch.setattr(_copier, "copy_template", copy_then_fail)
    out = tmp_path / "out"
    result = runner.invoke(app, ["new", str(out / "proj"), "-t", str(small_template)])
    assert result.exit_code == (130 if failure is KeyboardInterrupt else 1)
    assert list(out.iterdir()) == []


def test_template_that_is_not_a_template(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["new", str(tmp_path / "p"), "-t", str(empty)])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert not (tmp_path / "p").exists()


def test_git_missing_asks_for_no_git(
    small_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    result = runner.invoke(app, ["new", str(tmp_path / "p"), "-t", str(small_template)])
    assert result.exit_code == 2
    assert "--no-git" in result.output
    assert not (tmp_path / "p").exists()


def test_bundled_template_with_defaults(tmp_path: Path) -> None:
    dest = tmp_path / "demo"
    result = runner.invoke(app, ["new", str(dest), "--defaults"])
    assert result.exit_code == 0, result.output
    answers = yaml.safe_load((dest / ".copier-answers.yml").read_text())
    assert answers["_commit"].startswith("v")
    assert answers["_src_path"].endswith("template-cache/ml-project.git")
    assert (dest / "pyproject.toml").is_file()
    assert run_git(dest, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    ("pair", "question"),
    [("package_name=not-valid", "package_name"), ("problem_type=clustering", "problem_type")],
)
def test_bundled_template_rejects_bad_answers(tmp_path: Path, pair: str, question: str) -> None:
    dest = tmp_path / "demo"
    result = runner.invoke(app, ["new", str(dest), "--defaults", "--data", pair])
    assert result.exit_code == 2, result.output
    assert question in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not dest.exists()
