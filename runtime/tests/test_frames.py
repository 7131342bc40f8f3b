"""The stages' table files: Parquet written without wasted dictionaries, each file decoded once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from mlplat_runtime import frames
from mlplat_runtime.frames import forget_frames, read_frame, write_frame


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    forget_frames()
    yield
    forget_frames()


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files pandas actually decoded."""
    seen: list[Path] = []
    real = pd.read_parquet

    def counting(path: Path, *args: object, **kwargs: object) -> pd.DataFrame:
        seen.append(Path(path))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(frames.pd, "read_parquet", counting)
    return seen


def _table(rows: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=rows),
            "n": rng.integers(0, 5, size=rows),
            "city": rng.choice(["Oslo", "Lima", "Pune"], size=rows),
        }
    )
    frame.attrs["data_hash"] = f"hash-{seed}"
    return frame


def test_a_table_round_trips_with_its_attrs(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    write_frame(_table(), path)
    read = read_frame(path)
    pd.testing.assert_frame_equal(read, pd.read_parquet(path))
    assert read.attrs["data_hash"] == "hash-0"
    assert list(read.columns) == ["x", "n", "city"]


def test_only_columns_that_are_not_floats_are_dictionary_encoded(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    write_frame(_table(), path)
    row_group = pq.ParquetFile(path).metadata.row_group(0)
    encodings = {
        row_group.column(i).path_in_schema: row_group.column(i).encodings
        for i in range(row_group.num_columns)
    }
    assert not any("DICTIONARY" in e for e in encodings["x"])
    assert any("DICTIONARY" in e for e in encodings["city"])
    assert any("DICTIONARY" in e for e in encodings["n"])


def test_a_file_read_twice_is_decoded_once(tmp_path: Path, decodes: list[Path]) -> None:
    path = tmp_path / "t.parquet"
    write_frame(_table(), path)
    first = read_frame(path)
    second = read_frame(path)
    assert decodes == [path]
    pd.testing.assert_frame_equal(first, second)
    assert second.attrs["data_hash"] == "hash-0"


def test_one_stage_changing_its_table_leaves_the_next_stage_s_alone(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    write_frame(_table(), path)
    first = read_frame(path)
    first["x"] = 0.0
    first.loc[0, "city"] = "Changed"
    first.pop("n")
    first.attrs["data_hash"] = "other"
    again = read_frame(path)
    pd.testing.assert_frame_equal(again, pd.read_parquet(path))
    assert again.attrs["data_hash"] == "hash-0"


def test_a_file_written_again_is_read_again(tmp_path: Path, decodes: list[Path]) -> None:
    """Even when the new file has the old one's size and modification time."""
    path = tmp_path / "t.parquet"

    def plain(seed: int) -> None:  # another writer; fixed-width values: every file one size
        _table(seed=seed)[["x"]].to_parquet(
            path, index=False, compression=None, use_dictionary=False
        )

    plain(1)
    read_frame(path)
    stat = path.stat()
    plain(2)
    assert path.stat().st_size == stat.st_size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    read = read_frame(path)
    assert decodes == [path, path]
    assert read.attrs["data_hash"] == "hash-2"


def test_a_process_keeps_at_most_two_tables(tmp_path: Path, decodes: list[Path]) -> None:
    paths = [tmp_path / f"{n}.parquet" for n in "abc"]
    for path in paths:
        write_frame(_table(), path)
        read_frame(path)
    read_frame(paths[2])
    read_frame(paths[0])  # dropped when the third was read
    assert decodes == [*paths, paths[0]]
