"""Ground truth: validated like ingest, idempotent, corrections supersede and both are kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from mlplat_runtime.errors import ContractViolation, PipelineError
from mlplat_runtime.evaluation import ingest_feedback, label_history, latest_labels
from mlplat_runtime.rules import Column, Contract

CONTRACT = Contract(
    (
        Column(name="id", dtype="int", role="key", unique=True),
        Column(name="x", dtype="float", role="feature"),
        Column(name="target", dtype="int", role="target", allowed=(0, 1)),
    )
)
NOW = datetime(2027, 1, 10, tzinfo=UTC)


def labels_csv(path: Path, rows: list[tuple[object, object, object]]) -> Path:
    pd.DataFrame(rows, columns=["id", "target", "decided_at"]).to_csv(path, index=False)
    return path


def test_labels_are_stored_with_a_provenance_record(tmp_path: Path) -> None:
    source = labels_csv(tmp_path / "l.csv", [(1, 0, "2027-01-02"), (2, 1, "2027-01-03T10:00Z")])
    receipt = ingest_feedback(source, tmp_path / "fb", CONTRACT, now=NOW)
    assert receipt.added and receipt.rows == 2 and receipt.corrections == 0
    assert receipt.ingested_at == "2027-01-10T00:00:00+00:00"
    stored = json.loads((tmp_path / "fb/batches" / f"{receipt.content_hash[:16]}.json").read_text())
    assert stored["source"] == str(source) and stored["rows"] == 2
    latest = latest_labels(tmp_path / "fb")
    assert latest.set_index("key")["label"].to_dict() == {"1": 0, "2": 1}
    assert str(latest["decided_at"].dt.tz) == "UTC"


def test_the_same_labels_twice_add_nothing_whatever_the_format(tmp_path: Path) -> None:
    rows = [(1, 0, "2027-01-02T00:00:00Z"), (2, 1, "2027-01-03T00:00:00Z")]
    csv = labels_csv(tmp_path / "l.csv", rows)
    first = ingest_feedback(csv, tmp_path / "fb", CONTRACT, now=NOW)
    again = ingest_feedback(csv, tmp_path / "fb", CONTRACT)
    parquet = tmp_path / "l.parquet"
    pd.read_csv(csv).to_parquet(parquet)
    as_parquet = ingest_feedback(parquet, tmp_path / "fb", CONTRACT)
    assert not again.added and not as_parquet.added
    assert again.content_hash == as_parquet.content_hash == first.content_hash
    assert again.ingested_at == first.ingested_at  # the first time it was stored
    assert len(label_history(tmp_path / "fb")) == 2


def test_a_corrected_label_supersedes_the_old_one_and_both_are_kept(tmp_path: Path) -> None:
    store = tmp_path / "fb"
    ingest_feedback(labels_csv(tmp_path / "a.csv", [(1, 0, "2027-01-02"), (2, 1, "2027-01-02")]),
                    store, CONTRACT, now=NOW)  # fmt: skip
    fix = labels_csv(tmp_path / "b.csv", [(1, 1, "2027-01-05")])
    receipt = ingest_feedback(fix, store, CONTRACT, now=NOW)
    assert receipt.corrections == 1
    assert latest_labels(store).set_index("key")["label"].to_dict() == {"1": 1, "2": 1}
    history = label_history(store)
    assert sorted(history.loc[history["key"] == "1", "label"]) == [0, 1]
    # An older decision arriving later does not override the newer one.
    stale = labels_csv(tmp_path / "c.csv", [(1, 0, "2027-01-01")])
    assert ingest_feedback(stale, store, CONTRACT, now=NOW).corrections == 0
    assert latest_labels(store).set_index("key").loc["1", "label"] == 1


def test_bad_labels_are_named_by_column_rule_and_count(tmp_path: Path) -> None:
    source = labels_csv(
        tmp_path / "l.csv",
        [(1, 2, "2027-01-02"), (2, 1, "not a date"), (2, 0, "2027-01-02"), (3, "yes", "")],
    )
    with pytest.raises(ContractViolation) as caught:
        ingest_feedback(source, tmp_path / "fb", CONTRACT)
    message = str(caught.value)
    assert message.startswith("feedback broke the data contract")
    assert "target: 1 row(s) break rule 'type int' (e.g. 'yes')" in message
    assert "target: 1 row(s) break rule 'allowed values (0, 1)'" in message
    assert "id: 2 row(s) break rule 'unique'" in message
    assert "decided_at: 2 row(s) break rule 'a date and time (ISO 8601)'" in message
    assert not (tmp_path / "fb").exists()  # nothing stored


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    source = tmp_path / "l.csv"
    pd.DataFrame({"id": [1], "label": [1]}).to_csv(source, index=False)
    with pytest.raises(ContractViolation, match="target: breaks rule 'column present'") as caught:
        ingest_feedback(source, tmp_path / "fb", CONTRACT)
    assert "decided_at: breaks rule 'column present'" in str(caught.value)


def test_a_contract_without_a_key_cannot_take_feedback(tmp_path: Path) -> None:
    keyless = Contract((Column(name="target", dtype="int", role="target"),))
    source = labels_csv(tmp_path / "l.csv", [(1, 0, "2027-01-02")])
    with pytest.raises(PipelineError, match="role='key'"):
        ingest_feedback(source, tmp_path / "fb", keyless)


def test_an_unreadable_file_gets_the_ingest_message(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="feedback SOURCE .* does not exist"):
        ingest_feedback(tmp_path / "missing.csv", tmp_path / "fb", CONTRACT)
