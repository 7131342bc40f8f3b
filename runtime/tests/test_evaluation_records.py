"""Prediction records: the server's JSON lines read as one typed table, compacted into Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlplat_runtime.evaluation import (
    PredictionRecord,
    compact,
    normalise_key,
    read_records,
)

DAY = 86_400.0
T0 = 1_800_000_000.0


def record(i: int, *, t: float = T0, key: object = "k", version: str = "1") -> dict[str, object]:
    # The shape serving/monitor.py writes today (no request_id, no contract_violations).
    return {
        "ts": t + i,
        "model_name": "m",
        "model_version": version,
        "key": None if key is None else f"{key}{i}",
        "features": {"x": float(i), "group": float(i % 2)},
        "prediction": i % 2,
        "proba": [0.3, 0.7] if i % 2 else [0.8, 0.2],
    }


def write(path: Path, records: list[dict[str, object]], tail: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in records) + tail)
    return path


def test_a_record_round_trips_and_keeps_what_a_join_needs() -> None:
    data = {**record(3), "request_id": "r-1", "contract_violations": ["x: 1 rows above maximum"]}
    parsed = PredictionRecord.from_json(data)
    assert parsed.key == "k3" and parsed.model_version == "1" and parsed.request_id == "r-1"
    assert parsed.proba == (0.3, 0.7) and parsed.features == {"x": 3.0, "group": 1.0}
    assert PredictionRecord.from_json(parsed.to_json()) == parsed


def test_a_record_without_a_required_field_names_it() -> None:
    with pytest.raises(ValueError, match="model_version"):
        PredictionRecord.from_json({"ts": 1.0, "prediction": 1})
    with pytest.raises(ValueError, match="ts"):
        PredictionRecord.from_json({"ts": "yesterday", "model_version": "1", "prediction": 1})


@pytest.mark.parametrize(("raw", "key"), [(12, "12"), (12.0, "12"), ("12", "12"), (None, None)])
def test_keys_from_json_csv_and_parquet_compare_equal(raw: object, key: str | None) -> None:
    assert normalise_key(raw) == key


def test_the_reader_takes_active_and_rotated_files_and_counts_a_cut_line(tmp_path: Path) -> None:
    write(tmp_path / "predictions-0.jsonl.1", [record(i) for i in range(3)])
    write(tmp_path / "predictions-0.jsonl", [record(i) for i in range(3, 5)], tail=b'{"ts": 1')
    write(tmp_path / "predictions-1.jsonl", [record(i, key=None) for i in range(5, 7)])
    (tmp_path / "other.txt").write_text("not a log")
    table = read_records(tmp_path)
    assert len(table.frame) == 7
    assert table.skipped == 1 and table.problems[0].startswith("predictions-0.jsonl:3:")
    assert table.frame["key"].isna().sum() == 2
    assert table.frame["score"].tolist()[:2] == [0.2, 0.7]  # the positive class's probability
    assert str(table.frame["time"].dt.tz) == "UTC"
    assert {"feature:x", "feature:group"} <= set(table.frame.columns)
    assert table.frame["contract_violations"].isna().all()  # not recorded by today's server


def test_compaction_is_idempotent_and_reading_never_doubles_a_record(tmp_path: Path) -> None:
    logs, store = tmp_path / "logs", tmp_path / "store"
    write(logs / "predictions-0.jsonl.1", [record(i, t=T0 + (i % 3) * DAY) for i in range(9)])
    write(logs / "predictions-0.jsonl", [record(i) for i in range(9, 12)])
    before = read_records(logs, store).frame

    first = compact(logs, store)
    assert len(first) == 1
    assert len(list(store.glob("day=*/part-*.parquet"))) == 3  # one partition per UTC day
    assert compact(logs, store) == []
    # The server rotates again: .1 becomes .2 with the same content, so it stays compacted.
    (logs / "predictions-0.jsonl.1").rename(logs / "predictions-0.jsonl.2")
    assert compact(logs, store) == []

    after = read_records(logs, store).frame
    assert len(after) == len(before) == 12
    assert sorted(after["key"]) == sorted(before["key"])


def test_compaction_can_remove_its_sources_and_the_store_still_answers(tmp_path: Path) -> None:
    logs, store = tmp_path / "logs", tmp_path / "store"
    write(logs / "predictions-0.jsonl.1", [record(i) for i in range(4)])
    compact(logs, store, remove_sources=True)
    assert not (logs / "predictions-0.jsonl.1").exists()
    assert len(read_records(logs, store).frame) == 4


def test_a_crash_before_the_manifest_is_compacted_again_without_duplicates(tmp_path: Path) -> None:
    logs, store = tmp_path / "logs", tmp_path / "store"
    write(logs / "predictions-0.jsonl.1", [record(i) for i in range(4)])
    compact(logs, store)
    for manifest in (store / "sources").glob("*.json"):
        manifest.unlink()  # as if the process died after the parts, before the manifest
    assert len(read_records(logs, store).frame) == 4  # unmanifested parts are not read
    assert len(compact(logs, store)) == 1
    assert len(read_records(logs, store).frame) == 4


def test_no_log_directory_means_no_records(tmp_path: Path) -> None:
    table = read_records(tmp_path / "missing")
    assert len(table.frame) == 0 and "key" in table.frame.columns
