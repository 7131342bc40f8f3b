"""Answers to a template's questions: parsed from flags and files, checked by name.

Copier silently ignores answers for questions a template does not ask, so a typo such as
``pakage_name=foo`` would quietly fall back to the default. mlplat rejects unknown keys up
front, naming the key and the closest real question.

The project's name defaults to DEST's name (`project_name_from`), so that two projects made
with ``--defaults`` do not share one package and registry name.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Set
from pathlib import Path
from typing import Any

import yaml

from mlplat.errors import UsageError

__all__ = [
    "PROJECT_NAME",
    "check_known",
    "load_answers_file",
    "merge_answers",
    "parse_data",
    "project_name_from",
]

#: The question that names a project (the bundled template's, and Copier's convention).
PROJECT_NAME = "project_name"


def parse_data(pairs: Iterable[str]) -> dict[str, str]:
    """Parse repeated ``--data key=value`` flags into a mapping.

    Raises:
        UsageError: A pair has no ``=`` or an empty key.
    """
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"--data {pair!r} is not of the form key=value.",
                hint="Example: --data package_name=churn",
            )
        parsed[key.strip()] = value
    return parsed


def load_answers_file(path: Path) -> dict[str, Any]:
    """Load answers from a YAML file such as a previous project's ``.copier-answers.yml``.

    Keys starting with ``_`` (Copier's own metadata, e.g. ``_src_path``) are dropped, so an
    answers file from an existing project can seed a new one.

    Raises:
        UsageError: The file is missing, not YAML, or not a mapping.
    """
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--config file {path} does not exist.") from None
    except (OSError, yaml.YAMLError) as error:
        raise UsageError(f"--config file {path} is not readable YAML: {error}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UsageError(f"--config file {path} must hold a mapping of question: answer.")
    return {str(k): v for k, v in loaded.items() if not str(k).startswith("_")}


def merge_answers(from_file: Mapping[str, Any], from_flags: Mapping[str, Any]) -> dict[str, Any]:
    """Combine answers; ``--data`` flags win over the ``--config`` file."""
    return {**from_file, **from_flags}


def check_known(answers: Mapping[str, Any], questions: Set[str]) -> None:
    """Reject answers to questions the template does not ask.

    Raises:
        UsageError: Naming the unknown key and the closest question, if any.
    """
    for key in answers:
        if key in questions:
            continue
        close = difflib.get_close_matches(key, sorted(questions), n=1)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        raise UsageError(
            f"Unknown answer {key!r}: the template has no such question.{suggestion}",
            hint=f"Questions: {', '.join(sorted(questions))}.",
        )


def project_name_from(directory_name: str) -> str:
    """Suggest a project name for a directory: ``my.proj`` gives ``my-proj``.

    Accents are folded to ASCII (``Ünïcode`` gives ``Unicode``) and each run of characters
    other than letters, digits, ``-`` and ``_`` becomes one ``-``. Whether the result is a
    valid name is the template's question to answer (its validator); a name with nothing
    usable left is returned unchanged, so the validator's message names it.
    """
    folded = unicodedata.normalize("NFKD", directory_name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", folded).strip("-_")
    return slug or directory_name
