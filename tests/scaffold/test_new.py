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


def test_interrupt_message_says_nothing_was_created(
    small_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(request: _copier.RenderRequest) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_copier, "copy_template", interrupted)
    result = runner.invoke(app, ["new", str(tmp_path / "out" / "p"), "-t", str(small_template)])
    assert result.exit_code == 130
    assert result.stderr == "Interrupted; nothing was created.\n"


def test_interrupt_after_the_project_exists_says_so(
    small_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlplat.scaffold import new as new_module

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(new_module, "_commit", interrupted)
    dest = tmp_path / "p"
    result = runner.invoke(app, ["new", str(dest), "-t", str(small_template)])
    assert result.exit_code == 130
    assert result.stderr.splitlines()[0] == (
        f"Interrupted after {dest} was created, before its first commit."
    )
    assert (dest / "README.md").is_file()


def test_new_in_the_current_empty_directory_keeps_that_directory(
    small_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "shop"
    here.mkdir()
    inode = here.stat().st_ino
    monkeypatch.chdir(here)
    result = runner.invoke(app, ["new", ".", "-t", str(small_template), "--no-git"])
    assert result.exit_code == 0, result.output
    assert here.stat().st_ino == inode, "a shell sitting in DEST must see the project"
    assert (Path.cwd() / "README.md").read_text() == "# demo (plain)\n"
    assert _siblings(here) == ["shop", "tpl"], "no staging directory left behind"


def test_destination_inside_a_file_is_refused(small_template: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    result = runner.invoke(app, ["new", str(blocker / "proj"), "-t", str(small_template)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"Error: {blocker / 'proj'} cannot be created: {blocker} is a file; mlplat new needs "
        "a new or empty directory."
    )
    assert blocker.read_text() == "mine"


@pytest.mark.parametrize("template", ["./no-such-template", "../nope", "~/missing-tpl"])
def test_missing_template_directory_is_a_usage_error(tmp_path: Path, template: str) -> None:
    result = runner.invoke(app, ["new", str(tmp_path / "p"), "-t", template])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"Error: --template {template}: no such directory."
    assert not (tmp_path / "p").exists()


def test_unreachable_template_url_is_one_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "gone.git"
    result = runner.invoke(app, ["new", str(tmp_path / "p"), "-t", f"file://{missing}"])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: git failed reading the template file://{missing}: fatal: "
    )
    assert "Traceback" not in result.output and not (tmp_path / "p").exists()


def test_unknown_version_of_the_bundled_template(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", str(tmp_path / "p"), "--defaults", "--vcs-ref", "v9.9"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "Error: --vcs-ref v9.9: the bundled template has no such version."
    assert lines[1].startswith("Versions here: v0.1.0")
    assert not (tmp_path / "p").exists()


def test_unknown_ref_of_a_git_template(small_template: Path, tmp_path: Path) -> None:
    run_git(small_template, "init", "-q", "-b", "main")
    run_git(small_template, "add", "-A")
    run_git(small_template, "commit", "-qm", "v1")
    result = runner.invoke(
        app, ["new", str(tmp_path / "p"), "-t", str(small_template), "--vcs-ref", "v7"]
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"Error: The template {small_template} has no tag, branch or commit 'v7'."
    )
    assert not (tmp_path / "p").exists()
