"""The chart mirror: every chart from a directory of archives, each checked against its pin."""

from __future__ import annotations

import io
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from platform_helpers import Run

from mlplat_platform import ConfigError, build_platform, load_config, load_config_file, versions
from mlplat_platform.charts import ChartSource, check_archive, read_chart_metadata

Runner = Callable[[Callable[[], Any]], Run]
_EXPOSED = {"domain": "ml.example.com", "components": {"feature_store": True}}


def _archive(path: Path, chart_yaml: str, top: str = "cert-manager") -> Path:
    """A chart archive holding only ``<top>/Chart.yaml`` (and a subchart's, to be ignored)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, text in (
            (f"{top}/charts/crds/Chart.yaml", "name: crds\nversion: 0.0.0\n"),
            (f"{top}/Chart.yaml", chart_yaml),
        ):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_every_pinned_chart_is_in_the_shared_mirror(chart_mirror: Path) -> None:
    for pin in versions.ALL_CHARTS:
        check_archive(chart_mirror / pin.archive, pin)  # raises on a wrong archive
        meta = read_chart_metadata(chart_mirror / pin.archive)
        assert meta["appVersion"] in (pin.app_version, "v4.0.6"), pin.name  # argo: images.tag


def test_the_program_installs_every_chart_from_the_mirror(run: Runner, chart_mirror: Path) -> None:
    cfg = load_config({**_EXPOSED, "chart_mirror": str(chart_mirror)})
    result = run(lambda: build_platform(cfg))
    charts = {r.inputs["name"]: r.inputs for r in result.of_type(":Chart")}
    assert set(charts) == {p.name for p in versions.ALL_CHARTS}
    for pin in versions.ALL_CHARTS:
        inputs = charts[pin.name]
        assert inputs["chart"] == str(chart_mirror.resolve() / pin.archive)
        assert inputs["version"] == pin.version
        assert "repositoryOpts" not in inputs, "a mirror needs no repository"


def test_without_a_mirror_charts_come_from_upstream(run: Runner) -> None:
    result = run(lambda: build_platform(load_config(_EXPOSED)))
    charts = {r.inputs["name"]: r.inputs for r in result.of_type(":Chart")}
    for pin in versions.ALL_CHARTS:
        assert charts[pin.name]["chart"] == pin.chart
        assert charts[pin.name].get("repositoryOpts", {}).get("repo") == pin.repo


def test_a_renamed_archive_is_refused_naming_file_and_expected_archive(
    chart_mirror: Path, tmp_path: Path
) -> None:
    for pin in versions.ALL_CHARTS:
        shutil.copy(chart_mirror / pin.archive, tmp_path / pin.archive)
    # KServe's CRD chart in place of cert-manager's: right file name, wrong chart inside.
    shutil.copy(chart_mirror / versions.KSERVE_CRD.archive, tmp_path / "cert-manager-v1.21.1.tgz")
    cfg = load_config({"chart_mirror": str(tmp_path)})
    with pytest.raises(ConfigError) as caught:
        ChartSource.of(cfg).reference(versions.CERT_MANAGER)
    assert caught.value.key == "chart_mirror"
    problem = caught.value.problem
    assert str(tmp_path / "cert-manager-v1.21.1.tgz") in problem
    assert "kserve-crd v0.20.0" in problem and "cert-manager v1.21.1" in problem


def test_a_tampered_version_is_refused(tmp_path: Path) -> None:
    _archive(tmp_path / "cert-manager-v1.21.1.tgz", "name: cert-manager\nversion: v1.20.0\n")
    with pytest.raises(ConfigError, match=r"holds chart cert-manager v1\.20\.0.*v1\.21\.1"):
        check_archive(tmp_path / "cert-manager-v1.21.1.tgz", versions.CERT_MANAGER)
    # The top-level Chart.yaml is the chart's own; a subchart's is never mistaken for it.
    _archive(tmp_path / "ok.tgz", "name: cert-manager\nversion: v1.21.1\n")
    assert read_chart_metadata(tmp_path / "ok.tgz")["version"] == "v1.21.1"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, r"is missing: the mirror needs cert-manager-v1\.21\.1\.tgz"),
        (b"not a tarball", "is not a chart archive"),
    ],
)
def test_a_missing_or_broken_archive_says_what_is_expected(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    if content is not None:
        (tmp_path / versions.CERT_MANAGER.archive).write_bytes(content)
    with pytest.raises(ConfigError, match=expected) as caught:
        check_archive(tmp_path / versions.CERT_MANAGER.archive, versions.CERT_MANAGER)
    assert str(tmp_path / "cert-manager-v1.21.1.tgz") in caught.value.problem


def test_an_archive_without_chart_yaml_is_refused(tmp_path: Path) -> None:
    _archive(tmp_path / "x.tgz", "name: crds\n", top="a/b")  # only nested Chart.yaml files
    with pytest.raises(ConfigError, match="no <chart>/Chart.yaml"):
        read_chart_metadata(tmp_path / "x.tgz")


def test_the_program_refuses_a_mirror_missing_an_enabled_chart(run: Runner, tmp_path: Path) -> None:
    cfg = load_config({"chart_mirror": str(tmp_path)})
    with pytest.raises(ConfigError, match=r"chart_mirror: .*cert-manager-v1\.21\.1\.tgz"):
        run(lambda: build_platform(cfg))


def test_mirror_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "conf" / "charts").mkdir(parents=True)
    config = tmp_path / "conf" / "platform.yaml"
    config.write_text(yaml.safe_dump({"chart_mirror": "charts"}), encoding="utf-8")
    cfg = load_config_file(config, environ={})
    assert cfg.chart_mirror == str((tmp_path / "conf" / "charts").resolve())


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    (tmp_path / "from-file").mkdir()
    (tmp_path / "from-env").mkdir()
    config = tmp_path / "platform.yaml"
    config.write_text(yaml.safe_dump({"chart_mirror": "from-file"}), encoding="utf-8")
    env = {"MLPLAT_CHART_MIRROR": str(tmp_path / "from-env")}
    assert load_config_file(config, environ=env).chart_mirror == str(tmp_path / "from-env")
    assert load_config_file(None, environ=env).chart_mirror == str(tmp_path / "from-env")
    assert load_config_file(None, environ={}).chart_mirror is None


def test_a_mirror_that_is_no_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a directory") as caught:
        load_config_file(None, environ={"MLPLAT_CHART_MIRROR": str(tmp_path / "nope")})
    assert "MLPLAT_CHART_MIRROR" in caught.value.problem
    with pytest.raises(ConfigError, match="expected a non-empty string"):
        load_config({"chart_mirror": 3})


_CONFIGS = {
    "dev": None,
    "exposed": _EXPOSED,
    "no-gateway": {"domain": "ml.example.com", "components": {"gateway": False}},
    "no-apps": {"components": {"serving": False, "pipelines": False, "registry": False}},
    "external-db": {
        "components": {"database": False},
        "database": {"external": {"host": "pg.example.com"}},
    },
    "minimal": {
        "components": {
            "serving": False,
            "pipelines": False,
            "registry": False,
            "cert_manager": False,
        }
    },
}


@pytest.mark.parametrize("data", list(_CONFIGS.values()), ids=list(_CONFIGS))
def test_charts_for_is_what_the_program_installs(run: Runner, data: Any) -> None:
    import pulumi

    from mlplat_platform import SECRET_NAMES, PlatformSecrets
    from mlplat_platform.charts import charts_for

    cfg = load_config(data)
    secrets = PlatformSecrets(**{n: pulumi.Output.secret("x") for n in SECRET_NAMES})
    result = run(lambda: build_platform(cfg, secrets))
    installed = sorted(r.inputs["name"] for r in result.of_type(":Chart"))
    assert sorted(pin.name for pin in charts_for(cfg)) == installed


def test_a_bad_mirror_fails_before_any_resource_is_registered(
    run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlplat_platform import program

    def no_provider(config: Any) -> Any:
        raise AssertionError("the provider (the first resource) was registered")

    monkeypatch.setattr(program, "_provider", no_provider)
    cfg = load_config({"chart_mirror": str(tmp_path)})
    with pytest.raises(ConfigError, match="chart_mirror"):
        run(lambda: build_platform(cfg))
