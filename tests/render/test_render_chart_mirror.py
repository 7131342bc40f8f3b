"""`mlplat render` with a chart mirror: charts.yaml says where each chart comes from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mlplat._cli import app
from mlplat.render import RenderOptions, render_platform
from mlplat_platform import versions
from tests.platform.platform_helpers import shared_chart_mirror

runner = CliRunner()


@pytest.fixture
def mirror() -> Path:
    found = shared_chart_mirror()
    if found is None:
        pytest.skip("no chart mirror (../shared/charts); set MLPLAT_TEST_CHART_MIRROR")
    return found


def _charts(out: Path) -> dict[str, dict[str, object]]:
    doc = yaml.safe_load((out / "charts.yaml").read_text(encoding="utf-8"))
    return {entry["name"]: entry for entry in doc["charts"]}


def test_render_installs_from_the_mirror_and_says_so(
    tmp_path: Path, mirror: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPLAT_CHART_MIRROR", str(mirror))
    config = tmp_path / "platform.yaml"
    config.write_text("domain: ml.example.com\n", encoding="utf-8")
    summary = render_platform(RenderOptions(out_dir=tmp_path / "m", config_path=config))
    charts = _charts(tmp_path / "m")
    assert set(charts) == {p.name for p in versions.ALL_CHARTS}
    for pin in versions.ALL_CHARTS:
        entry = charts[pin.name]
        assert entry["source"] == "mirror", pin.name
        assert entry["chart"] == str(mirror.resolve() / pin.archive)
        assert entry["version"] == pin.version and entry["repo"] is None
    # The footprint still finds every chart's pods (by archive name).
    found = {row["chart"] for row in summary.footprint.chart_rows}
    assert found == {pod.chart for pod in versions.CHART_PODS}


def test_render_without_a_mirror_says_upstream(tmp_path: Path) -> None:
    render_platform(RenderOptions(out_dir=tmp_path / "u"))
    for name, entry in _charts(tmp_path / "u").items():
        assert entry["source"] == "upstream", name


def test_render_with_a_wrong_archive_exits_2_naming_the_file(tmp_path: Path, mirror: Path) -> None:
    charts = tmp_path / "charts"
    charts.mkdir()
    for pin in versions.ALL_CHARTS:
        shutil.copy(mirror / pin.archive, charts / pin.archive)
    (charts / versions.ARGO_WORKFLOWS.archive).unlink()
    shutil.copy(mirror / versions.CLOUDNATIVE_PG.archive, charts / "argo-workflows-1.0.18.tgz")
    config = tmp_path / "platform.yaml"
    config.write_text("chart_mirror: charts\n", encoding="utf-8")
    result = runner.invoke(app, ["render", "--out", str(tmp_path / "o"), "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert str(charts / "argo-workflows-1.0.18.tgz") in result.output
    assert "cloudnative-pg 0.29.0" in result.output and "argo-workflows 1.0.18" in result.output
