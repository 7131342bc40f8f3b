"""The continued-evaluation loop of a generated project, end to end (slow).

Generate, train (``make pipeline``), serve the champion with every prediction recorded, send
production traffic whose label relationship changes half-way in one slice (applicants aged 62
and over stop being approved), feed the labels (``make feedback``), and ``make monitor`` must
point at that slice and decide ``retrain``; ``make monitor RETRAIN=1`` trains on the labelled
production rows and the new champion must beat the old one on the recent window. The per-slice
numbers before and after are printed (``pytest -s``) for the release note.

The platform's monitor step runs here too, as its CronWorkflow runs it (``monitor
--training-set --labels DIR``): it writes the same training table and names it, and the
pipeline's ingest, given that name as ``$ML_DATA_SOURCE`` (what the submitted Workflow passes),
snapshots the production rows with their window. At the end the HTML monitoring report and model
card are opened in headless Chromium as a person would: every plot decodes, no script error.

The monitor's windows are one minute wide here (``window_hours`` is a setting), and the second
half of the traffic is sent in the minute after the first, so "the recent window" is the second
half, as it would be a day later with the shipped 24-hour windows.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.template.monitor_traffic import OLD_AGE, applications, send, wait_ready, write_labels
from tests.template.test_template_generated import assert_ok, generate, make
from tests.tools.browser import distinct_colours, open_in_browser

pytestmark = pytest.mark.slow

ROWS = 8000
#: The monitor settings of this test: one-minute windows; accuracy, since a slice whose
#: approvals stopped has one class, where ROC AUC is undefined.
MONITOR = """[monitor]
metric = "accuracy"
window_hours = 0.0167
train_window_hours = 0.0167
min_labels = 50
tolerance = 0.05
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _next_minute(margin_s: float = 1.0) -> None:
    time.sleep(60 - time.time() % 60 + margin_s)


def _configure(project: Path) -> None:
    """This test's monitor settings, and gradient boosting: the new policy is a threshold on
    age, which a linear model cannot draw (the retrained linear model fixes the old slice at
    the cost of the others and stays below ``min_primary``)."""
    config = project / "config.toml"
    text = config.read_text()
    start = text.index("[monitor]")
    end = text.index("\n[", start + 1)
    text = text[:start] + MONITOR + text[end:]
    text = text.replace('estimator = "linear"', 'estimator = "gradient_boosting"')
    text = text.replace("params = { C = 1.0, max_iter = 500 }", "params = {}")
    assert 'estimator = "gradient_boosting"' in text and "params = {}" in text
    config.write_text(text)


def _serve(project: Path, port: int) -> subprocess.Popen[bytes]:
    package = next(p.name for p in (project / "src").iterdir() if (p / "serving.py").is_file())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "ML_PROJECT_"))}
    return subprocess.Popen(
        [".venv/bin/python", "-m", f"{package}.serving", "--port", str(port), "--workers", "1",
         "--log-sample-rate", "1"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _per_slice(project: Path) -> dict[str, Any]:
    """Accuracy and ROC AUC of both versions on the recent window's rows of the retraining
    run's test split (rows version 2 never trained on), overall and per age slice."""
    script = """
import json, sys
import mlflow, pandas as pd
from sklearn import metrics
from mlplat_runtime.slices import groups
from mlplat_runtime.tracking import configure
configure()
window = json.load(open(sys.argv[1]))
rows = pd.read_parquet(window["recent"]["path"])
test_keys = set(pd.read_parquet("artifacts/split/test.parquet")["applicant_id"].astype(str))
rows = rows[rows["applicant_id"].astype(str).isin(test_keys)].reset_index(drop=True)
out = {}
for version in ("1", "2"):
    model = mlflow.sklearn.load_model(f"models:/{sys.argv[2]}/{version}")
    pred = model.predict(rows)
    score = model.predict_proba(rows)[:, 1]
    entry = {"all": {"accuracy": metrics.accuracy_score(rows["approved"], pred),
                     "roc_auc": metrics.roc_auc_score(rows["approved"], score), "n": len(rows)}}
    for name, part in rows.assign(slice=groups(rows["age"]).to_numpy()).groupby("slice"):
        idx = part.index
        entry[f"age={name}"] = {"accuracy": metrics.accuracy_score(part["approved"], pred[idx]),
                                "n": len(part)}
    out[version] = entry
print(json.dumps(out))
"""
    (window,) = (project / "data/production").glob("*/window.json")
    package = next(p.name for p in (project / "src").iterdir() if (p / "serving.py").is_file())
    result = subprocess.run(
        [".venv/bin/python", "-c", script, str(window), package],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert_ok(result)
    numbers: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return numbers


def test_monitor_finds_the_decayed_slice_and_retraining_beats_the_old_champion(tmp_path: Path):
    project = generate(tmp_path / "loop", {})
    assert_ok(make(project, "install", timeout=1200))
    _configure(project)
    assert_ok(make(project, "pipeline", timeout=300))

    traffic = applications(ROWS)
    first, second = traffic[: ROWS // 2], traffic[ROWS // 2 :]
    port = _free_port()
    server = _serve(project, port)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url)
        if time.time() % 60 > 45:  # the first half within one minute
            _next_minute()
        send(url, first)
        _next_minute()
        send(url, second)
    finally:
        server.send_signal(signal.SIGTERM)  # drains and flushes the prediction log
        server.wait(timeout=60)

    labels = write_labels(tmp_path / "labels.csv", traffic, "2030-01-01T00:00:00Z")
    fed = make(project, "feedback", 120, f"SOURCE={labels}")
    assert_ok(fed)
    assert f"{ROWS} labels stored" in fed.stdout
    again = make(project, "feedback", 120, f"SOURCE={labels}")
    assert_ok(again)
    assert "nothing added" in again.stdout

    monitored = make(project, "monitor", 300)
    assert_ok(monitored)
    decision = monitored.stdout.strip().splitlines()[-1]
    assert decision.startswith("decision: retrain:"), monitored.stdout
    # The decayed slice is the oldest quartile of age: its lower edge is near OLD_AGE.
    assert "slice age=[" in decision, decision
    low = float(decision.split("slice age=[", 1)[1].split(",", 1)[0])
    assert OLD_AGE - 5 <= low <= OLD_AGE + 1, decision
    report = json.loads((project / "artifacts/monitor/report.json").read_text())
    assert report["counts"]["predictions"] == ROWS
    assert report["counts"]["labelled"] == ROWS
    assert (project / "artifacts/monitor/report.html").is_file()
    before = report["versions"]["1"]["windows"][-1]
    _platform_monitor_step(project, labels, tmp_path)

    retrained = make(project, "monitor", 600, "RETRAIN=1")
    assert_ok(retrained)
    evaluation = json.loads((project / "artifacts/evaluate/report.json").read_text())
    recent = evaluation["recent_window"]
    registration = json.loads((project / "artifacts/register/registration.json").read_text())
    numbers = _per_slice(project)
    print(f"\nmake monitor: {decision}")
    print("monitor, version 1, newest window (second half):")
    print(f"  overall accuracy {before['quality']['accuracy']}")
    for group, entry in before["slices"]["age"].items():
        print(f"  age={group}: accuracy {entry['quality']['accuracy']['value']:.3f} "
              f"on {entry['labelled']} labels")  # fmt: skip
    print("recent window, test-split rows: version 1 (old champion) -> 2 (retrained):")
    for name in numbers["1"]:
        old, new = numbers["1"][name], numbers["2"][name]
        change = f"{old['accuracy']:.3f} -> {new['accuracy']:.3f}"
        auc = f", roc_auc {old['roc_auc']:.3f} -> {new['roc_auc']:.3f}" if "roc_auc" in old else ""
        print(f"  {name:<16} accuracy {change}{auc} (n={old['n']})")
    print(f"evaluate's recent-window gate: {recent['reason']}")
    print(f"register: {registration}")

    windows = [
        json.loads(p.read_text()).get("production_window")
        for p in (project / "data/snapshots").glob("*/provenance.json")
    ]
    assert [w["rows"] for w in windows if w] == [ROWS // 2], windows
    assert recent["challenger"] > recent["champion"], recent
    assert registration["promoted"] is True and registration["version"] == "2", registration
    assert (project / "artifacts/register/model_card.html").is_file()
    _assert_renders_in_chromium(project, tmp_path)


def _platform_monitor_step(project: Path, labels: Path, tmp_path: Path) -> None:
    """The CronWorkflow's monitor step, then the first stage of the Workflow it submits."""
    package = next(p.name for p in (project / "src").iterdir() if (p / "serving.py").is_file())
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / labels.name).write_bytes(labels.read_bytes())
    argv = [".venv/bin/python", "-m", f"{package}.monitoring", "monitor", "--training-set"]
    step = subprocess.run(
        [*argv, "--labels", str(inbox)], cwd=project, capture_output=True, text=True, check=False
    )
    assert_ok(step)
    assert "nothing added" in step.stdout  # the file make feedback already stored
    assert step.stdout.strip().splitlines()[-1].startswith("decision: retrain:"), step.stdout
    source = (project / "artifacts/monitor/training-source").read_text()
    assert f"wrote the training table {source} (not trained here)" in step.stdout
    assert source.startswith("data/production/") and source.endswith("/labelled.parquet")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "ML_"))}
    ingest = subprocess.run(
        [".venv/bin/python", "-m", f"{package}.pipeline", "--stage", "ingest"],
        cwd=project,
        env={**env, "ML_DATA_SOURCE": source},
        capture_output=True,
        text=True,
        check=False,
    )
    assert_ok(ingest)
    pointer = json.loads((project / "artifacts/ingest/snapshot.json").read_text())
    provenance = json.loads((project / pointer["provenance"]).read_text())
    assert provenance["source"] == source
    assert provenance["production_window"]["rows"] == ROWS // 2


def _assert_renders_in_chromium(project: Path, tmp_path: Path) -> None:
    """The monitoring report and the model card, from disk, as a person opens them."""
    for page in ("artifacts/monitor/report.html", "artifacts/register/model_card.html"):
        copy = tmp_path / "pages" / Path(page).name  # the probe's copy stays out of the project
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes((project / page).read_bytes())
        marks, shot = open_in_browser(copy, tmp_path)
        images = int(marks.split()[0].removeprefix("images="))
        assert images >= 3 and marks == f"images={images} broken=0 errors=0", (page, marks)
        assert distinct_colours(shot) > 50, page  # drawn plots, not a blank or error page
