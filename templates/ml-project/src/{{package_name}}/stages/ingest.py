"""Stage 1, ingest: an immutable Parquet snapshot of the source, with its provenance record.

The snapshot lives at ``<snapshot_dir>/<hash>/data.parquet`` with ``provenance.json`` beside it.
The directory name is the content hash, so unchanged data maps to the same snapshot, which is
never rewritten; every later artefact records that hash. The ``snapshot`` pointer records both
paths relative to the project root, so a stage in another container (with the project mounted
anywhere) finds them.

A new snapshot carries an ``UNVALIDATED`` marker file until ``validate`` passes it. Snapshots
that never passed are kept out of the way: each new snapshot removes the older ones still
marked (the source file they came from is untouched; only the latest failure is kept, to
inspect). ``make clean`` removes every snapshot.
"""

from __future__ import annotations

__all__ = ["UNVALIDATED", "run"]

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..context import RunContext, read_json, write_json
from ..datasets import load_source
from ..provenance import code_version, content_hash, package_versions

UNVALIDATED = "UNVALIDATED"


def _prune_unvalidated(snapshots: Path, keep: Path) -> None:
    """Remove snapshot folders that never passed validation, except ``keep``."""
    for marker in snapshots.glob(f"*/{UNVALIDATED}"):
        if marker.parent != keep:
            shutil.rmtree(marker.parent)  # a read-only data.parquet goes too: the folder is ours


def run(ctx: RunContext) -> dict[str, Any]:
    """Load the configured source, snapshot it if new, and point ``snapshot`` at it."""
    data = ctx.config.data
    df = load_source(data.source, root=ctx.root, n_rows=data.n_rows)
    digest = content_hash(df)
    folder = (ctx.root / data.snapshot_dir / digest[:16]).resolve()
    parquet, provenance_path = folder / "data.parquet", folder / "provenance.json"
    reused = parquet.exists() and provenance_path.exists()
    if reused:
        provenance = read_json(provenance_path)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / UNVALIDATED).write_text(
            "validate has not passed this snapshot yet; ingest removes it once another is made\n",
            "utf-8",
        )
        df.to_parquet(parquet, index=False)
        provenance = {
            "source": data.source,
            "content_hash": digest,
            "rows": len(df),
            "columns": {str(c): str(t) for c, t in df.dtypes.items()},
            "code_version": code_version(ctx.root),
            "packages": package_versions(),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        write_json(provenance_path, provenance)
        parquet.chmod(0o444)
        _prune_unvalidated(folder.parent, keep=folder)
    write_json(
        ctx.path("snapshot"),
        {
            "path": ctx.relative(parquet),
            "provenance": ctx.relative(provenance_path),
            "data_hash": digest,
        },
    )
    return {"rows": len(df), "data_hash": digest[:16], "snapshot": "reused" if reused else "new"}
