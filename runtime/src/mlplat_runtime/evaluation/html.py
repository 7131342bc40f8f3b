"""Self-contained HTML pages: inline CSS, plots as base64 PNG, no script, no external asset.

Why: a report a person opens from disk, from an MLflow artifact view or from an e-mail must show
the same thing everywhere, with no server and nothing fetched. Plots are drawn by matplotlib's
Agg backend (no display needed) and embedded as ``data:image/png;base64`` images.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1180px;color:#1d2330;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #d6dae2;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #d6dae2;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f1f3f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto;display:block;margin:.6rem 0}
.badge{display:inline-block;padding:.2rem .7rem;border-radius:1rem;font-weight:600;color:#fff}
.ok{background:#2e7d32}.warn{background:#b26a00}.retrain{background:#c62828}
.muted{color:#5b6475;font-size:.9rem}code{background:#f1f3f7;padding:0 .2rem}
"""


def new_figure(width: float = 7.0, height: float = 3.6) -> Figure:
    """A matplotlib figure on the Agg canvas (never a GUI backend, never pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def image(figure: Figure, alt: str) -> str:
    """``figure`` as an ``<img>`` with an embedded PNG."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def escape(value: Any) -> str:
    """Text for HTML."""
    return html.escape(str(value), quote=True)


def number(value: Any, digits: int = 3) -> str:
    """A number for a table cell; ``None``/NaN as a dash."""
    if value is None:
        return "&ndash;"
    if isinstance(value, float):
        if value != value:
            return "&ndash;"
        return f"{value:.{digits}f}"
    return escape(value)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table; numbers right-aligned, text escaped."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            if isinstance(cell, int | float) and not isinstance(cell, bool) or cell is None:
                cells.append(f'<td class="num">{number(cell)}</td>')
            else:
                cells.append(f"<td>{escape(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(title: str, body: str) -> str:
    """A complete HTML document around ``body``."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


__all__ = ["escape", "image", "new_figure", "number", "page", "table"]
