"""toolchain.gomod: the Kubernetes wrapper's replace lines come from upstream's go.mod."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.tools import unavailable
from toolchain import build, gomod

UPSTREAM = """module k8s.io/kubernetes

go 1.25.0

godebug default=go1.25

require (
\tk8s.io/api v0.0.0
\tk8s.io/client-go v0.0.0
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
)
"""


def test_generated_go_mod_maps_staging_to_published_releases() -> None:
    text = gomod.kubernetes_go_mod("v1.35.4", UPSTREAM)
    assert "require k8s.io/kubernetes v1.35.4" in text
    assert "\tk8s.io/api => k8s.io/api v0.35.4" in text
    assert "\tk8s.io/client-go => k8s.io/client-go v0.35.4" in text
    assert "godebug default=go1.25" in text
    assert "\tk8s.io/kubernetes/cmd/kube-apiserver" in text


def test_a_bad_version_is_refused() -> None:
    with pytest.raises(build.ToolchainError, match="not a Kubernetes release version"):
        gomod.kubernetes_go_mod("1.35", UPSTREAM)
    with pytest.raises(build.ToolchainError, match="no staging replace lines"):
        gomod.kubernetes_go_mod("v1.35.4", "module k8s.io/kubernetes\n")


def test_committed_wrapper_replaces_exactly_upstreams_staging_modules() -> None:
    target = build.TARGETS["kubernetes"]
    if not shutil.which("go"):
        unavailable("Go is not installed: the toolchain needs Go 1.26")
    listed = subprocess.run(
        ["go", "mod", "download", "-json", f"k8s.io/kubernetes@{target.version()}"],
        cwd=target.module_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    info = json.loads(listed.stdout or "{}")
    if "GoMod" not in info:
        unavailable(f"k8s.io/kubernetes is not in the module cache: {listed.stderr.strip()}")
    upstream = gomod.staging_modules(Path(info["GoMod"]).read_text())
    wrapper = (target.module_dir / "go.mod").read_text()
    replaced = re.findall(r"^\t(k8s\.io/[\w.-]+) => \1 (v0\.\d+\.\d+)$", wrapper, re.M)
    minor_patch = target.version().removeprefix("v1.")
    assert sorted(module for module, _ in replaced) == sorted(upstream)
    assert {version for _, version in replaced} == {f"v0.{minor_patch}"}
