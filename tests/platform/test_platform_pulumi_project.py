"""platform/Pulumi.yaml and __main__.py: what `pulumi up` in that folder reads and accepts."""

from __future__ import annotations

import ast
import runpy
from pathlib import Path
from typing import Any

import pulumi
import yaml
from platform_helpers import Run

from mlplat.render._mock import run_mocked

PLATFORM = Path(__file__).resolve().parents[2] / "platform"


def _project() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((PLATFORM / "Pulumi.yaml").read_text(encoding="utf-8"))
    return data


def _declared_keys(project: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Declared config keys by full name (an unnamespaced key belongs to the project)."""
    name = project["name"]
    return {(k if ":" in k else f"{name}:{k}"): v for k, v in project.get("config", {}).items()}


def test_config_keys_follow_pulumis_namespace_rule() -> None:
    """Pulumi refuses a type or default on a key namespaced by anything but the project."""
    project = _project()
    assert project["config"], "the project declares its config keys"
    for key, spec in project["config"].items():
        namespace = key.split(":", 1)[0] if ":" in key else project["name"]
        if namespace != project["name"]:
            assert "type" not in spec and "default" not in spec, key
            assert "value" in spec, f"{key}: a foreign key may only set a value"
        elif "type" in spec:
            # A typed project key without a default is required in every stack.
            assert "default" in spec, f"{key}: give it a default or every stack must set it"


def _keys_read_by_main() -> set[str]:
    """``<namespace>:<key>`` for every ``pulumi.Config(ns).get*("key")`` in __main__.py."""
    tree = ast.parse((PLATFORM / "__main__.py").read_text(encoding="utf-8"))
    namespaces: dict[str, str] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr == "Config"
            and isinstance(node.targets[0], ast.Name)
        ):
            arg = node.value.args[0]
            assert isinstance(arg, ast.Constant), "Config() takes a literal namespace"
            namespaces[node.targets[0].id] = str(arg.value)
    read = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr.startswith(("get", "require"))
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in namespaces
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            read.add(f"{namespaces[node.func.value.id]}:{node.args[0].value}")
    return read


def test_main_reads_exactly_the_declared_keys() -> None:
    declared = set(_declared_keys(_project()))
    assert _keys_read_by_main() == declared


def test_profile_in_the_config_file_wins_over_the_project_defaults(tmp_path: Path) -> None:
    """With no stack value, Pulumi applies Pulumi.yaml's defaults; they must not pick a profile."""
    project = _project()
    config_file = tmp_path / "platform.yaml"
    config_file.write_text("profile: prod\n", encoding="utf-8")
    # What the engine passes the program: each declared default, then the stack's own values.
    values = {k: str(v["default"]) for k, v in _declared_keys(project).items() if "default" in v}
    values[f"{project['name']}:config_file"] = str(config_file)

    def program() -> None:
        pulumi.runtime.set_all_config(values)
        try:
            runpy.run_path(str(PLATFORM / "__main__.py"), run_name="__main__")
        finally:
            pulumi.runtime.set_all_config({})

    result = Run(*run_mocked(program, project=project["name"]))
    cluster = result.one(":Cluster", "database-cluster")
    assert cluster.inputs["spec"]["instances"] == 3.0, "the file's prod profile was overridden"
