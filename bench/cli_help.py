"""``mlplat --help`` against a bare Typer app's ``--help`` (issue 2: within 1.5x).

Run: python bench/cli_help.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from _timing import Case, compare, report

BARE_APP = '''
import typer
app = typer.Typer()
@app.command()
def new(dest: str) -> None:
    """Create."""
@app.command()
def update() -> None:
    """Update."""
app()
'''


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    mlplat = shutil.which("mlplat") or sys.exit("mlplat is not on PATH: pip install -e .")
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare_typer.py"
        bare.write_text(BARE_APP)
        # mlplat turns Rich markup off (plain help, no colour codes in CI logs); the same bare
        # app with that setting is the like-for-like anchor.
        plain = Path(tmp) / "bare_typer_plain.py"
        plain.write_text(BARE_APP.replace("typer.Typer()", "typer.Typer(rich_markup_mode=None)"))
        times = compare(
            [
                Case("bare Typer app --help", lambda run: [sys.executable, str(bare), "--help"]),
                Case(
                    "bare Typer app, no Rich, --help",
                    lambda run: [sys.executable, str(plain), "--help"],
                ),
                Case("mlplat --help", lambda run: [mlplat, "--help"]),
                Case("python -c pass (interpreter)", lambda run: [sys.executable, "-c", "pass"]),
            ],
            runs=args.runs,
        )
    report("mlplat --help vs a bare Typer app", times, anchor="bare Typer app --help", limit=1.5)


if __name__ == "__main__":
    main()
