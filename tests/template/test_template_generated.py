"""For real: install generated projects, run their own tests and their pipeline (slow).

Needs network access to the package index for `make install` (uv), like a developer's first
`make install`; the generated project itself never downloads at run time. The project's Argo
manifests are compared with the golden files in ``golden/argo/<combination>``
(``MLPLAT_REGEN_GOLDEN=1`` rewrites them; ``test_template_argo.py`` validates them).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

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
    check_runtime_locked_from_wheels(project)
    commit(project, "uv.lock")
    installed = make(project, "install", 600, "LOCKED=1")
    assert_ok(installed)
    assert "--locked" in installed.stdout
    if name == "defaults":
        check_docker_build_steps(project, tmp_path / "docker")
        check_runtime_resolves_from_an_index(project, tmp_path / "index")
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


def runtime_lock_entry(lock_file: Path) -> dict[str, Any]:
    lock = tomllib.loads(lock_file.read_text())
    (entry,) = [p for p in lock["package"] if p["name"] == "mlplat-runtime"]
    return dict(entry)


def check_runtime_locked_from_wheels(project: Path) -> None:
    """uv.lock pins the runtime to the committed wheel by path and hash: no index serves it."""
    (wheel,) = (project / "wheels").glob("mlplat_runtime-*.whl")
    entry = runtime_lock_entry(project / "uv.lock")
    assert entry["source"] == {"path": f"wheels/{wheel.name}"}
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert [w["hash"] for w in entry["wheels"]] == [f"sha256:{digest}"]


def _uv(project: Path) -> str:
    found = shutil.which("uv") or str(project / ".uv" / "bin" / "uv")
    assert Path(found).exists(), "make install put uv on PATH or in .uv/"
    return found


def check_docker_build_steps(project: Path, context: Path) -> None:
    """The build stage of the Dockerfile, step by step, without Docker: every COPY source exists
    in the project and its uv commands succeed in a directory holding only what was copied."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env |= {"UV_PROJECT_ENVIRONMENT": str(context / "venv"), "UV_PYTHON_DOWNLOADS": "never"}
    env["UV_PYTHON"] = str((project / ".venv" / "bin" / "python").resolve())
    workdir = context / "src"
    workdir.mkdir(parents=True)
    ran = 0
    for line in (project / "Dockerfile").read_text().split("\nFROM ")[1].splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (project / source).exists(), f"{line}: {source} is not in the project"
                copy = shutil.copytree if (project / source).is_dir() else shutil.copy2
                copy(project / source, workdir / source)
        elif line.startswith("RUN uv sync"):
            command = [_uv(project), *line.split()[2:]]
            result = subprocess.run(
                command, cwd=workdir, env=env, capture_output=True, text=True, check=False
            )
            assert_ok(result)
            ran += 1
    assert ran == 2
    check = [str(context / "venv" / "bin" / "python"), "-c", "import mlplat_runtime.serving.cli"]
    assert_ok(subprocess.run(check, capture_output=True, text=True, check=False))


def check_runtime_resolves_from_an_index(project: Path, work: Path) -> None:
    """Once released, the same pin resolves from an index: without [tool.uv.sources], the lock
    takes mlplat-runtime, same version and wheel, from a flat index standing in for PyPI."""
    copy = work / "project"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".venv", ".uv", ".git"))
    index = work / "index"
    index.mkdir()
    shutil.move(next((copy / "wheels").glob("*.whl")), index)
    pyproject = copy / "pyproject.toml"
    text = pyproject.read_text()
    table = text[text.index("\n[tool.uv.sources]\n") :].split("\n\n", 1)[0]
    pyproject.write_text(text.replace(table, ""))
    assert "mlplat-runtime = {" not in pyproject.read_text()
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env |= {"UV_PYTHON_DOWNLOADS": "never"}
    env["UV_PYTHON"] = str((project / ".venv" / "bin" / "python").resolve())
    result = subprocess.run(
        [_uv(project), "lock", "--find-links", str(index)],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert_ok(result)
    before = runtime_lock_entry(project / "uv.lock")
    after = runtime_lock_entry(copy / "uv.lock")
    assert after["version"] == before["version"], after
    assert "registry" in after["source"], after  # from the index, not a path in the project
    wheels = [str(w.get("path") or w.get("url") or w.get("filename")) for w in after["wheels"]]
    (wheel,) = (project / "wheels").glob("mlplat_runtime-*.whl")
    assert [Path(w).name for w in wheels] == [wheel.name], after


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
    # The README's request examples are now the user's rows: make test sends them to the model.
    assert "README.md: request examples written from row 1 of the data" in contract
    assert '"columns": ["patient_id", "mean radius"' in (project / "README.md").read_text()
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
    """The template rendered into ``project`` with ``data``, as a git repository's first commit,
    with the runtime wheel `mlplat new` puts in ``wheels/``."""
    import copier

    from mlplat.scaffold.runtime import place_runtime_wheel
    from mlplat.settings import load_settings

    copier.run_copy(str(TEMPLATE), str(project), data=data, defaults=True, unsafe=False, quiet=True)
    assert place_runtime_wheel(project, load_settings()) is not None
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
    for manifest in ("workflowtemplate.yaml", "cronworkflow.yaml", "monitor-cronworkflow.yaml"):
        expected = golden / manifest
        assert expected.is_file(), f"no golden {expected}: run with MLPLAT_REGEN_GOLDEN=1"
        assert (out / manifest).read_text() == expected.read_text(), (
            f"{manifest} changed: review it, then MLPLAT_REGEN_GOLDEN=1 pytest {__file__}"
        )
