"""Markdown pieces of a project's model card that do not depend on the project.

Why here: a project's ``modelcard.py`` keeps what its owner words (intended use, sections); the
mechanics of tables, wide column lists and the recorded gates are the same in every project.
"""

from __future__ import annotations

__all__ = ["MAX_ROWS", "columns_section", "extra_gates", "table"]

from typing import Any

MAX_ROWS = 30  # longer column lists are summarised


def table(rows: list[list[str]], header: list[str]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def columns_section(columns: dict[str, str]) -> str:
    """The column table, or for wide data a count per dtype and the first ten columns."""
    rows = [[name, dtype] for name, dtype in columns.items()]
    if len(rows) <= MAX_ROWS:
        return table(rows, ["column", "dtype"])
    counts: dict[str, int] = {}
    for dtype in columns.values():
        counts[dtype] = counts.get(dtype, 0) + 1
    by_type = ", ".join(f"{n} {dtype}" for dtype, n in sorted(counts.items()))
    first = ", ".join(list(columns)[:10])
    return f"{len(rows)} columns ({by_type}); the first ten: {first}, ... (all in `contract.py`)"


def extra_gates(evaluation: dict[str, Any]) -> str:
    """The baseline comparison and the tuned decision threshold, when the run recorded them."""
    lines = []
    baseline = evaluation.get("baseline")
    if baseline:
        lines.append(f"- baseline: {baseline['reason']}")
    threshold = evaluation.get("threshold")
    if threshold is not None:
        lines.append(
            f"- decision threshold: {threshold['value']:.4f}, chosen for "
            f"{threshold['objective']} on validation folds of the training split"
        )
    return "\n".join(lines)
