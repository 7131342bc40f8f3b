"""``mlplat new --help`` lists the bundled template's questions and their defaults."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from mlplat._cli import app
from mlplat.commands._questions import Question, template_questions
from mlplat.resources import bundled_template_dir

runner = CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_new_help_lists_every_question_of_the_bundled_template() -> None:
    result = runner.invoke(app, ["new", "--help"])
    assert result.exit_code == 0, result.output
    help_text = _flat(result.output)
    assert "Questions of the bundled template (answer with --data NAME=VALUE):" in help_text
    data = yaml.safe_load((bundled_template_dir() / "copier.yml").read_text())
    asked = [k for k, v in data.items() if not k.startswith("_") and v.get("when") is not False]
    section = result.output.split("Questions of the bundled template", 1)[1]
    listed = [
        line.split()[0]
        for line in section.splitlines()[1:]
        if line.startswith("  ") and not line.startswith("   ")
    ]
    assert listed == asked
    for name in asked:
        default = data[name].get("default")
        if isinstance(default, str) and default and "{" not in default:
            assert f"[default: {_flat(default)}]" in help_text, name
    assert "mlplat_version" not in section  # `when: false`: computed, never asked
    assert "[default: from DEST]" in help_text  # project_name's Jinja default, described


def test_questions_of_a_template(tmp_path: Path) -> None:
    (tmp_path / "copier.yml").write_text(
        "_min_copier_version: '9'\n"
        "name:\n  type: str\n  help: The name. Long explanation here.\n"
        "  default: '{{ _copier_conf.dst_path | basename }}'\n"
        "size:\n  type: int\n  default: 3\n"
        "flag:\n  type: bool\n  help: A flag\n  default: false\n"
        "kind:\n  help: Which kind\n  choices:\n    Big one: big\n"
        "    Small one:\n      value: small\n      validator: '{% if 0 %}no{% endif %}'\n"
        "  default: \"{{ 'big' if size > 2 else 'small' }}\"\n"
        "pairs:\n  choices: [[Label A, a], [Label B, b]]\n"
        "plain: hello\n"
        "hidden:\n  default: x\n  when: false\n"
    )
    assert template_questions(tmp_path) == [
        Question(name="name", help="The name.", default="from DEST"),
        Question(name="size", help="", default="3"),
        Question(name="flag", help="A flag", default="false"),
        Question(name="kind", help="Which kind", default="computed", choices=("big", "small")),
        Question(name="pairs", help="", default=None, choices=("a", "b")),
        Question(name="plain", help="", default="hello"),
    ]


def test_new_help_imports_neither_copier_nor_pulumi() -> None:
    code = (
        "import sys\nfrom mlplat._cli import app\n"
        "try:\n    app(['new', '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('copier', 'pulumi', 'pulumi_kubernetes', 'rich')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout
    assert "license" in out.stdout
