"""The bundled template's questions, listed by ``mlplat new --help``.

Read from the template's ``copier.yml`` with PyYAML, only when that help is shown: Copier is
not imported (it costs more than the help itself), and ``mlplat --help`` reads nothing. A
default that is a Jinja expression is described, not evaluated ("from DEST" for the project
name, "computed" otherwise): evaluating it needs Copier and the other answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typer.core import TyperCommand

if TYPE_CHECKING:  # Typer 0.29 vendors Click; its command's hooks take Typer's Click types
    from typer._click import Context, HelpFormatter

__all__ = ["NewCommand", "Question", "question_rows", "template_questions"]


@dataclass(frozen=True, kw_only=True)
class Question:
    """One question of a template, as ``--data NAME=VALUE`` answers it.

    Attributes:
        name: The answer's key.
        help: The question's first sentence.
        default: The default as shown ("3.11", "from DEST", "computed"), or ``None``.
        choices: The values it accepts, when it lists them.
    """

    name: str
    help: str
    default: str | None
    choices: tuple[str, ...] = ()


def template_questions(template_dir: Path) -> list[Question]:
    """The questions ``template_dir/copier.yml`` asks, in order (settings and hidden ones out).

    Raises:
        OSError: The file cannot be read.
        ValueError: It is not a YAML mapping.
    """
    import yaml

    path = template_dir / "copier.yml"
    if not path.is_file():
        path = template_dir / "copier.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise ValueError(f"{path} is not a mapping of questions")
    questions = []
    for name, spec in data.items():
        if str(name).startswith("_"):
            continue
        spec = spec if isinstance(spec, Mapping) else {"default": spec}
        if spec.get("when") is False:
            continue  # computed, never asked (`when: false`)
        questions.append(
            Question(
                name=str(name),
                help=_first_sentence(str(spec.get("help") or "")),
                default=_default(spec),
                choices=_choices(spec.get("choices")),
            )
        )
    return questions


def question_rows(questions: list[Question]) -> list[tuple[str, str]]:
    """``(name, "help [one of: ...] [default: ...]")`` for click's definition list."""
    rows = []
    for q in questions:
        text = q.help
        if q.choices:
            text += f" [one of: {', '.join(q.choices)}]"
        if q.default is not None:
            text += f" [default: {q.default}]"
        rows.append((q.name, text.strip()))
    return rows


class NewCommand(TyperCommand):
    """``mlplat new``'s command: its help ends with the bundled template's questions."""

    def format_epilog(self, ctx: Context, formatter: HelpFormatter) -> None:
        """Add the questions section after the options (and any epilog)."""
        super().format_epilog(ctx, formatter)
        from mlplat.resources import bundled_template_dir

        title = "Questions of the bundled template (answer with --data NAME=VALUE)"
        try:
            rows = question_rows(template_questions(bundled_template_dir()))
        except Exception as exc:  # help must render even from a broken install
            formatter.write_paragraph()
            formatter.write_text(f"(The bundled template's questions cannot be read: {exc})")
            return
        with formatter.section(title):
            formatter.write_dl(rows)


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    head, dot, _ = flat.partition(". ")
    return head + ("." if dot else "")


def _default(spec: Mapping[str, Any]) -> str | None:
    if "default" not in spec:
        return None
    value = spec["default"]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if "{{" in value or "{%" in value:
            return "from DEST" if "dst_path" in value else "computed"
        return value if value else '""'
    return str(value)


def _choices(raw: Any) -> tuple[str, ...]:
    """Copier's choices: a list of values or ``[label, value]`` pairs, or label -> value."""
    if isinstance(raw, Mapping):
        values = [v.get("value") if isinstance(v, Mapping) else v for v in raw.values()]
    elif isinstance(raw, list):
        values = [v[-1] if isinstance(v, list) and v else v for v in raw]
    else:
        return ()
    return tuple(str(v) for v in values)
