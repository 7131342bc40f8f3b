"""A synthetic project as the server tests see it: its contract and its serving entry.

What a generated project's ``contract.py`` and ``serving.py`` hold, for a small credit-like
table: a key, four bounded numeric features and a binary target. ``python -m synthetic_project``
serves it the way ``python -m <package>.serving`` serves a project (the drain test runs it).
The table, the fitted model and the saved model directory are fixtures in ``conftest.py``.
"""

from __future__ import annotations

import sys

from mlplat_runtime.rules import Column, Contract
from mlplat_runtime.serving.cli import ServingProject, main

COLUMNS: tuple[Column, ...] = (
    Column(name="applicant_id", dtype="str", role="key", unique=True),
    Column(name="age", dtype="int", role="feature", minimum=18, maximum=100),
    Column(name="income_k", dtype="float", role="feature", minimum=0, maximum=1000),
    Column(name="debt_ratio", dtype="float", role="feature", minimum=0, maximum=1.5),
    Column(name="late_payments", dtype="int", role="feature", minimum=0, maximum=50),
    Column(name="approved", dtype="int", role="target", allowed=(0, 1)),
)
CONTRACT = Contract(COLUMNS)
FEATURES: tuple[str, ...] = CONTRACT.features
KEY: str = CONTRACT.key or "key"
TARGET: str = CONTRACT.target
#: The registered model's name (a project reads it from config.toml).
MODEL_NAME = "synthetic-model"
#: The name the in-process servers give their model (OIP routes: /v2/models/test-model/...).
TEST_MODEL = "test-model"
INFER = f"/v2/models/{TEST_MODEL}/infer"

PROJECT = ServingProject(
    prog="python -m synthetic_project",
    contract=CONTRACT,
    model_name=lambda: MODEL_NAME,
)

if __name__ == "__main__":
    sys.exit(main(PROJECT))
