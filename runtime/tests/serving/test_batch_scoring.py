"""Batch scoring reuses the online predict function: same rows, same answers; bad input is named.

The entry is the synthetic project's (``synthetic_project.PROJECT``), as a project's ``batch.py``
passes its own; a project's tests score its own data with its own model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from synthetic_project import CONTRACT, FEATURES, KEY
from synthetic_project import PROJECT as SERVING

from mlplat_runtime.batch import BatchError, score_file
from mlplat_runtime.batch import main as run_batch
from mlplat_runtime.serving.model import ModelLoadError, load_model
from mlplat_runtime.serving.resilience import CircuitBreaker, RetryPolicy


def main(argv: list[str]) -> int:
    """`python -m synthetic_project.batch ARGS`, in process."""
    return run_batch(SERVING, argv)


def load(uri, features=tuple(FEATURES)):
    return load_model(
        str(uri),
        default_name="test-model",
        features=features,
        key=KEY,
        check=CONTRACT.check_batch,
        breaker=CircuitBreaker("registry"),
        policy=RetryPolicy(attempts=1),
    )


@pytest.fixture
def scored_input(sample, tmp_path):
    frame = sample.head(40).copy()
    path = tmp_path / "rows.parquet"
    frame.to_parquet(path)
    return frame, path


def test_batch_scores_equal_online_predictions(model_dir, scored_input, start_server, tmp_path):
    frame, source = scored_input
    model = load(model_dir)
    assert score_file(model, source, tmp_path / "out.parquet", chunk_rows=16) == len(frame)
    batch = pd.read_parquet(tmp_path / "out.parquet")
    assert batch[KEY].tolist() == frame[KEY].tolist()
    assert set(batch["model_version"]) == {model.version}

    server = start_server(lambda: model)
    online, keys = [], []
    for start in range(0, len(frame), 7):  # online, in requests of a few rows each
        part = frame.iloc[start : start + 7]
        records = part[[KEY, *FEATURES]].to_dict(orient="records")
        resp = server.request("POST", "/invocations", {"dataframe_records": records})
        assert resp.status == 200, resp.json
        online += resp.json["predictions"]
        keys += resp.json["keys"]
    assert keys == frame[KEY].tolist()
    # Identical up to the last bit of float rounding: BLAS may sum in another order when the same
    # row is multiplied inside a batch of another size.
    np.testing.assert_allclose(batch["prediction"].to_numpy(), np.asarray(online), rtol=1e-12)


def test_batch_cli_names_a_missing_column(model_dir, scored_input, tmp_path, capsys):
    frame, _ = scored_input
    missing = FEATURES[-1]
    source = tmp_path / "partial.parquet"
    frame.drop(columns=[missing]).to_parquet(source)
    code = main(
        [
            "--input",
            str(source),
            "--output",
            str(tmp_path / "o.parquet"),
            "--model-uri",
            str(model_dir),
        ]
    )
    assert code == 2
    assert repr(missing) in capsys.readouterr().err


def test_batch_cli_scores_a_file(model_dir, scored_input, tmp_path, capsys):
    _, source = scored_input
    code = main(
        [
            "--input",
            str(source),
            "--output",
            str(tmp_path / "o.parquet"),
            "--model-uri",
            str(model_dir),
        ]
    )
    assert code == 0 and "scored 40 rows" in capsys.readouterr().out


def run_cli(model_dir, source, target):
    argv = ["--input", str(source), "--output", str(target), "--model-uri", str(model_dir)]
    return main(argv)


def test_batch_cli_reports_a_file_that_is_not_parquet(model_dir, tmp_path, capsys):
    source = tmp_path / "rows.parquet"
    source.write_text("age,income\n1,2\n")
    assert run_cli(model_dir, source, tmp_path / "o.parquet") == 2
    err = capsys.readouterr().err
    assert str(source) in err and "as Parquet" in err and "Traceback" not in err


def test_batch_cli_names_a_non_numeric_column(model_dir, scored_input, tmp_path, capsys):
    frame, _ = scored_input
    source = tmp_path / "text.parquet"
    frame.assign(**{FEATURES[0]: "abc"}).to_parquet(source)
    target = tmp_path / "o.parquet"
    assert run_cli(model_dir, source, target) == 2
    assert repr(FEATURES[0]) in capsys.readouterr().err
    assert not target.exists()


def test_a_contract_failure_in_a_later_chunk_leaves_no_output(
    model_dir, scored_input, tmp_path, bounded_feature
):
    frame, _ = scored_input
    column = bounded_feature
    bad = frame.copy()
    bad.loc[bad.index[-1], column.name] = column.maximum * 10 + 1000
    source = tmp_path / "late-bad.parquet"
    bad.to_parquet(source)
    target = tmp_path / "o.parquet"
    with pytest.raises(BatchError, match=column.name):
        score_file(load(model_dir), source, target, chunk_rows=10)
    assert list(tmp_path.glob("o.parquet*")) == []


def test_a_model_with_other_features_is_refused(model_dir):
    with pytest.raises(ModelLoadError, match="features"):
        load(model_dir, features=tuple(reversed(FEATURES)))


def test_a_missing_model_path_says_what_to_do(tmp_path):
    with pytest.raises(ModelLoadError, match="make pipeline"):
        load(tmp_path / "nothing")


def test_an_unreachable_registry_is_retried_then_reported(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # our retries, not MLflow's
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    breaker = CircuitBreaker("registry", failure_threshold=2)
    with pytest.raises(ModelLoadError, match="MLFLOW_TRACKING_URI"):
        load_model(
            "models:/nowhere@champion",
            default_name="m",
            features=tuple(FEATURES),
            key=KEY,
            check=CONTRACT.check_batch,
            breaker=breaker,
            policy=RetryPolicy(attempts=2, timeout_s=10, backoff_s=0.01),
        )
    assert breaker.state == "open"  # two failed attempts: later loads fail fast


def test_batch_checks_its_input_before_loading_the_model(tmp_path, capsys):
    nowhere = "models:/no-such-model@champion"  # loading it would fail: the input check comes first
    missing = tmp_path / "missing.csv"
    out = str(tmp_path / "o.parquet")
    assert main(["--input", str(missing), "--output", out, "--model-uri", nowhere]) == 2
    assert str(missing) in capsys.readouterr().err
    partial = tmp_path / "partial.csv"
    partial.write_text(f"{FEATURES[0]}\n1\n")
    assert main(["--input", str(partial), "--output", out, "--model-uri", nowhere]) == 2
    err = capsys.readouterr().err
    assert str(partial) in err and repr(FEATURES[-1]) in err
