"""MLflow smoke test: create an experiment through the REST API and read it back.

Usage: python mlflow_smoke.py http://localhost:5000 NAME
"""

from __future__ import annotations

import json
import sys
import urllib.request


def call(base: str, path: str, body: dict[str, str] | None = None) -> dict[str, object]:
    """One MLflow REST call (POST with ``body``, else GET); the decoded JSON answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path, data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def main(base: str, name: str) -> int:
    """Create experiment ``name`` and read it back by name."""
    created = call(base, "/api/2.0/mlflow/experiments/create", {"name": name})
    experiment_id = created["experiment_id"]
    read = call(base, f"/api/2.0/mlflow/experiments/get-by-name?experiment_name={name}")
    assert read["experiment"]["experiment_id"] == experiment_id, read  # type: ignore[index]
    print(f"MLflow: created and read back experiment {name} (id {experiment_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
