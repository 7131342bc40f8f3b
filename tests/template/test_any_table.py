"""Any tabular dataset: five tables the template never saw, through a generated project (slow).

For each table of ``tables.py``: render the template, write the table into ``data/raw/``, then
``make install``, ``make contract SOURCE=... TARGET=...``, ``make pipeline`` and ``make test``,
as a user following the project's README "Your own data" section would. Each test prints the
table's test-split metrics and gate outcomes (``-s`` shows them) and checks the promotion
decision against what the data supports.

Opt-in: ``MLPLAT_TABLES=all`` runs the five, ``MLPLAT_TABLES=multiclass,fraud`` a subset. The
five generated projects took 15 min 39 s one after another on this 2-core machine (0.6.0, a
warm package cache; the million-row one is the longest), on top of the half hour ``.ci/run``'s
tests take, so without the variable they are skipped and say so. GitHub Actions runs them in
ci.yml's ``tables`` job, one runner per table in parallel (``tests/test_workflows.py`` keeps
that job's list equal to ``TABLES``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.template.tables import TABLES, build
from tests.template.test_template_generated import assert_ok, generate, make

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("make") is None, reason="needs make"),
    pytest.mark.skipif(
        not os.environ.get("MLPLAT_TABLES"),
        reason="five generated projects, about 16 min: set MLPLAT_TABLES=all or a list of names",
    ),
]

_SELECTED = [n for n in os.environ.get("MLPLAT_TABLES", "").split(",") if n and n != "all"]

# Tables whose `make test` is known to fail, with why and the test files allowed to fail; a
# failure anywhere else fails this test, and a listed table whose `make test` passes fails it too
# until its entry is removed. Empty: every table's `make test` passes.
PENDING: dict[str, tuple[str, tuple[str, ...]]] = {}


def summary(project: Path) -> dict[str, Any]:
    """The evaluation's headline numbers and gate outcomes, for the lead's note."""
    report = json.loads((project / "artifacts/evaluate/report.json").read_text())
    registration = json.loads((project / "artifacts/register/registration.json").read_text())
    metrics = {k: round(v, 4) for k, v in report["metrics"].items() if "." not in k}
    baseline = report.get("baseline") or {}
    return {
        "metrics": metrics,
        "baseline": {k: baseline.get(k) for k in ("metric", "model", "baseline", "passed")},
        "threshold": report.get("threshold"),
        "fairness_columns": sorted(report["fairness"]["columns"]),
        "reasons": report["reasons"],
        "promoted": registration["promoted"],
    }


@pytest.mark.parametrize("name", [n for n in TABLES if not _SELECTED or n in _SELECTED])
def test_table_goes_through_contract_pipeline_and_tests(tmp_path: Path, name: str):
    table = TABLES[name]
    project = generate(tmp_path / name / "ml-project", {})
    source = build(table, project / "data" / "raw")
    assert_ok(make(project, "install", timeout=1200))
    args = [f"{k}={v}" for k, v in table.contract_args.items()]
    contract = make(project, "contract", 600, f"SOURCE={source.relative_to(project)}", *args)
    assert_ok(contract)
    pipeline = make(project, "pipeline", timeout=1800)
    assert_ok(pipeline)
    outcome = summary(project)
    print(f"\n[{name}] {json.dumps(outcome, sort_keys=True)}")
    assert outcome["promoted"] is table.champion, outcome["reasons"]
    if outcome["baseline"]["passed"] is False:
        assert not outcome["promoted"], "a model that loses to the baseline was promoted"
    tested = make(project, "test", timeout=1800)
    failed = [
        line.split(" ", 1)[1]
        for line in tested.stdout.splitlines()
        if line.startswith(("FAILED ", "ERROR "))
    ]
    pending = PENDING.get(name)
    if pending and tested.returncode != 0:
        reason, allowed = pending
        outside = [test for test in failed if not test.startswith(allowed)]
        assert not outside and failed, "\n".join(outside) + tested.stdout[-6000:]
        pytest.xfail(f"{reason}: {len(failed)} failed, all in {', '.join(allowed)}")
    assert pending is None, f"make test passes for {name}: remove it from PENDING"
    assert_ok(tested)
