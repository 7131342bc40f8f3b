"""Tables the pipeline's stages hand each other: written as Parquet, read back once per process.

Stages exchange tables only through files (the snapshot, ``train_set``, ``test_set``), so each
stage can run alone or in its own container. In one process, though, the same file is read by
two stages in a row (``validate`` and ``split`` read the snapshot, ``features`` and ``train``
the training split, ``evaluate`` and ``register`` the test split); on 1,000,000 rows each
decode costs about 0.3 s. :func:`read_frame` keeps the last tables it read, keyed by the
file's path, size, modification time and Parquet footer, and hands out a shallow copy: the file
stays the truth (a file written since is read again), and pandas' copy-on-write (always on from
pandas 3) keeps one stage's changes out of the next stage's copy. Under pandas 2, without guaranteed
copy-on-write, nothing is kept and every read decodes the file.

:func:`write_frame` writes Parquet with dictionary encoding only for columns that are not
floating point: continuous values rarely repeat, so pyarrow's default (a dictionary per column,
dropped once it grows too large) spent about half of each write on dictionaries it then
discarded, and made the file no smaller.
"""

from __future__ import annotations

__all__ = ["forget_frames", "read_frame", "write_frame"]

from collections import OrderedDict
from pathlib import Path

import pandas as pd

#: How many tables a process keeps: the snapshot until both splits exist, then the two splits.
_KEPT = 2
_FOOTER_BYTES = 1 << 16
_COPY_ON_WRITE = int(pd.__version__.split(".", 1)[0]) >= 3
_kept: OrderedDict[Path, tuple[tuple[int, int, bytes], pd.DataFrame]] = OrderedDict()


def _stamp(path: Path) -> tuple[int, int, bytes]:
    """What identifies the file's content: size, modification time and the Parquet footer.

    The footer (schema, row groups, each column chunk's offsets and statistics) changes with the
    content, and it covers a rewrite within the file system's timestamp granularity.
    """
    with path.open("rb") as file:
        size = file.seek(0, 2)
        file.seek(max(0, size - _FOOTER_BYTES))
        footer = file.read()
        return size, path.stat().st_mtime_ns, footer


def _keep(path: Path, frame: pd.DataFrame) -> None:
    if not _COPY_ON_WRITE:
        return
    key = path.resolve()
    _kept.pop(key, None)
    _kept[key] = (_stamp(path), frame)
    while len(_kept) > _KEPT:
        _kept.popitem(last=False)


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` (its ``attrs`` included) to ``path`` as Parquet, without the index."""
    dictionary = [str(c) for c, t in frame.dtypes.items() if not pd.api.types.is_float_dtype(t)]
    frame.to_parquet(path, index=False, use_dictionary=dictionary)
    # Only frames read back are kept (a round trip may change dtypes): an older one is stale.
    _kept.pop(path.resolve(), None)


def read_frame(path: Path) -> pd.DataFrame:
    """The table in the Parquet file ``path``; a file this process already read is not decoded."""
    key = path.resolve()
    found = _kept.get(key)
    if found is not None and found[0] == _stamp(path):
        _kept.move_to_end(key)
        return found[1].copy(deep=False)
    frame = pd.read_parquet(path)
    _keep(path, frame)
    return frame.copy(deep=False) if _COPY_ON_WRITE else frame


def forget_frames() -> None:
    """Drop every kept table (a runner between unrelated runs; tests)."""
    _kept.clear()
