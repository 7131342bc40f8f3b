"""For real: install generated projects, run their own tests and their pipeline (slow).

Needs network access to the package index for `make install` (uv), like a developer's first
`make install`; the generated project itself never downloads at run time. The project's Argo
manifests are compared with the golden files in ``golden/argo/<combination>``
(``MLPLAT_REGEN_GOLDEN=1`` rewrites them; ``test_template_argo.py`` validates them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "ml-project"
GOLDEN = Path(__file__).parent / "golden" / "argo"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("make") is None, reason="needs make"),
]

COMBINATIONS = {
    "defaults": {},
    "regression-apache": {
        "project_name": "Diabetes Progression",
        "problem_type": "regression",
        "dataset": "diabetes",
        "license": "Apache-2.0",
    },
    # The feature store end to end: Feast's offline source, point-in-time join, materialise.
    # (A project named "feast" would hide the library: the name is set.)
    "feast": {"project_name": "Credit Features", "feature_store": "feast"},
}


def make(project: Path, target: str, timeout: int, *args: str) -> subprocess.CompletedProcess[str]:
    prefixes = ("MLFLOW_", "ML_PROJECT_", "PYTEST_", "ARGO_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        ["make", target, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def git_status(project: Path) -> list[str]:
    result = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, (
        f"{result.args}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )


@pytest.mark.parametrize("name", list(COMBINATIONS))
def test_generated_project_installs_tests_and_trains(tmp_path: Path, name: str):
    project = generate(tmp_path / name, dict(COMBINATIONS[name]))
    assert_ok(make(project, "install", timeout=1200))
    # The first `make install` writes uv.lock, the one file to commit; then it installs as CI does.
    assert git_status(project) == ["?? uv.lock"]
    commit(project, "uv.lock")
    installed = make(project, "install", 600, "LOCKED=1")
    assert_ok(installed)
    assert "--locked" in installed.stdout
    assert_ok(make(project, "lint", timeout=300))
    assert_ok(make(project, "test", timeout=600))
    assert git_status(project) == [], "the tests must not write into the project"

    result = make(project, "pipeline", timeout=300)
    assert_ok(result)
    assert "total" in result.stdout
    # The output is the stage lines: no library's warnings (feast turns DeprecationWarning on
    # process-wide when imported; MLflow's SQLAlchemy notices would then print).
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    registration = json.loads((project / "artifacts/register/registration.json").read_text())
    assert registration["promoted"] is True
    assert "champion" in registration["aliases"]
    assert (project / "artifacts/register/model_card.md").is_file()
    assert list((project / "data/snapshots").glob("*/provenance.json"))
    assert (project / "mlflow.db").is_file()
    # Everything the pipeline writes is git-ignored; the shipped reference profile is compared
    # with the data, never rewritten by a normal run.
    assert git_status(project) == []
    check_argo_golden(project, name, tmp_path / "argo")
    if COMBINATIONS[name].get("feature_store") == "feast":
        check_feature_store(project)


def check_feature_store(project: Path) -> None:
    """The pipeline materialised; `make materialize` continues incrementally; all git-ignored."""
    first = json.loads((project / "artifacts/materialize/materialization.json").read_text())
    assert first["mode"] == "full" and first["target"] == "local"
    result = make(project, "materialize", 300)
    assert_ok(result)
    assert "mode=incremental" in result.stdout
    assert (project / "data/feature_store/online_store.db").is_file()
    provenance = next((project / "data/snapshots").glob("*/provenance.json"))
    feature_store = json.loads(provenance.read_text())["feature_store"]
    assert feature_store["labels_without_features"] == 0
    assert feature_store["offline_source"]["rows"] == 5 * feature_store["labels"]
    assert git_status(project) == []


def own_data_commands(readme: str) -> list[str]:
    """The shell lines of the README's "Your own data" example, without `mlplat new`."""
    section = readme.split("## Your own data", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith("mlplat new")]


def test_own_data_path_from_the_readme_gives_a_champion_and_passing_tests(tmp_path: Path):
    """The newcomer's path on data that is not a sample, run as the README shows it.

    A project with a non-default name; the README's own-data commands, run as pasted (a CSV made
    from scikit-learn's breast cancer set with a key and a sensitive column, `make contract`,
    `make pipeline`); a champion; the project's own lint and tests pass on that data; a second
    `make pipeline` trains nothing and registers no new version.
    """
    project = generate(tmp_path / "tumour-screening", {"project_name": "Tumour Screening"})
    commands = own_data_commands((project / "README.md").read_text())
    assert commands[0] == "make install" and commands[-1] == "make test"
    assert any(c.startswith("make contract SOURCE=data/raw/cancer.csv") for c in commands)
    prefixes = ("MLFLOW_", "ML_PROJECT_", "PYTEST_", "ARGO_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.pop("VIRTUAL_ENV", None)
    outputs = {}
    for command in commands:
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=1200 if command.startswith("make install") else 600,
            check=False,
        )
        assert_ok(result)
        outputs[command.split()[1] if command.startswith("make") else command] = result.stdout

    contract = outputs["contract"]
    assert "problem type: classification ('target' is 0/1" in contract
    assert "key: 'patient_id' (KEY" in contract and "sensitive (fairness gate): site" in contract
    config = (project / "config.toml").read_text()
    assert 'source = "data/raw/cancer.csv"' in config
    assert "INFO" not in outputs["pipeline"]
    registration = json.loads((project / "artifacts/register/registration.json").read_text())
    assert registration["promoted"] is True and registration["version"] == "1"
    assert "champion=moved to v1" in outputs["pipeline"]
    assert (
        "about the template's sample data; this project uses data/raw/cancer.csv"
        in (outputs["test"])
    )
    assert_ok(make(project, "lint", 300))

    again = make(project, "pipeline", 600)
    assert_ok(again)
    assert "training=skipped" in again.stdout
    assert "champion=unchanged: champion v1 already trained on this snapshot" in again.stdout
    registration = json.loads((project / "artifacts/register/registration.json").read_text())
    assert registration["version"] == "1" and registration["new_version"] is False


def generate(project: Path, data: dict[str, str]) -> Path:
    """The template rendered into ``project`` with ``data``, as a git repository's first commit."""
    import copier

    copier.run_copy(str(TEMPLATE), str(project), data=data, defaults=True, unsafe=False, quiet=True)
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    commit(project, "-A")
    return project


def commit(project: Path, path: str) -> None:
    subprocess.run(["git", "add", path], cwd=project, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", path],
        cwd=project,
        check=True,
    )


def check_argo_golden(project: Path, name: str, out: Path) -> None:
    """The project's own Argo runner writes the manifests the golden files hold."""
    package = next(p.name for p in (project / "src").iterdir() if (p / "argo.py").is_file())
    result = subprocess.run(
        [".venv/bin/python", "-m", f"{package}.pipeline", "--runner", "argo", "--out", str(out)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert_ok(result)
    golden = GOLDEN / name
    if os.environ.get("MLPLAT_REGEN_GOLDEN") == "1":
        if os.environ.get("CI") == "true":
            pytest.fail("MLPLAT_REGEN_GOLDEN must not be set in CI")
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(out, golden)
    for manifest in ("workflowtemplate.yaml", "cronworkflow.yaml"):
        expected = golden / manifest
        assert expected.is_file(), f"no golden {expected}: run with MLPLAT_REGEN_GOLDEN=1"
        assert (out / manifest).read_text() == expected.read_text(), (
            f"{manifest} changed: review it, then MLPLAT_REGEN_GOLDEN=1 pytest {__file__}"
        )
