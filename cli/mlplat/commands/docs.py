"""``mlplat docs TOPIC``: reference documentation shipped inside mlplat itself.

A pip user has no checkout, so the references a command's errors point to must come with
the package. Each topic is generated from the code it documents.
"""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(
    help="Print reference documentation that ships with mlplat.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("platform-config")
def platform_config() -> None:
    """Every key of the platform config (`mlplat render --config FILE`), with its defaults.

    The output is a commented YAML file holding the dev defaults: save it as a starting
    point (`mlplat docs platform-config > platform.yaml`). It ends with the environment
    variables `mlplat up` reads secrets from and the chart archives a `chart_mirror` holds.
    """
    from mlplat.platform_config import reference

    typer.echo(reference(), nl=False)
