"""The in-process runner and the command line, over a toy project: order, --resume, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline_toy import PIPELINE, Config, Ctx, project

from mlplat_runtime.errors import PipelineError, StageFailed
from mlplat_runtime.pipeline import cli
from mlplat_runtime.pipeline.graph import describe
from mlplat_runtime.pipeline.runner import first_to_run, run_pipeline


@pytest.fixture
def ctx(tmp_path: Path) -> Ctx:
    (tmp_path / "source.txt").write_text("1\n2\n3\n")
    return Ctx(config=Config(), root=tmp_path)


def _state(ctx: Ctx) -> dict:
    return json.loads((ctx.artifacts_dir / "pipeline_state.json").read_text())


def test_the_stages_run_in_order_and_are_recorded(ctx: Ctx) -> None:
    lines: list[str] = []
    timings = run_pipeline(ctx, PIPELINE, echo=lines.append)
    assert list(timings) == ctx.calls == ["ingest", "double", "total"]
    assert (ctx.artifacts_dir / "t").read_text() == "12"
    assert any(line.startswith("[  double]") and "sum=12" in line for line in lines)
    table = lines[-1].splitlines()
    assert table[1].split() == ["stage", "seconds", "peak", "MB"]
    assert [row.split()[0] for row in table[2:]] == ["ingest", "double", "total", "total"]
    state = _state(ctx)
    assert {record["status"] for record in state["stages"].values()} == {"ok"}
    # Peak memory is a high-water mark: it never falls from one stage to the next.
    peaks = [state["stages"][name]["peak_mb"] for name in ("ingest", "double", "total")]
    assert peaks == sorted(peaks) and peaks[0] > 0
    assert [float(row.split()[-1]) for row in table[2:-1]] == peaks
    assert first_to_run(ctx, PIPELINE, state) == 3


def test_a_failing_stage_is_named_recorded_and_resumed(ctx: Ctx) -> None:
    ctx.fail = "double"
    with pytest.raises(StageFailed) as caught:
        run_pipeline(ctx, PIPELINE, echo=lambda _: None)
    assert caught.value.stage == "double" and not caught.value.anticipated
    assert "rerun with --resume" in str(caught.value)
    assert _state(ctx)["stages"]["double"]["status"] == "failed"
    assert _state(ctx)["stages"]["double"]["peak_mb"] > 0
    assert first_to_run(ctx, PIPELINE, _state(ctx)) == 1

    ctx.fail, ctx.calls = None, []
    run_pipeline(ctx, PIPELINE, resume=True, echo=lambda _: None)
    assert ctx.calls == ["ingest", "double", "total"]
    ctx.calls = []
    lines: list[str] = []
    run_pipeline(ctx, PIPELINE, resume=True, echo=lines.append)
    assert ctx.calls == ["ingest"]  # ingest always; the rest succeeded on this snapshot
    assert "nothing to resume" in "\n".join(lines)


def test_changed_data_or_config_reruns_what_depends_on_it(ctx: Ctx) -> None:
    run_pipeline(ctx, PIPELINE, echo=lambda _: None)
    (ctx.root / "source.txt").write_text("5\n")
    ctx.calls = []
    lines: list[str] = []
    run_pipeline(ctx, PIPELINE, resume=True, echo=lines.append)
    assert ctx.calls == ["ingest", "double", "total"]
    assert any(line.startswith("the snapshot changed") for line in lines)
    reseeded = Ctx(config=Config(seed=2), root=ctx.root)
    assert first_to_run(reseeded, PIPELINE, _state(ctx)) == 0


def test_only_runs_one_stage_and_refuses_an_unknown_one(ctx: Ctx) -> None:
    assert list(run_pipeline(ctx, PIPELINE, only="ingest", echo=lambda _: None)) == ["ingest"]
    with pytest.raises(PipelineError, match="unknown stage 'trian': choose one of ingest"):
        run_pipeline(ctx, PIPELINE, only="trian")


def test_describe_names_paths_and_producers() -> None:
    (ingest, double, total) = describe(PIPELINE, Config())
    assert ingest["writes"] == {"data.snapshot_dir": "data/snapshots"}
    assert double["inputs"] == {"snapshot": "ingest/snapshot.json"} and double["after"] == [
        "ingest"
    ]
    assert total["after"] == ["double"]


def test_the_command_line_runs_and_describes(ctx: Ctx, capsys: pytest.CaptureFixture[str]) -> None:
    toy = project(ctx.root)
    assert cli.main(toy, ["--describe"]) == 0
    assert [s["name"] for s in json.loads(capsys.readouterr().out)] == ["ingest", "double", "total"]
    assert cli.main(toy, ["--stage", "ingest"]) == 0
    assert (ctx.artifacts_dir / "ingest/snapshot.json").is_file()


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--config", "bad"], 2, "error: bad: seed must be an integer\n"),
        (["--stage", "double"], 1, "input missing"),
        (["--runner", "argo"], 2, "--runner argo needs --out DIR"),
        (["--runner", "argo", "--resume", "--out", "x"], 2, "--resume run stages in this process"),
        (["--submit"], 2, "--submit need --runner argo"),
    ],
)
def test_errors_are_one_message_and_an_exit_code(
    ctx: Ctx, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    try:
        assert cli.main(project(ctx.root), argv) == code
    except SystemExit as usage:  # argparse's own usage errors
        assert usage.code == code
    err = capsys.readouterr().err
    if message == "input missing":  # the stage's own error, not anticipated: the generic hint
        assert "stage 'double' failed: FileNotFoundError" in err and "--verbose" in err
    else:
        assert message in err
    assert "Traceback" not in err
