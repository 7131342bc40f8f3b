"""A project's serving entry: which model, which contract, which feature source, nothing else."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from mlplat_runtime.rules import Column, Contract
from mlplat_runtime.serving import cli

CONTRACT = Contract(
    (
        Column(name="id", dtype="str", role="key", unique=True),
        Column(name="x", dtype="float", role="feature", minimum=0, maximum=10),
        Column(name="y", dtype="int", role="target", allowed=(0, 1)),
    )
)


def project(source: cli.FeatureSource | None = None) -> cli.ServingProject:
    return cli.ServingProject(
        prog="python -m demo.serving",
        contract=CONTRACT,
        model_name=lambda: "demo-model",
        feature_source=source,
    )


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def serve(settings: Any, make_loader: Any, make_online: Any = None) -> int:
        seen.update(settings=settings, make_loader=make_loader, make_online=make_online)
        return 0

    monkeypatch.setattr(cli, "serve", serve)
    # Registry-free: the alias check before the workers is tested in serving/.
    monkeypatch.setattr(cli, "check_servable", lambda uri, **_: None)
    return seen


def test_the_champion_of_the_projects_model_is_served(served: dict[str, Any]) -> None:
    assert cli.main(project(), []) == 0
    assert served["settings"].model_uri == "models:/demo-model@champion"
    assert served["make_online"] is None, "no feature source: no lookups"


def fetch(keys: Sequence[Any]) -> dict[str, list[Any]]:
    return {"x": [1.0 for _ in keys]}


def test_a_feature_source_is_opened_in_each_worker(served: dict[str, Any]) -> None:
    calls: list[str] = []

    def source() -> Callable[[], cli.Fetch]:
        calls.append("configured")
        return lambda: fetch

    assert cli.main(project(source), []) == 0
    assert calls == ["configured"], "read once, before any worker starts"
    from mlplat_runtime.serving.resilience import CircuitBreaker

    online = served["make_online"](CircuitBreaker("online_store"))
    try:
        assert online.features == ("x",)
    finally:
        online.close()
    assert cli.main(project(source), ["--no-online-features"]) == 0
    assert served["make_online"] is None


def test_a_broken_feature_source_stops_the_server_with_one_line(
    served: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    def source() -> Callable[[], cli.Fetch]:
        raise ValueError("feature_store.target 'cloud' is not one of: local, platform")

    assert cli.main(project(source), []) == 2
    err = capsys.readouterr().err
    assert err == "error: feature_store.target 'cloud' is not one of: local, platform\n"
    assert served == {}


def test_feature_defaults_must_pass_the_contract(
    served: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    defaults = tmp_path / "defaults.json"
    defaults.write_text('{"x": 99}')
    argv = ["--feature-defaults", str(defaults)]
    assert cli.main(project(lambda: lambda: fetch), argv) == 2
    assert "breaks the contract" in capsys.readouterr().err
