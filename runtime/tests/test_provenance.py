"""Provenance: the content hash, and the code version (a commit only for a clean tree; untracked
files count; the build's SHA from the environment outside git)."""

from __future__ import annotations

import subprocess

import pytest

from mlplat_runtime.provenance import code_version, content_hash


def git(root, *args):
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    return subprocess.run(command, cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "train.py").write_text("print('v1')\n")
    git(tmp_path, "add", "train.py")
    git(tmp_path, "commit", "-qm", "v1")
    return tmp_path


def test_clean_tree_reports_its_commit(repo):
    sha = git(repo, "rev-parse", "HEAD").strip()
    assert code_version(repo) == {"version": sha, "git_sha": sha, "dirty": False, "source": "git"}


def test_untracked_new_module_makes_the_tree_dirty(repo):
    (repo / "new_module.py").write_text("x = 1\n")
    found = code_version(repo)
    assert found["version"] == "dirty" and found["dirty"] is True


def test_modified_file_makes_the_tree_dirty(repo):
    (repo / "train.py").write_text("print('v2')\n")
    assert code_version(repo)["version"] == "dirty"


def test_outside_git_the_build_sha_from_the_environment_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv("GIT_SHA", raising=False)
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert code_version(tmp_path) == {
        "version": "unknown",
        "git_sha": None,
        "dirty": None,
        "source": None,
    }
    monkeypatch.setenv("GITHUB_SHA", "b" * 40)
    assert code_version(tmp_path)["version"] == "b" * 40
    monkeypatch.setenv("GIT_SHA", "a" * 40)
    assert code_version(tmp_path) == {
        "version": "a" * 40,
        "git_sha": "a" * 40,
        "dirty": None,
        "source": "GIT_SHA",
    }


def test_the_content_hash_is_the_data_not_its_file_or_order_of_writing() -> None:
    import pandas as pd

    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert content_hash(frame) == content_hash(frame.copy())
    assert content_hash(frame) != content_hash(frame.iloc[::-1].reset_index(drop=True))
    assert content_hash(frame) != content_hash(frame.astype({"a": "float64"}))
