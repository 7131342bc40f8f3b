"""The README's request examples, written from the project's own data by ``make contract``.

Why: a project's README shows requests its server answers as pasted, and its tests send them.
Examples written for the sample data stop applying once ``make contract`` gives the project the
user's table, so ``make contract`` rewrites them from that table: its first complete rows, the
key and the features (the server ignores any other column, so a full source row works too).

Only the text between :data:`START` and :data:`END` is replaced; the rest of the README is the
owner's. A README without both markers is left alone and the caller says so.
"""

from __future__ import annotations

import json
import math
import os
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

START = "<!-- mlplat:request-examples -->"
END = "<!-- /mlplat:request-examples -->"
#: Characters that cannot be pasted inside the examples' single-quoted shell strings (or printf).
_UNSAFE = ("'", "\\", "%", "\n", "\r")


@dataclass(frozen=True, kw_only=True)
class Examples:
    """The request-example block and what it was written from.

    Attributes:
        text: The Markdown between the markers (a blank line before and after it).
        rows: The table's row numbers (0-based) the examples show.
    """

    text: str
    rows: tuple[int, ...]


def _plain(value: Any) -> Any:
    """A JSON value for one cell: numbers stay numbers (true/false as 1/0), dates ISO text."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value if isinstance(value, int | float | str) else str(value)


def _pasteable(values: Sequence[Any]) -> bool:
    for value in values:
        if value is None or isinstance(value, float) and math.isnan(value):
            return False
        if isinstance(value, str) and any(c in value for c in _UNSAFE):
            return False
    return True


def _rows(frame: pd.DataFrame, columns: list[str], want: int) -> list[tuple[int, list[Any]]]:
    """The first ``want`` rows whose values are all present and safe to paste."""
    found: list[tuple[int, list[Any]]] = []
    for i, row in enumerate(frame[columns].itertuples(index=False, name=None)):
        values = [_plain(v) for v in row]
        if _pasteable(values):
            found.append((i, values))
            if len(found) == want:
                break
    return found


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _csv_field(value: Any) -> str:
    text = value if isinstance(value, str) else _json(value)
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"') else text


def render_examples(
    frame: pd.DataFrame, *, features: Sequence[str], key: str | None, model_name: str
) -> Examples | None:
    """The request-example block for ``frame``'s first complete rows; None if it has none.

    A V2 tensor example is written when every feature is numeric (one ``[N, F]`` FP64 tensor);
    the ``/invocations`` examples (JSON ``dataframe_split`` and ``text/csv``) carry the key and
    the features by name, whatever their types.
    """
    names = [*([key] if key else []), *features]
    picked = _rows(frame, names, 2)
    if not picked:
        return None
    numeric = all(pd.api.types.is_numeric_dtype(frame[f]) for f in features)
    first = picked[0][1]
    width = len(features)
    base = "localhost:8080"
    lines = ["With `make serve` running (after `make pipeline`), these answer as pasted:", ""]
    lines.append("```bash")
    if numeric:
        lines.append(
            f"curl -s {base}/v2/models/{model_name}   "
            f'# the input: "input-0", FP64, [-1, {width}], its columns'
        )
        data = [v for _, values in picked for v in values[len(names) - width :]]
        body = {
            "id": "req-1",
            "inputs": [
                {
                    "name": "input-0",
                    "datatype": "FP64",
                    "shape": [len(picked), width],
                    "data": data,
                }
            ],
        }
        lines += [
            f"curl -s {base}/v2/models/{model_name}/infer -H 'Content-Type: application/json' \\",
            f"  -d '{_json(body)}'",
        ]
    else:
        lines.append(f"curl -s {base}/v2/models/{model_name}   # the model's inputs and version")
    split = {"dataframe_split": {"columns": names, "data": [first]}}
    lines += [
        f"curl -s {base}/invocations -H 'Content-Type: application/json' \\",
        f"  -d '{_json(split)}'",
    ]
    header = ",".join(_csv_field(n) for n in names)
    row = ",".join(_csv_field(v) for v in first)
    lines.append(
        f"printf '{header}\\n{row}\\n' | curl -s {base}/invocations "
        "-H 'Content-Type: text/csv' --data-binary @-"
    )
    lines.append("```")
    shown = f"row {picked[0][0] + 1}"
    if numeric and len(picked) > 1:
        shown += f" (and row {picked[1][0] + 1})"
    keys = f"; the `{key}` column gives the row keys back" if key else ""
    prose = (
        f"`make contract` wrote these from {shown} of the data. Other columns of a row (the "
        "target, attributes) may be sent too: the server ignores them, as batch scoring does. "
        "The V2 answer has `predict` (and `predict_proba` with the class labels for a "
        f"classifier) and the model version{keys}. `tests/serving/test_readme.py` sends these "
        "exact bodies to a running server."
    )
    lines += ["", textwrap.fill(prose, width=99, break_on_hyphens=False)]
    return Examples(text="\n\n" + "\n".join(lines) + "\n\n", rows=tuple(i for i, _ in picked))


def replace_block(readme: str, block: str) -> str | None:
    """``readme`` with the text between the markers replaced by ``block``; None without them."""
    start = readme.find(START)
    end = readme.find(END)
    if start < 0 or end < start or readme.count(START) != 1 or readme.count(END) != 1:
        return None
    return readme[: start + len(START)] + block + readme[end:]


def update_readme(readme: Path, examples: Examples | None) -> str:
    """Rewrite ``readme``'s request-example block (atomically); one line saying what was done."""
    if examples is None:
        return (
            "README.md: request examples left as they are: no row of the data has every feature "
            "and the key present (and pasteable); write them by hand"
        )
    if not readme.is_file():
        return f"{readme.name} not found: no request examples written"
    text = readme.read_text("utf-8")
    updated = replace_block(text, examples.text)
    if updated is None:
        return (
            f"{readme.name} has no {START} ... {END} block, so its request examples were left "
            "alone and may not fit the new contract: put those two lines around them and rerun"
        )
    if updated != text:
        temporary = readme.with_name(f".{readme.name}.tmp")
        temporary.write_text(updated, "utf-8")
        os.replace(temporary, readme)
    return f"{readme.name}: request examples written from row {examples.rows[0] + 1} of the data"


__all__ = ["END", "START", "Examples", "render_examples", "replace_block", "update_readme"]
