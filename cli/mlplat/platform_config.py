"""The platform config as the CLI sees it: one loader, one error translation, one reference.

``mlplat render`` and ``mlplat up`` both read ``--config FILE --profile NAME`` through
`load_platform_config`, so a file means the same to each, and a bad file fails the same way:
`config_error` is the only place a `ConfigError` becomes the user's `UsageError`.

`reference` prints every key of the config, generated from the config dataclasses (names,
types, per-profile defaults, docstrings), so the documentation shipped in the wheel cannot
drift from what the loader accepts. ``mlplat docs platform-config`` prints it.

Importing this module does not import Pulumi or YAML: `mlplat_platform.config` is light.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.errors import UsageError
from mlplat_platform.config import PROFILES

if TYPE_CHECKING:
    from mlplat_platform import ConfigError, PlatformConfig

__all__ = ["DOCS_COMMAND", "PROFILES", "config_error", "load_platform_config", "reference"]

#: The command that prints the reference; error hints and help texts point to it.
DOCS_COMMAND = "mlplat docs platform-config"


def load_platform_config(path: Path | None, profile: str | None) -> PlatformConfig:
    """Read ``--config FILE`` over the profile's defaults; ``--profile`` wins over the file.

    Raises:
        UsageError: The file cannot be read or parsed, a key or value is invalid, or the
            profile is unknown; the message names the file and the key.
    """
    from mlplat_platform import ConfigError, load_config_file

    try:
        return load_config_file(path, profile=profile)
    except ConfigError as exc:
        raise config_error(exc, profile=profile) from exc


def config_error(exc: ConfigError, *, profile: str | None = None) -> UsageError:
    """Translate a `ConfigError` (from loading or from building the platform) for the user.

    Args:
        exc: The error, with the key at fault and, when known, the file it came from.
        profile: The ``--profile`` flag's value, so a bad profile names the flag.
    """
    hint = f"`{DOCS_COMMAND}` lists every key with its default and what it does."
    if exc.key == "<file>":
        return UsageError(
            f"config file {exc.source} {exc.problem}",
            hint=f"Pass a readable YAML file with --config; `{DOCS_COMMAND}` prints a valid one.",
        )
    if exc.key == "profile" and profile is not None:
        return UsageError(f"--profile {exc.problem}")  # the problem lists the profiles
    where = f" in {exc.source}" if exc.source is not None else ""
    return UsageError(f"invalid platform config{where}: {exc}", hint=hint)


# --- the reference ---------------------------------------------------------------------------

_WIDTH = 32  # column of the per-key comments


def reference() -> str:
    """The platform config reference: a commented YAML file equal to the ``dev`` defaults.

    Every field of every config dataclass appears, with its type, its default (and the
    ``prod`` default where it differs) and its docstring. Optional sections are shown
    commented out. Saved to a file, the output is a valid config (tests prove both).
    """
    from mlplat_platform import config as cfg
    from mlplat_platform.versions import ALL_CHARTS

    dev = cfg.load_config({}, profile="dev")
    prod = cfg.load_config({}, profile="prod")
    lines = [
        "# mlplat platform config: every key, its default and what it does.",
        "# Use it with `mlplat render --config FILE`; unknown keys and bad values are refused",
        "# with the key named; `--profile` overrides the file's profile. This text is itself a",
        "# valid config holding the dev defaults:",
        f"#   {DOCS_COMMAND} > platform.yaml",
        "",
    ]
    docs = _attribute_docs(cfg.PlatformConfig)
    hints = typing.get_type_hints(cfg.PlatformConfig)
    for field in dataclasses.fields(cfg.PlatformConfig):
        hint, doc = hints[field.name], docs.get(field.name, "")
        section = _dataclass_of(hint)
        if section is None:
            lines += [f"# {line}" for line in _wrap(doc)] if doc else []
            value = f"{field.name}: {_yaml(getattr(dev, field.name))}"
            lines.append(_comment(value, _type_name(hint)))
        elif _is_optional(hint):
            key = field.name.removesuffix("_external")
            nested = field.name != key
            lines += _docstring_comment(section)
            lines += [f"# {key}:"] + (["#   external:"] if nested else [])
            indent = "#     " if nested else "#   "
            lines += [_comment(indent + text, note) for text, note in _section_body(section)]
        else:
            lines += _docstring_comment(section)
            lines.append(f"{field.name}:")
            values = (getattr(dev, field.name), getattr(prod, field.name))
            lines += [_comment("  " + text, note) for text, note in _section_body(section, values)]
        lines.append("")
    lines += [
        "# Secrets never go in this file, and only the sections above that name one need it.",
        "# `mlplat up` reads each from its environment variable and keeps it encrypted in the",
        "# stack's config as the Pulumi secret mlplat:<name>; with the Pulumi CLI in platform/,",
        "# set that yourself (`pulumi config set --secret mlplat:<name>`). `mlplat render` uses",
        "# placeholders.",
        *(f"#  - {cfg.secret_env_name(name):<30} mlplat:{name}" for name in cfg.SECRET_NAMES),
        "",
        "# A chart_mirror holds these archives (those of the enabled components suffice):",
        *(f"#  - {pin.archive:<35} {_upstream(pin)}" for pin in ALL_CHARTS),
    ]
    return "\n".join(lines) + "\n"


def _upstream(pin: Any) -> str:
    """Where a pinned chart comes from without a mirror."""
    return pin.chart if pin.repo is None else f"{pin.chart} from {pin.repo}"


def _section_body(cls: type[Any], values: tuple[Any, Any] | None = None) -> list[tuple[str, str]]:
    """``(name: default, type note)`` per field; the prod default is noted where it differs.

    Args:
        cls: The section's dataclass.
        values: The section in the dev and prod defaults; None for an optional section,
            whose fields show their dataclass defaults or ``required``.
    """
    hints = typing.get_type_hints(cls)
    body = []
    for field in dataclasses.fields(cls):
        note = _type_name(hints[field.name])
        if values is not None:
            value = getattr(values[0], field.name)
            other = getattr(values[1], field.name)
            if other != value:
                note += f"; prod: {_yaml(other)}"
        elif field.default is not dataclasses.MISSING:
            value = field.default
        else:
            value, note = f"<{_type_name(hints[field.name])}>", "required"
        body.append((f"{field.name}: {_yaml(value)}", note))
    return body


def _comment(line: str, note: str) -> str:
    return f"{line:<{_WIDTH}} # {note}" if len(line) < _WIDTH else f"{line}  # {note}"


def _docstring_comment(cls: type[Any]) -> list[str]:
    """The class docstring's prose (not its Attributes/Args sections) as comment lines."""
    lines = []
    for paragraph in _docstring(cls).split("\n\n"):
        if paragraph.lstrip().startswith(("Attributes:", "Args:", "Example")):
            break
        lines += [f"# {line}" for line in _wrap(_clean(paragraph))]
    return lines


def _docstring(cls: type[Any]) -> str:
    import inspect

    return inspect.cleandoc(cls.__doc__ or "")


def _attribute_docs(cls: type[Any]) -> dict[str, str]:
    """Parse a Google-style ``Attributes:`` section into ``{name: description}``."""
    docs: dict[str, str] = {}
    current: str | None = None
    inside = False
    for line in _docstring(cls).splitlines():
        if line.strip() == "Attributes:":
            inside = True
            continue
        if not inside:
            continue
        match = re.match(r"^    (\w+): (.*)$", line)
        if match:
            current = match.group(1)
            docs[current] = match.group(2).strip()
        elif line.startswith("        ") and current:
            docs[current] += " " + line.strip()
        elif line.strip():
            break
    return {name: _clean(text) for name, text in docs.items()}


def _clean(text: str) -> str:
    """Docstring markup to plain text: ``None`` is YAML's null; drop reST backticks."""
    text = " ".join(text.split()).replace("``None``", "null")
    return re.sub(r"`{1,2}([^`]+)`{1,2}", r"\1", text)


def _wrap(text: str, width: int = 88) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [""]


def _yaml(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_optional(hint: Any) -> bool:
    return isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)


def _dataclass_of(hint: Any) -> type[Any] | None:
    candidates = typing.get_args(hint) if _is_optional(hint) else (hint,)
    found = [c for c in candidates if dataclasses.is_dataclass(c) and isinstance(c, type)]
    return found[0] if found else None


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) is typing.Literal:
        return " or ".join(str(a) for a in typing.get_args(hint))
    if _is_optional(hint):
        (inner,) = (a for a in typing.get_args(hint) if a is not type(None))
        return f"{_type_name(inner)} or null"
    return {bool: "true or false", int: "integer", str: "string"}.get(hint, str(hint))
