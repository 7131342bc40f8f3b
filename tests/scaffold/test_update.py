"""``mlplat update``: the v1 -> v2 round trip, conflicts, refusals, and bundled upgrades."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mlplat import resources
from mlplat._cli import app
from mlplat.scaffold import source
from mlplat.scaffold.history import record_release
from tests.conftest import ANSWERS_JINJA, SMALL_COPIER_YML, run_git, write_files

runner = CliRunner()

V1 = {
    "copier.yml": SMALL_COPIER_YML,
    "{{_copier_conf.answers_file}}.jinja": ANSWERS_JINJA,
    "README.md.jinja": "# {{ name }}\n\nIntro.\n\nUsage: run it.\n",
    "Makefile": "test:\n\tpytest\n\nlint:\n\truff check .\n",
}
V2_CHANGES = {
    # Changes a line the user also edits: a conflict.
    "README.md.jinja": "# {{ name }}\n\nIntro.\n\nUsage: make run.\n",
    # Changes a line the user does not touch: merges cleanly.
    "Makefile": "test:\n\tpytest -q\n\nlint:\n\truff check .\n",
    "CHANGELOG.md": "v2\n",
}


@pytest.fixture
def tagged_template(tmp_path: Path) -> Path:
    repo = write_files(tmp_path / "tpl", V1)
    run_git(repo, "init", "-q", "-b", "main")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", "v1")
    run_git(repo, "tag", "v1.0.0")
    write_files(repo, V2_CHANGES)
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", "v2")
    run_git(repo, "tag", "v2.0.0")
    return repo


def _generate(template: Path, dest: Path, ref: str = "v1.0.0") -> None:
    result = runner.invoke(app, ["new", str(dest), "-t", str(template), "--vcs-ref", ref])
    assert result.exit_code == 0, result.output


def _commit_edits(dest: Path, edits: dict[str, str]) -> None:
    write_files(dest, edits)
    run_git(dest, "add", "-A")
    run_git(dest, "commit", "-qm", "user edits")


def test_round_trip_keeps_edits_and_reports_conflicts(
    tagged_template: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "proj"
    _generate(tagged_template, dest)
    _commit_edits(
        dest,
        {
            "README.md": "# demo\n\nIntro.\n\nUsage: run it carefully.\n",  # conflicts with v2
            "Makefile": "test:\n\tpytest\n\nlint:\n\truff check src\n",  # survives
        },
    )
    result = runner.invoke(app, ["update", str(dest)])
    assert result.exit_code == 1, result.output
    assert "README.md" in result.output and "Makefile" not in result.output.split("Conflicts")[1]
    readme = (dest / "README.md").read_text()
    assert "<<<<<<< before updating" in readme and "run it carefully" in readme
    assert "make run" in readme
    assert (dest / "Makefile").read_text() == "test:\n\tpytest -q\n\nlint:\n\truff check src\n"
    assert (dest / "CHANGELOG.md").read_text() == "v2\n"
    assert yaml.safe_load((dest / ".copier-answers.yml").read_text())["_commit"] == "v2.0.0"


def test_clean_update_exits_0(tagged_template: Path, tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    _generate(tagged_template, dest)
    result = runner.invoke(app, ["update", str(dest), "--vcs-ref", "v2.0.0"])
    assert result.exit_code == 0, result.output
    assert "Updated" in result.output and "v1.0.0" in result.output
    assert (dest / "CHANGELOG.md").exists()


def test_dirty_tree_is_refused_and_untouched(tagged_template: Path, tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    _generate(tagged_template, dest)
    (dest / "Makefile").write_text("mine\n")
    result = runner.invoke(app, ["update", str(dest)])
    assert result.exit_code == 1
    assert "uncommitted changes" in result.output and "Traceback" not in result.output
    assert (dest / "Makefile").read_text() == "mine\n"
    assert not (dest / "CHANGELOG.md").exists()


def test_not_a_generated_project(tmp_path: Path) -> None:
    result = runner.invoke(app, ["update", str(tmp_path)])
    assert result.exit_code == 2
    assert ".copier-answers.yml" in result.output


def test_unknown_data_key_on_update(tagged_template: Path, tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    _generate(tagged_template, dest)
    result = runner.invoke(app, ["update", str(dest), "--data", "colour=red"])
    assert result.exit_code == 2
    assert "Unknown answer 'colour'" in result.output


# --- the bundled template across mlplat upgrades -------------------------------------------


@pytest.fixture
def bundled_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Two 'releases' of the bundled template: a copy of the real one, and an edit of it."""
    v1 = tmp_path / "bundled-0.1.0"
    shutil.copytree(
        resources.bundled_template_dir(), v1, ignore=shutil.ignore_patterns("__pycache__")
    )
    v2 = tmp_path / "bundled-0.2.0"
    shutil.copytree(v1, v2)
    gitignore = next(p for p in v2.iterdir() if p.name.startswith(".gitignore"))
    gitignore.write_text(gitignore.read_text() + "\n# added in 0.2.0\n*.tmp\n")
    (v2 / "CHANGELOG.md").write_text("0.2.0: ignores *.tmp\n")
    return {"0.1.0": v1, "0.2.0": v2}


def _install_mlplat(
    monkeypatch: pytest.MonkeyPatch, version: str, template: Path, history: Path | None = None
) -> None:
    """Pretend mlplat ``version`` is installed, shipping ``template`` (and ``history``)."""
    monkeypatch.setattr(source, "__version__", version)
    monkeypatch.setattr(source, "bundled_template_dir", lambda: template)
    monkeypatch.setattr(source, "template_history_bundle", lambda: history)


def _project_gitignore(dest: Path) -> Path:
    return dest / ".gitignore"


def test_bundled_update_on_same_machine(
    bundled_versions: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_mlplat(monkeypatch, "0.1.0", bundled_versions["0.1.0"])
    dest = tmp_path / "demo"
    assert runner.invoke(app, ["new", str(dest), "--defaults"]).exit_code == 0
    _commit_edits(dest, {"NOTES.md": "my notes\n"})

    _install_mlplat(monkeypatch, "0.2.0", bundled_versions["0.2.0"])
    result = runner.invoke(app, ["update", str(dest), "--defaults"])
    assert result.exit_code == 0, result.output
    assert "v0.1.0 to v0.2.0" in result.output
    assert "*.tmp" in _project_gitignore(dest).read_text()
    assert (dest / "CHANGELOG.md").exists() and (dest / "NOTES.md").read_text() == "my notes\n"


def test_bundled_update_on_a_teammates_machine(
    bundled_versions: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = tmp_path / "history.bundle"
    record_release(bundled_versions["0.1.0"], "0.1.0", history)
    _install_mlplat(monkeypatch, "0.1.0", bundled_versions["0.1.0"], history)
    dest = tmp_path / "demo"
    assert runner.invoke(app, ["new", str(dest), "--defaults"]).exit_code == 0

    # The teammate: another machine (the generating cache is gone), only mlplat 0.2.0 and
    # its shipped history installed.
    shutil.rmtree(os.environ["MLPLAT_HOME"])
    monkeypatch.setenv("MLPLAT_HOME", str(tmp_path / "teammate-home"))
    record_release(bundled_versions["0.2.0"], "0.2.0", history)
    _install_mlplat(monkeypatch, "0.2.0", bundled_versions["0.2.0"], history)
    result = runner.invoke(app, ["update", str(dest), "--defaults"])
    assert result.exit_code == 0, result.output
    assert "*.tmp" in _project_gitignore(dest).read_text()


def test_bundled_update_without_history_explains(
    bundled_versions: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_mlplat(monkeypatch, "0.1.0", bundled_versions["0.1.0"])
    dest = tmp_path / "demo"
    assert runner.invoke(app, ["new", str(dest), "--defaults"]).exit_code == 0
    monkeypatch.setenv("MLPLAT_HOME", str(tmp_path / "teammate-home"))
    _install_mlplat(monkeypatch, "0.2.0", bundled_versions["0.2.0"])
    result = runner.invoke(app, ["update", str(dest), "--defaults"])
    assert result.exit_code == 1
    assert "v0.1.0" in result.output and "pip install" in result.output
    assert "*.tmp" not in _project_gitignore(dest).read_text()


def test_same_template_content_gives_same_commit_everywhere(
    bundled_versions: dict[str, Path], tmp_path: Path
) -> None:
    from mlplat.scaffold.cache import TemplateCache

    first = TemplateCache.at(tmp_path / "a", "ml-project")
    second = TemplateCache.at(tmp_path / "b", "ml-project")
    assert first.ensure_version(bundled_versions["0.1.0"], "0.1.0") == "v0.1.0"
    assert second.ensure_version(bundled_versions["0.1.0"], "0.1.0") == "v0.1.0"
    assert run_git(first.repo, "rev-parse", "v0.1.0") == run_git(second.repo, "rev-parse", "v0.1.0")
    # Edited content under the same version becomes a post-release, not a silent overwrite.
    assert first.ensure_version(bundled_versions["0.2.0"], "0.1.0") == "v0.1.0.post1"


def test_shipped_history_is_fetched_into_a_fresh_cache(tmp_path: Path) -> None:
    from mlplat.scaffold.cache import TemplateCache
    from mlplat.settings import load_settings

    shipped = resources.template_history_bundle()
    assert shipped is not None, "templates/history/ml-project.bundle is missing"
    released = {
        line.split()[1].removeprefix("refs/tags/")
        for line in run_git(tmp_path, "bundle", "list-heads", str(shipped)).splitlines()
    }
    assert released, "the history bundle holds no released version"
    assert runner.invoke(app, ["new", str(tmp_path / "demo"), "--defaults"]).exit_code == 0
    cache = TemplateCache.at(load_settings().template_cache_dir, "ml-project")
    assert released <= set(cache.tags())


# --- nothing to update, and the messages of refused updates ----------------------------------


def _tree_state(dest: Path) -> tuple[str, str, dict[str, int]]:
    """HEAD, status and every file's mtime: equal before and after means untouched."""
    mtimes = {
        str(p.relative_to(dest)): p.stat().st_mtime_ns
        for p in dest.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(dest).parts
    }
    return run_git(dest, "rev-parse", "HEAD"), run_git(dest, "status", "--porcelain"), mtimes


def test_bundled_project_at_this_version_has_nothing_to_update(tmp_path: Path) -> None:
    dest = tmp_path / "demo"
    assert runner.invoke(app, ["new", str(dest), "--defaults"]).exit_code == 0
    version = yaml.safe_load((dest / ".copier-answers.yml").read_text())["_commit"]
    before = _tree_state(dest)
    result = runner.invoke(app, ["update", str(dest)])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"{dest} is already at {version}; nothing to update.\n"
    assert _tree_state(dest) == before


def test_nothing_to_update_leaves_a_dirty_tree_alone(tagged_template: Path, tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    _generate(tagged_template, dest, ref="v2.0.0")
    (dest / "Makefile").write_text("mine\n")
    before = _tree_state(dest)
    result = runner.invoke(app, ["update", str(dest)])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"{dest} is already at v2.0.0; nothing to update.\n"
    assert _tree_state(dest) == before


def test_new_answers_at_the_same_version_are_applied(tagged_template: Path, tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    _generate(tagged_template, dest, ref="v2.0.0")
    result = runner.invoke(app, ["update", str(dest), "--data", "name=shop"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == f"Applied the new answers to {dest} (template v2.0.0)."
    assert (dest / "README.md").read_text().startswith("# shop\n")


def test_dirty_tree_with_new_answers_is_refused(tagged_template: Path, tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    _generate(tagged_template, dest, ref="v2.0.0")
    (dest / "Makefile").write_text("mine\n")
    result = runner.invoke(app, ["update", str(dest), "--data", "name=shop"])
    assert result.exit_code == 1
    assert "uncommitted changes" in result.stderr
    assert (dest / "README.md").read_text().startswith("# demo\n")


def test_subdirectory_of_a_project_names_its_top(tagged_template: Path, tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    _generate(tagged_template, dest)
    (dest / "src").mkdir()
    result = runner.invoke(app, ["update", str(dest / "src")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: {dest / 'src'} has no .copier-answers.yml, so it is not a project made by "
        "mlplat new.",
        f"The project is {dest}: run `mlplat update {dest}`.",
    ]


def test_broken_answers_file_is_a_usage_error(tagged_template: Path, tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    _generate(tagged_template, dest)
    (dest / ".copier-answers.yml").write_text("_src_path: [unclosed\n")
    result = runner.invoke(app, ["update", str(dest)])
    assert result.exit_code == 2
    assert "is not readable YAML" in result.stderr and "git -C" in result.stderr
    assert "Traceback" not in result.output


def test_project_inside_another_repository(tagged_template: Path, tmp_path: Path) -> None:
    outer = tmp_path / "mono"
    outer.mkdir()
    run_git(outer, "init", "-q")
    dest = outer / "proj"
    _generate(tagged_template, dest)
    shutil.rmtree(dest / ".git")
    result = runner.invoke(app, ["update", str(dest)])
    assert result.exit_code == 2
    assert f"is inside the git repository {outer}, not at its top" in result.stderr


def test_not_a_repository_says_how_to_commit_first(tagged_template: Path, tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    _generate(tagged_template, dest)
    shutil.rmtree(dest / ".git")
    result = runner.invoke(app, ["update", str(dest)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"Error: {dest} is not a git repository; updates need git to merge safely."
    )


@pytest.mark.parametrize("writes", [False, True])
def test_interrupted_update_says_what_changed(
    tagged_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writes: bool
) -> None:
    from mlplat.scaffold import _copier

    dest = tmp_path / "proj"
    _generate(tagged_template, dest)

    def interrupted(request: _copier.RenderRequest, **kwargs: object) -> bool:
        if writes:
            (dest / "CHANGELOG.md").write_text("half\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(_copier, "update_from_template", interrupted)
    result = runner.invoke(app, ["update", str(dest)])
    assert result.exit_code == 130
    first = result.stderr.splitlines()[0]
    if writes:
        assert first == f"Interrupted during the update; {dest} is partly updated."
        assert "git stash -u" in result.stderr
    else:
        assert result.stderr == "Interrupted; nothing was changed.\n"


def test_unknown_ref_of_the_recorded_template(tagged_template: Path, tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    _generate(tagged_template, dest)
    result = runner.invoke(app, ["update", str(dest), "--vcs-ref", "v9"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "Error: The template recorded as _src_path in .copier-answers.yml has no tag, branch "
        "or commit 'v9'."
    )
    assert run_git(dest, "status", "--porcelain") == ""


def test_shipped_history_replaces_a_development_build_tag(
    bundled_versions: dict[str, Path], tmp_path: Path
) -> None:
    """A development build tagged its unreleased template v0.2.0; the released 0.2.0 ships a
    different v0.2.0 in its history. The cache takes the released one instead of failing."""
    from mlplat.scaffold.cache import TemplateCache
    from mlplat.scaffold.history import record_release

    bundle = tmp_path / "history.bundle"
    record_release(bundled_versions["0.2.0"], "0.2.0", bundle)
    cache = TemplateCache.at(tmp_path / "home", "ml-project")
    assert cache.ensure_version(bundled_versions["0.1.0"], "0.2.0") == "v0.2.0"  # the dev build
    assert cache.ensure_version(bundled_versions["0.2.0"], "0.2.0", bundle) == "v0.2.0"
    released = run_git(tmp_path, "bundle", "list-heads", str(bundle)).split()[0]
    assert run_git(cache.repo, "rev-parse", "v0.2.0") == released
