"""Server fixtures over a synthetic project built in the session: no Copier, nothing downloaded.

A deterministic table that passes the synthetic contract (``synthetic_project.py``), a
scikit-learn pipeline fitted on it (transform + estimator, the shape training logs), the
``LoadedModel`` the server holds after loading it, the same pipeline saved as an MLflow model
directory with the metadata training writes (what ``load_model`` reads), and the in-process
server harness (``serving_harness.py``). MLflow's store and the project root point into the
session's temporary directory, so nothing is written beside the checkout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from serving_harness import Harness
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from synthetic_project import CONTRACT, FEATURES, KEY, TARGET, TEST_MODEL

from mlplat_runtime.profile import build_profile
from mlplat_runtime.rules import Column
from mlplat_runtime.serving.model import LoadedModel
from mlplat_runtime.serving.server import OnlineFactory
from mlplat_runtime.serving.settings import ServeSettings

N_ROWS = 400


def synthetic_table(n_rows: int = N_ROWS) -> pd.DataFrame:
    """Credit-like applications, seeded: the same table in every session, valid by contract."""
    rng = np.random.default_rng(7)
    age = rng.integers(18, 80, size=n_rows)
    income = np.round(np.clip(rng.gamma(2.0, 30.0, size=n_rows), 1.0, 900.0), 2)
    debt = np.round(rng.uniform(0.0, 1.2, size=n_rows), 3)
    late = np.clip(rng.poisson(1.0, size=n_rows), 0, 20)
    signal = 0.04 * (age - 45) + 0.01 * (income - 60) - 2.0 * (debt - 0.6) - 0.5 * (late - 1)
    approved = (signal + rng.normal(scale=0.5, size=n_rows) > 0).astype("int64")
    frame = pd.DataFrame(
        {
            "applicant_id": [f"app-{i:04d}" for i in range(n_rows)],
            "age": age.astype("int64"),
            "income_k": income,
            "debt_ratio": debt,
            "late_payments": late.astype("int64"),
            "approved": approved,
        }
    )
    return CONTRACT.validate_frame(frame)


def fit_pipeline(frame: pd.DataFrame, problem_type: str) -> Pipeline:
    """A small pipeline shaped like the trained one: transform + estimator."""
    X = frame[list(FEATURES)].to_numpy(dtype=np.float64)
    if problem_type == "classification":
        y = frame[TARGET].to_numpy()
        estimator: Any = LogisticRegression(max_iter=500)
    else:  # a continuous target from the same rows: the regression shape of every output
        y = X @ np.array([0.5, 0.2, -30.0, -4.0]) + 100.0
        estimator = Ridge()
    return Pipeline([("features", StandardScaler()), ("model", estimator)]).fit(X, y)


def loaded(fitted: Pipeline, frame: pd.DataFrame, problem_type: str) -> LoadedModel:
    """The fitted pipeline as the server sees it after loading."""
    return LoadedModel(
        name=TEST_MODEL,
        version="7",
        uri="memory:",
        estimator=fitted,
        features=tuple(FEATURES),
        key=KEY,
        problem_type=problem_type,
        check=CONTRACT.check_batch,
        reference_profile=build_profile(frame, FEATURES),
    )


@pytest.fixture(scope="session", autouse=True)
def isolated_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The project root and MLflow's store in the session's temporary directory."""
    root = tmp_path_factory.mktemp("synthetic-project")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("ML_PROJECT_ROOT", str(root))
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        yield root


@pytest.fixture(scope="session")
def sample() -> pd.DataFrame:
    """The synthetic project's data, validated by its contract."""
    return synthetic_table()


@pytest.fixture(scope="session")
def rows(sample: pd.DataFrame) -> np.ndarray:
    """Valid feature rows (float64, contract order)."""
    return sample[list(FEATURES)].to_numpy(dtype=np.float64)[:50]


@pytest.fixture(scope="session")
def row_keys(sample: pd.DataFrame) -> list[Any]:
    """Keys of `rows`."""
    return list(sample[KEY].tolist()[:50])


@pytest.fixture(scope="session")
def fitted(sample: pd.DataFrame) -> Pipeline:
    """The classifier pipeline (predict and predict_proba)."""
    return fit_pipeline(sample, "classification")


@pytest.fixture(scope="session")
def model(fitted: Pipeline, sample: pd.DataFrame) -> LoadedModel:
    """The classifier as the server sees it after loading."""
    return loaded(fitted, sample, "classification")


@pytest.fixture(scope="session", params=["classification", "regression"])
def any_model(request: pytest.FixtureRequest, sample: pd.DataFrame) -> LoadedModel:
    """The model of each problem type (for the wire-format tests whose outputs differ)."""
    return loaded(fit_pipeline(sample, request.param), sample, request.param)


@pytest.fixture(scope="session")
def model_dir(
    fitted: Pipeline, sample: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The fitted pipeline saved as an MLflow model with the metadata training writes."""
    import mlflow.sklearn

    path = tmp_path_factory.mktemp("mlflow") / "model"
    mlflow.sklearn.save_model(
        fitted,
        str(path),
        serialization_format="skops",  # the format training logs with
        metadata={
            "features": list(FEATURES),
            "problem_type": "classification",
            "reference_profile": build_profile(sample, FEATURES),
            "contract": CONTRACT.as_dict(),
        },
    )
    return path


@pytest.fixture
def bounded_feature() -> Column:
    """A feature with a maximum in the contract, for the tests that send a value beyond it."""
    return next(c for c in CONTRACT.columns if c.role == "feature" and c.maximum is not None)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    """Factory: start_server(loader, **setting overrides) -> a running Harness."""
    started: list[Harness] = []
    base = ServeSettings(
        port=0, log_dir=tmp_path / "predictions", log_sample_rate=1.0, drain_timeout_s=5.0
    )

    def start(
        loader: Callable[[], LoadedModel],
        *,
        ready: bool = True,
        online: OnlineFactory | None = None,
        **overrides: Any,
    ) -> Harness:
        harness = Harness(loader, replace(base, **overrides), online)
        started.append(harness)
        if ready:
            harness.wait_ready()
        return harness

    yield start
    for harness in started:
        harness.stop()


@pytest.fixture
def server(start_server: Callable[..., Harness], model: LoadedModel) -> Harness:
    """A ready server with the test model."""
    return start_server(lambda: model)
