"""The project is named after DEST: by ``mlplat new`` and by the template for plain Copier."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mlplat._cli import app
from mlplat.scaffold.answers import project_name_from
from tests.conftest import write_files

runner = CliRunner()
TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "ml-project"


def _answers(dest: Path) -> dict[str, str]:
    loaded = yaml.safe_load((dest / ".copier-answers.yml").read_text(encoding="utf-8"))
    return {k: loaded[k] for k in ("project_name", "package_name")}


@pytest.mark.parametrize(
    ("directory", "project", "package"),
    [
        ("demo", "demo", "demo"),
        ("my.proj", "my-proj", "my_proj"),
        ("Ünïcode", "Unicode", "unicode"),
        ("Churn Model", "Churn-Model", "churn_model"),
    ],
)
def test_new_names_the_project_after_dest(
    tmp_path: Path, directory: str, project: str, package: str
) -> None:
    dest = tmp_path / directory
    result = runner.invoke(app, ["new", str(dest), "--defaults", "--no-git"])
    assert result.exit_code == 0, result.output
    assert _answers(dest) == {"project_name": project, "package_name": package}
    assert f"(project {project}, package {package})." in result.stderr
    assert (dest / "src" / package / "__init__.py").is_file()


@pytest.mark.parametrize("directory", ["123", "2024-churn", "日本"])
def test_dest_that_makes_no_valid_name_is_refused_clearly(tmp_path: Path, directory: str) -> None:
    dest = tmp_path / directory
    result = runner.invoke(app, ["new", str(dest), "--defaults", "--no-git"])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"Error: The project is named after DEST, but {directory!r} is not a valid name: "
        "project_name must start with a letter and contain only letters, digits, spaces, "
        "'-' and '_'",
        "Pass --data project_name=NAME, or choose another DEST.",
    ]
    assert list(tmp_path.iterdir()) == []


def test_an_answer_wins_over_dest(tmp_path: Path) -> None:
    dest = tmp_path / "123"
    result = runner.invoke(
        app, ["new", str(dest), "--defaults", "--no-git", "--data", "project_name=Churn 2024"]
    )
    assert result.exit_code == 0, result.output
    assert _answers(dest) == {"project_name": "Churn 2024", "package_name": "churn_2024"}


def test_a_bad_explicit_name_is_not_blamed_on_dest(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["new", str(tmp_path / "demo"), "--defaults", "--data", "project_name=9 lives"]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: Validation error for question 'project_name'")


def test_user_templates_asking_project_name_get_dest_too(tmp_path: Path) -> None:
    template = write_files(
        tmp_path / "tpl",
        {
            "copier.yml": "project_name:\n  type: str\n  default: fixed\n",
            "{{_copier_conf.answers_file}}.jinja": "{{ _copier_answers|to_nice_yaml -}}\n",
            "NAME.jinja": "{{ project_name }}\n",
        },
    )
    dest = tmp_path / "shop.api"
    result = runner.invoke(app, ["new", str(dest), "-t", str(template), "--no-git"])
    assert result.exit_code == 0, result.output
    assert (dest / "NAME").read_text() == "shop-api\n"


def test_user_templates_without_that_question_are_unaffected(
    small_template: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "anything"
    result = runner.invoke(app, ["new", str(dest), "-t", str(small_template), "--no-git"])
    assert result.exit_code == 0, result.output
    assert "project_name" not in (dest / ".copier-answers.yml").read_text()


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.b c", "a-b-c"), ("--x--", "x"), ("Ölçü", "Olcu"), ("日本", "日本"), ("ok_1", "ok_1")],
)
def test_project_name_from(name: str, expected: str) -> None:
    assert project_name_from(name) == expected


@pytest.mark.parametrize(
    ("directory", "project"),
    [
        ("demo", "demo"),
        ("my.proj", "my-proj"),
        ("2024-churn", "churn"),
        ("123", "ml-project"),
        (".", None),
    ],
)
def test_plain_copier_users_get_a_valid_default_from_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, directory: str, project: str | None
) -> None:
    """`copier copy TEMPLATE DIR` without mlplat: the template's default follows DIR."""
    import copier

    cwd = tmp_path / "here"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    copier.run_copy(str(TEMPLATE), directory, defaults=True, quiet=True, unsafe=False)
    assert _answers(cwd / directory)["project_name"] == (project or "here")
