"""bench/tables.py reads what the runner really prints, and edits a project's [train] in place.

The benchmark itself takes minutes (a 1M-row project); these check the two parts of it that
break silently when something else changes: the runner's per-stage table and the config edit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from bench.tables import set_train, stage_table
from mlplat_runtime.pipeline.graph import Pipeline
from mlplat_runtime.pipeline.runner import run_pipeline


class _Config(BaseModel):
    seed: int = 1


@dataclass
class _Ctx:
    root: Path
    config: _Config = field(default_factory=_Config)

    @property
    def artifacts_dir(self) -> Path:
        return self.root / "artifacts"


@dataclass(frozen=True)
class _Stage:
    name: str
    run: Callable[[_Ctx], dict[str, Any]]
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()


def test_the_runner_table_is_read_per_stage(tmp_path: Path) -> None:
    held: list[bytearray] = []

    def train(_ctx: _Ctx) -> dict[str, Any]:
        held.append(bytearray(b"x" * 64 * 2**20))  # resident: every page written
        return {"fitted": True}

    stages = (_Stage("ingest", lambda _ctx: {"rows": 3}), _Stage("train", train))
    printed: list[str] = []
    timings = run_pipeline(
        _Ctx(tmp_path),
        Pipeline(package="toy", stages=stages, artifacts={"snapshot": "snapshot.json"}),
        echo=printed.append,
    )
    table = stage_table("\n".join(["[   train]   0.01s  fitted=True", *printed]))
    assert list(table) == ["ingest", "train", "total"]
    assert table["ingest"][0] == pytest.approx(timings["ingest"], abs=0.006)
    assert table["total"][0] == pytest.approx(sum(timings.values()), abs=0.011)
    # Peak MB is the second number: the 64 MB train allocated shows there, not in ingest's.
    assert table["train"][1] >= table["ingest"][1] + 60


def test_output_without_the_table_stops_the_bench() -> None:
    with pytest.raises(SystemExit, match="no per-stage table"):
        stage_table("[  ingest]   0.20s  rows=3\nerror: stage 'train' failed\n")


_CONFIG = """\
problem_type = "regression"

[train]
# the owner's comment
estimator = "linear"  # "linear" or "gradient_boosting"
params = {alpha = 1.0}
class_weight = "none"
"""


@pytest.mark.parametrize("after", ["", '\n[evaluate]\nprimary_metric = "r2"\n'])
def test_train_is_edited_in_place(tmp_path: Path, after: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(_CONFIG + after)
    train = set_train(config, "gradient_boosting", "{ max_iter = 50 }")
    assert train == {
        "estimator": "gradient_boosting",
        "params": {"max_iter": 50},
        "class_weight": "none",
    }
    text = config.read_text()
    assert "# the owner's comment" in text and '"gradient_boosting"  # "linear" or' in text
    assert text.endswith(after or 'class_weight = "none"\n')


def test_a_config_without_train_is_refused_and_kept(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('problem_type = "regression"\n')
    with pytest.raises(SystemExit, match="no \\[train\\] section"):
        set_train(config, "gradient_boosting", "{}")
    assert config.read_text() == 'problem_type = "regression"\n'
