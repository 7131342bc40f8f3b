"""The generated project's GitHub Actions workflows pass the workflow JSON schema, actionlint and
checkov's github_actions checks, in both CD variants (mlplat from PyPI in a run step, or mlplat's
action pinned by commit), and keep the house rules: every action pinned to a commit SHA that is
its release tag's, minimal permissions, a timeout on every job, no expression in a script."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from mlplat import __version__
from tests.template.conftest import Render
from tests.tools import actionlint_findings, checkov_failures, run_checkov, schema_errors

#: Each action's release commit, read from the action's own repository at the tag
#: (``git rev-parse vX.Y.Z^{commit}`` in a fetched mirror); the template must use exactly these.
PINS = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "astral-sh/setup-uv": ("20cfd1bf945f4377ade1205e4dbc17946fc9a30d", "v10.0.1"),
    "docker/setup-buildx-action": ("37fe631027851001ddb9b187196cc803df7f5f0e", "v4.3.0"),
    "docker/login-action": ("4907a6ddec9925e35a0a9e82d7399ccc52663121", "v4.1.0"),
    "docker/build-push-action": ("53b7df96c91f9c12dcc8a07bcb9ccacbed38856a", "v7.3.0"),
}
MLPLAT_ACTION = "acme/mlplat@0123456789abcdef0123456789abcdef01234567"
USES = re.compile(r"^\s*(?:-\s+)?uses:\s+(\S+)@([0-9a-f]{40})\s+#\s+(v\d+(?:\.\d+)*)\s*$")


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.template.conftest import render_template

    root = tmp_path_factory.mktemp("workflows")
    return {
        "pip": render_template(root / "pip"),
        "action": render_template(root / "action", {"mlplat_action": MLPLAT_ACTION}),
    }


def workflows(project: Path) -> list[Path]:
    return sorted((project / ".github" / "workflows").glob("*.yml"))


def test_the_three_workflows(projects: dict[str, Path]) -> None:
    for project in projects.values():
        assert [p.name for p in workflows(project)] == ["cd.yml", "ci.yml", "retrain.yml"]


@pytest.mark.parametrize("variant", ["pip", "action"])
def test_workflow_schema(projects: dict[str, Path], variant: str) -> None:
    assert schema_errors("vendor.github-workflows", *workflows(projects[variant])) == ""


@pytest.mark.parametrize("variant", ["pip", "action"])
def test_actionlint_is_clean(projects: dict[str, Path], variant: str) -> None:
    findings = actionlint_findings(*workflows(projects[variant]))
    assert findings == [], json.dumps(findings, indent=1)


@pytest.mark.parametrize("variant", ["pip", "action"])
def test_checkov_github_actions_checks_pass(projects: dict[str, Path], variant: str) -> None:
    reports = run_checkov("github_actions", projects[variant] / ".github")
    assert checkov_failures(reports) == []
    assert all(r["summary"]["parsing_errors"] == 0 for r in reports)
    assert sum(r["summary"]["passed"] for r in reports) > 0


@pytest.mark.parametrize("variant", ["pip", "action"])
def test_house_rules(projects: dict[str, Path], variant: str) -> None:
    for path in workflows(projects[variant]):
        text = path.read_text()
        for line in text.splitlines():
            if re.match(r"^\s*(-\s+)?uses:", line):
                match = USES.match(line)
                assert match, f"{path.name}: not pinned to a SHA with a version comment: {line}"
                action, sha, tag = match.groups()
                expected = PINS.get(action, (MLPLAT_ACTION.split("@")[1], f"v{__version__}"))
                assert (sha, tag) == expected, f"{path.name}: {action} is not its tag's commit"
        loaded = yaml.safe_load(text)
        assert "permissions" in loaded, f"{path.name}: top-level permissions must be set"
        assert loaded["permissions"] in ({}, {"contents": "read"}), path.name
        for name, job in loaded["jobs"].items():
            assert "timeout-minutes" in job, f"{path.name}: job {name} has no timeout-minutes"
            for step in job["steps"]:
                assert "${{" not in step.get("run", ""), f"{path.name}: expression in run:"


def test_the_lock_keys_the_cache_and_ci_installs_it_locked(projects: dict[str, Path]) -> None:
    for name in ("ci.yml", "retrain.yml"):
        steps = yaml.safe_load((projects["pip"] / ".github/workflows" / name).read_text())
        steps = next(iter(steps["jobs"].values()))["steps"]
        uv = next(s for s in steps if s.get("uses", "").startswith("astral-sh/setup-uv"))
        assert uv["with"]["cache-dependency-glob"] == "uv.lock"
        assert any(s.get("run") == "make install LOCKED=1" for s in steps)


def test_cd_deploys_with_the_pinned_action_or_pip(projects: dict[str, Path]) -> None:
    action = (projects["action"] / ".github/workflows/cd.yml").read_text()
    assert f"uses: {MLPLAT_ACTION} # v{__version__}" in action and "pip install" not in action
    pip = (projects["pip"] / ".github/workflows/cd.yml").read_text()
    assert f'pip install --quiet "mlplat=={__version__}"' in pip and "acme/mlplat" not in pip


def test_an_unpinned_mlplat_action_is_refused(render: Render) -> None:
    with pytest.raises(ValueError, match="mlplat_action must be OWNER/REPO@<full 40-character"):
        render(mlplat_action="acme/mlplat@v1")


def test_the_default_mlplat_version_is_this_mlplat() -> None:
    copier_yml = yaml.safe_load(
        (Path(__file__).parents[2] / "templates/ml-project/copier.yml").read_text()
    )
    assert copier_yml["mlplat_version"]["default"] == __version__


def test_retrain_yml_schedules_the_retraining_and_the_monitor_as_config_toml(
    projects: dict[str, Path],
) -> None:
    """Two crons, one job each; the monitor runs only with a platform and its secrets."""
    import tomllib

    project = projects["pip"]
    argo = tomllib.loads((project / "config.toml").read_text())["argo"]
    loaded = yaml.safe_load((project / ".github/workflows/retrain.yml").read_text())
    on = loaded[True]  # YAML 1.1 reads the `on:` key as true
    retrain_cron, monitor_cron = (s["cron"] for s in on["schedule"])
    assert [retrain_cron] == argo["schedules"] and [monitor_cron] == argo["monitor_schedules"]
    assert "inputs" not in (on["workflow_dispatch"] or {})
    jobs = loaded["jobs"]
    assert jobs["retrain"]["if"] == (
        f"github.event_name == 'workflow_dispatch' || github.event.schedule == '{retrain_cron}'"
    )
    monitor = jobs["monitor"]
    assert monitor["if"] == f"github.event.schedule == '{monitor_cron}' && vars.ARGO_SERVER != ''"
    (start,) = [s for s in monitor["steps"] if "--submit" in s.get("run", "")]
    assert "--runner argo --submit --monitor --image" in start["run"]
    assert set(start["env"]) == {"ARGO_TOKEN", "ARGO_BASIC_AUTH"}  # the retrain job's secrets
    text = (project / ".github/workflows/retrain.yml").read_text()
    assert set(re.findall(r"secrets\.(\w+)", text)) == {"ARGO_TOKEN", "ARGO_BASIC_AUTH"}
