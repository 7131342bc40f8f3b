"""The HTML reports as a person sees them: opened from disk in headless Chromium.

Each page is loaded from a file:// URL with a probe script appended to a copy (the pages carry no
script of their own) that records, after the load event, how many images the page has, how many
failed to decode (``naturalWidth == 0``) and any script error; ``--dump-dom`` prints the DOM with
those marks. A screenshot of the page must not be blank. Skips without Chromium locally and fails
in CI (``CI=true``), like the other tool-backed tests.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from mlplat_runtime.evaluation import (
    MonitorSettings,
    PredictionRecord,
    Reference,
    assess,
    decide,
    records_frame,
    render_model_card,
    write_reports,
)
from mlplat_runtime.profile import build_profile
from tests.tools.browser import distinct_colours, open_in_browser


def monitoring_report(directory: Path) -> Path:
    rng = np.random.default_rng(1)
    start = datetime(2027, 3, 1, tzinfo=UTC).timestamp()
    n = 1200
    x, group = rng.normal(size=n), rng.integers(0, 2, n).astype(float)
    score = 1 / (1 + np.exp(-2 * x))
    records = records_frame(
        PredictionRecord(
            request_id=None, key=str(i), model_name="m", model_version="2" if i % 3 else "1",
            time=start + i * 600.0, features={"x": float(x[i] + i / n), "group": float(group[i])},
            prediction=int(score[i] > 0.5), proba=(float(1 - score[i]), float(score[i])),
        )
        for i in range(n)
    )  # fmt: skip
    truth = (x + rng.normal(scale=0.5, size=n) > 0).astype(int)
    import pandas as pd

    labels = pd.DataFrame(
        {
            "key": [str(i) for i in range(n)],
            "label": truth,
            "decided_at": pd.to_datetime(start + np.arange(n) * 600.0 + 86_400, unit="s", utc=True),
        }
    )
    settings = MonitorSettings(window_hours=24, min_labels=30, resamples=100)
    report = assess(
        records, labels, problem_type="classification", settings=settings,
        sensitive_columns=("group",),
        reference_profile=build_profile(pd.DataFrame({"x": rng.normal(size=500)}), ["x"]),
    )  # fmt: skip
    report["decision"] = decide(report, settings, {"2": Reference(value=0.9)}).as_dict()
    return write_reports(report, directory)[1]


def model_card(directory: Path) -> Path:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    score = np.clip(y * 0.5 + rng.random(400) * 0.6, 0, 1)
    html = render_model_card(
        title="diabetes-model version 4",
        problem_type="classification",
        y_true=y,
        y_pred=(score > 0.5).astype(int),
        scores=score,
        slices={"sex": rng.choice(["F", "M"], 400).tolist()},
        provenance={"source": "data/sample.csv", "content_hash": "ab" * 32, "rows": 400},
        contract={"columns": [{"name": "age", "dtype": "int", "role": "feature", "minimum": 0}]},
    )
    path = directory / "model_card.html"
    path.write_text(html)
    return path


@pytest.mark.parametrize("build", [monitoring_report, model_card])
def test_the_page_renders_its_plots_in_chromium(build: object, tmp_path: Path) -> None:
    page = build(tmp_path)  # type: ignore[operator]
    marks, shot = open_in_browser(page, tmp_path)
    images = int(re.search(r"images=(\d+)", marks).group(1))  # type: ignore[union-attr]
    assert images >= 3
    assert marks == f"images={images} broken=0 errors=0"
    assert distinct_colours(shot) > 50  # plots drawn, not a blank or error page


def test_the_probe_sees_a_broken_image(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img alt="x" src="data:image/png;base64,AAAA"></body></html>'
    )
    marks, _ = open_in_browser(page, tmp_path)
    assert marks == "images=1 broken=1 errors=0"
