"""A serving entry's command line: every flag reaches the settings; bad flags exit 2 clearly.

The entry is the synthetic project's (``python -m synthetic_project``), built as a generated
project's ``serving.py`` is; what a project's own entry and image pass is tested in the project.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from synthetic_project import MODEL_NAME
from synthetic_project import PROJECT as SERVING

from mlplat_runtime.serving import cli
from mlplat_runtime.serving.settings import ServeSettings


@pytest.fixture
def captured(monkeypatch):
    seen = {}

    def fake_serve(settings, make_loader, make_online=None):
        seen["settings"] = settings
        seen["loader"] = make_loader
        seen["online"] = make_online
        return 0

    monkeypatch.setattr(cli, "serve", fake_serve)
    # The registry check before the workers is tested in test_server_no_champion.py.
    monkeypatch.setattr(cli, "check_servable", lambda uri, **_: None)
    return seen


def test_every_flag_reaches_the_settings(captured, tmp_path):
    argv = [
        "--host",
        "0.0.0.0",
        "--port",
        "9001",
        "--workers",
        "3",
        "--model-uri",
        "models:/m/4",
        "--deadline-ms",
        "250",
        "--max-body-bytes",
        "4096",
        "--max-inflight",
        "64",
        "--max-connections",
        "128",
        "--drain-grace-s",
        "2",
        "--drain-timeout-s",
        "9",
        "--log-dir",
        str(tmp_path),
        "--log-sample-rate",
        "0.5",
        "--no-cpu-affinity",
    ]
    assert cli.main(SERVING, argv) == 0
    s = captured["settings"]
    assert (s.host, s.port, s.workers, s.model_uri) == ("0.0.0.0", 9001, 3, "models:/m/4")
    assert (s.deadline_ms, s.max_body_bytes, s.max_inflight, s.max_connections) == (
        250,
        4096,
        64,
        128,
    )
    assert (s.drain_grace_s, s.drain_timeout_s) == (2, 9)
    assert (s.log_dir, s.log_sample_rate, s.cpu_affinity) == (tmp_path, 0.5, False)


def test_default_uri_is_the_champion_of_the_configured_model(captured):
    assert cli.main(SERVING, []) == 0
    assert captured["settings"].model_uri == f"models:/{MODEL_NAME}@champion"
    assert captured["settings"].log_dir == Path("prediction-logs")


def test_empty_log_dir_disables_the_sink(captured):
    assert cli.main(SERVING, ["--log-dir", ""]) == 0
    assert captured["settings"].log_dir is None


@pytest.mark.parametrize(
    "argv",
    [
        ["--workers", "0"],
        ["--port", "70000"],
        ["--log-sample-rate", "2"],
        ["--deadline-ms", "0"],
        ["--max-body-bytes", "0"],
        ["--max-inflight", "0"],
        ["--max-connections", "-1"],
        ["--drain-timeout-s", "-1"],
    ],
)
def test_bad_flags_exit_2_without_a_traceback(captured, capsys, argv):
    assert cli.main(SERVING, argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err


def test_every_setting_has_its_flag_with_its_default(captured):
    assert cli.main(SERVING, []) == 0
    built = captured["settings"]
    for field in dataclasses.fields(ServeSettings):
        if field.name in ("model_uri", "model_name"):  # resolved against the project config
            continue
        assert getattr(built, field.name) == getattr(ServeSettings(), field.name), field.name
    flags = {a.dest for a in cli._parser(SERVING.prog)._actions}
    assert {f.name for f in dataclasses.fields(ServeSettings)} <= flags


def test_help_is_for_operators(capsys):
    with pytest.raises(SystemExit):
        cli.main(SERVING, ["--help"])
    out = capsys.readouterr().out
    assert "<package>" not in out and "Why" not in out
    assert "--max-inflight" in out and "--drain-grace-s" in out
