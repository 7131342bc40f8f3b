"""The Pulumi resource plugins a deploy loads, and whether this machine has them.

The platform's program uses the ``kubernetes`` and ``random`` providers at exactly the
versions their installed Python packages declare (each wheel's ``pulumi-plugin.json``). The
Pulumi CLI looks for a plugin first on ``PATH`` (``pulumi-resource-<name>``, an "ambient"
plugin, unless ``PULUMI_IGNORE_AMBIENT_PLUGINS`` is set), then in its plugin cache
(``$PULUMI_HOME/plugins/resource-<name>-v<version>/``, ``~/.pulumi`` by default), and
otherwise downloads it, unless ``PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION`` is set, in
which case the deploy fails at the provider (seen on a real ``mlplat up``:
"no resource plugin 'pulumi-resource-kubernetes' found in the workspace at version v4.34.2
or on your $PATH"). Read in pulumi v3.274.0: ``sdk/go/common/workspace/plugins.go``
(``GetPluginPath``, ``PluginSpec.Dir``).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = [
    "PROVIDER_PACKAGES",
    "Plugin",
    "acquisition_disabled",
    "find_plugin",
    "install_hint",
    "required_plugins",
]

#: The Python packages whose providers the platform and the model deployments use.
PROVIDER_PACKAGES = ("pulumi_kubernetes", "pulumi_random")


@dataclass(frozen=True, kw_only=True)
class Plugin:
    """A resource plugin at a version (``kubernetes`` 4.34.2)."""

    name: str
    version: str

    @property
    def executable(self) -> str:
        """Its binary's name (``pulumi-resource-kubernetes``)."""
        return f"pulumi-resource-{self.name}"

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


def required_plugins() -> tuple[Plugin, ...]:
    """The plugins the installed provider packages declare, in `PROVIDER_PACKAGES` order."""
    found: list[Plugin] = []
    for package in PROVIDER_PACKAGES:
        try:
            text = resources.files(package).joinpath("pulumi-plugin.json").read_text("utf-8")
        except (ModuleNotFoundError, FileNotFoundError):
            continue
        data = json.loads(text)
        found.append(Plugin(name=str(data["name"]), version=str(data["version"]).lstrip("v")))
    return tuple(found)


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def acquisition_disabled() -> bool:
    """Whether Pulumi may not download a missing plugin."""
    return _truthy("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION")


def plugin_cache() -> Path:
    """Pulumi's plugin cache: ``$PULUMI_HOME/plugins`` (default ``~/.pulumi/plugins``)."""
    home = os.environ.get("PULUMI_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".pulumi") / "plugins"


def find_plugin(plugin: Plugin) -> Path | None:
    """Where the CLI would load ``plugin`` from: ``PATH`` first, then the plugin cache."""
    if not _truthy("PULUMI_IGNORE_AMBIENT_PLUGINS"):
        ambient = shutil.which(plugin.executable)
        if ambient:
            return Path(ambient)
    # The CLI takes the cached version or any newer one.
    wanted = _version(plugin.version)
    for directory in sorted(plugin_cache().glob(f"resource-{plugin.name}-v*")):
        found = _version(directory.name.removeprefix(f"resource-{plugin.name}-v"))
        binary = directory / plugin.executable
        if found is not None and wanted is not None and found >= wanted and binary.is_file():
            return binary
    return None


def _version(text: str) -> tuple[int, int, int] | None:
    try:
        major, minor, patch = (int(p) for p in text.split("-", 1)[0].split(".")[:3])
    except ValueError:
        return None
    return major, minor, patch


def install_hint(missing: tuple[Plugin, ...] | list[Plugin]) -> str:
    """How to get ``missing`` plugins, for doctor's fix and the deploy error's hint."""
    commands = "; ".join(f"`pulumi plugin install resource {p.name} v{p.version}`" for p in missing)
    if acquisition_disabled():
        return (
            f"{commands} (add `--file BINARY` for one you built), or put "
            f"{', '.join(p.executable for p in missing)} on PATH; "
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION is set, so Pulumi does not download them"
        )
    return f"{commands}, or let `mlplat up` download them (needs internet access)"
