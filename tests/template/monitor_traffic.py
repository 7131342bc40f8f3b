"""Production traffic for the monitoring loop's end-to-end test: credit applications whose label
relationship changes half-way in one slice (applicants aged 62 and over stop being approved, a
policy change the model never saw), and the labels the business sends back for them.

Deterministic (a fixed seed), offline, and the same generative story as the project's
``builtin:credit`` sample, so the first half looks like the training data.
"""

from __future__ import annotations

import csv
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["OLD_AGE", "applications", "send", "wait_ready", "write_labels"]

#: The slice whose relationship changes half-way: approvals stop at this age and above.
OLD_AGE = 62


def applications(n: int, *, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` applications in arrival order, each with its eventual label (``approved``)."""
    rng = np.random.default_rng(seed)
    group = rng.choice(np.array(["A", "B"]), size=n, p=[0.6, 0.4])
    age = rng.integers(18, 76, size=n)
    income_k = np.clip(rng.lognormal(np.log(45.0), 0.5, n), 5, 500).round(1)
    debt_ratio = np.clip(rng.beta(2.0, 5.0, n) * 1.2, 0, 1.5).round(3)
    history = np.clip(age - 18 - rng.integers(0, 10, n), 0, 60).astype(float)
    late = np.clip(rng.poisson(0.8, n), 0, 30)
    loan_k = np.clip(rng.lognormal(np.log(15.0), 0.6, n), 1, 200).round(1)
    logit = (
        0.4
        + 1.2 * np.log(income_k / 45.0)
        - 3.0 * (debt_ratio - 0.3)
        + 0.05 * (history - 10.0)
        - 0.6 * late
        - 0.5 * np.log(loan_k / 15.0)
    )
    approved = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    late_half = np.arange(n) >= n // 2
    approved[late_half & (age >= OLD_AGE)] = 0
    return [
        {
            "applicant_id": f"LIVE-{i:06d}",
            "group": str(group[i]),
            "age": int(age[i]),
            "income_k": float(income_k[i]),
            "debt_ratio": float(debt_ratio[i]),
            "credit_history_years": float(history[i]),
            "late_payments": int(late[i]),
            "loan_amount_k": float(loan_k[i]),
            "approved": int(approved[i]),
        }
        for i in range(n)
    ]


def wait_ready(url: str, timeout_s: float = 120.0) -> None:
    """Wait until the server at ``url`` answers ready (it loads the champion first)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the server at {url} was not ready within {timeout_s:g}s")
        time.sleep(0.5)


def send(url: str, rows: list[dict[str, Any]], *, batch: int = 50) -> int:
    """Score ``rows`` on the server at ``url`` (``/invocations``, with their keys); return calls."""
    model_fields = (
        "applicant_id", "age", "income_k", "debt_ratio", "credit_history_years",
        "late_payments", "loan_amount_k",
    )  # fmt: skip
    calls = 0
    for start in range(0, len(rows), batch):
        records = [{k: r[k] for k in model_fields} for r in rows[start : start + batch]]
        body = json.dumps({"dataframe_records": records}).encode()
        request = urllib.request.Request(
            f"{url}/invocations",
            data=body,
            headers={"Content-Type": "application/json", "X-Request-Id": f"req-{start}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        calls += 1
    return calls


def write_labels(path: Path, rows: list[dict[str, Any]], decided_at: str) -> Path:
    """The business's label export: key, label, the sensitive attribute, decision time."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["applicant_id", "approved", "group", "decided_at"])
        for r in rows:
            writer.writerow([r["applicant_id"], r["approved"], r["group"], decided_at])
    return path
