"""Writing ``contract.py``, and telling a written one from one its owner edited.

``make contract`` writes the file with a fingerprint line: the SHA-256 of every other line. While
the fingerprint matches, the file is as written and may be rewritten; once anyone edits it, the
fingerprint is stale and ``make contract`` refuses to overwrite it without ``FORCE=1``. The
template's shipped contract carries a fingerprint made the same way, so the first ``make
contract`` on a fresh project needs no force.
"""

from __future__ import annotations

__all__ = ["FINGERPRINT_PREFIX", "fingerprint", "is_unedited", "render_contract"]

import hashlib
import json
import math
from collections.abc import Sequence
from typing import Any

from .rules import Column

FINGERPRINT_PREFIX = "# contract-fingerprint: sha256:"
_LINE = 100  # ruff's line length in pyproject.toml: the written file passes `make lint`


def _body_lines(text: str) -> list[str]:
    lines = text.replace("\r\n", "\n").splitlines(keepends=True)
    return [line for line in lines if not line.startswith(FINGERPRINT_PREFIX)]


def fingerprint(text: str) -> str:
    """SHA-256 of ``text`` without its fingerprint line (line endings normalised)."""
    return hashlib.sha256("".join(_body_lines(text)).encode("utf-8")).hexdigest()


def is_unedited(text: str) -> bool:
    """Whether ``text`` still carries the fingerprint of its own content (nobody edited it)."""
    for line in text.splitlines():
        if line.startswith(FINGERPRINT_PREFIX):
            recorded = line.removeprefix(FINGERPRINT_PREFIX).split()[0]
            return recorded == fingerprint(text)
    return False


def _literal(value: Any) -> str:
    """A Python literal as ``ruff format`` writes it (double-quoted strings)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write the non-finite number {value} into contract.py")
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, tuple):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    raise TypeError(f"no literal for {type(value).__name__}")


def _arguments(column: Column) -> list[tuple[str, Any]]:
    args: list[tuple[str, Any]] = [
        ("name", column.name),
        ("dtype", column.dtype),
        ("role", column.role),
    ]
    for field in ("minimum", "maximum", "allowed", "max_categories", "date_parts"):
        if (value := getattr(column, field)) is not None:
            args.append((field, value))
    for field in ("nullable", "unique"):
        if getattr(column, field):
            args.append((field, True))
    return args


def _column_source(column: Column) -> list[str]:
    """``Column(...)`` as ruff formats it: one line if it fits, else one argument per line."""
    args = _arguments(column)
    one_line = "    Column(" + ", ".join(f"{k}={_literal(v)}" for k, v in args) + "),"
    if len(one_line) <= _LINE:
        return [one_line]
    lines = ["    Column("]
    for key, value in args:
        line = f"        {key}={_literal(value)},"
        if len(line) > _LINE and isinstance(value, tuple):
            lines.append(f"        {key}=(")
            lines += [f"            {_literal(v)}," for v in value]
            lines.append("        ),")
        else:
            lines.append(line)
    lines.append("    ),")
    return lines


def _comment(text: str, indent: str = "#   ") -> list[str]:
    """``text`` as comment lines no longer than the line limit."""
    words, lines, line = text.split(), [], indent.rstrip()
    for word in words:
        if len(line) + 1 + len(word) > _LINE and line.strip("# "):
            lines.append(line)
            line = indent.rstrip()
        line = f"{line} {word}" if line.strip("# ") else f"{indent}{word}"
    lines.append(line)
    return lines


def render_contract(columns: Sequence[Column], *, source: str, left_out: Sequence[str] = ()) -> str:
    """The text of ``contract.py`` declaring ``columns``, with its fingerprint.

    Args:
        columns: The declaration, in order.
        source: Where the columns were inferred from (named in the docstring).
        left_out: One line per column of the data kept out of the contract, and why.
    """
    lines = [
        '"""The data contract: the rules for every column, written by `make contract`.',
        "",
        *[line.removeprefix("# ") for line in _comment(f"Inferred from {source}.", "# ")],
        "",
        "Review and edit it freely: it is yours. ``make contract`` rewrites it only while nobody",
        "has edited it (the fingerprint below still matches), or with ``FORCE=1``.",
        "``mlplat_runtime.rules`` runs the declaration on training data (``validate_frame``) and",
        "on serving batches (``check_batch``); distribution checks against the reference profile",
        "are in ``mlplat_runtime.profile``.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "__all__ = [",
        *[
            f'    "{name}",'
            for name in (
                "COLUMNS",
                "CONTRACT",
                "FEATURES",
                "KEY",
                "TARGET",
                "Column",
                "as_dict",
                "check_batch",
                "validate_frame",
            )
        ],
        "]",
        "",
        "from mlplat_runtime.rules import Column, Contract",
        "",
    ]
    if left_out:
        lines.append("# Columns of the data kept out of the contract (dropped by validation):")
        for entry in left_out:
            lines += _comment(entry, "#   - ")
    lines.append("COLUMNS: tuple[Column, ...] = (")
    for column in columns:
        lines += _column_source(column)
    lines += [
        ")",
        "",
        "CONTRACT = Contract(COLUMNS)",
        "FEATURES: tuple[str, ...] = CONTRACT.features",
        "KEY: str | None = CONTRACT.key",
        "TARGET: str = CONTRACT.target",
        "as_dict = CONTRACT.as_dict",
        "check_batch = CONTRACT.check_batch",
        "validate_frame = CONTRACT.validate_frame",
        "",
    ]
    text = "\n".join(lines)
    return text.replace(
        '"""\n\nfrom __future__',
        f'"""\n\n{FINGERPRINT_PREFIX}{fingerprint(text)}\nfrom __future__',
        1,
    )
