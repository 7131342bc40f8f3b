"""Stage 1, ingest: an immutable Parquet snapshot of the source, with its provenance record.

The snapshot lives at ``<snapshot_dir>/<hash>/data.parquet`` with ``provenance.json`` beside it.
The directory name is the content hash, so unchanged data maps to the same snapshot, which is
never rewritten; every later artefact records that hash. The ``snapshot`` pointer records both
paths relative to the project root, so a stage in another container (with the project mounted
anywhere) finds them.
"""

from __future__ import annotations

__all__ = ["run"]

from datetime import UTC, datetime
from typing import Any

from ..context import RunContext, read_json, write_json
from ..datasets import load_source
from ..provenance import code_version, content_hash, package_versions


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
    write_json(
        ctx.path("snapshot"),
        {
            "path": ctx.relative(parquet),
            "provenance": ctx.relative(provenance_path),
            "data_hash": digest,
        },
    )
    return {"rows": len(df), "data_hash": digest[:16], "snapshot": "reused" if reused else "new"}
