"""Helpers for the render tests: the config variants, loading output, finding validators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]

#: name -> (config mapping or None, profile)
VARIANTS: dict[str, tuple[dict[str, Any] | None, str]] = {
    "dev": (None, "dev"),
    "dev-exposed": ({"domain": "ml.example.com", "gateway_service_type": "NodePort"}, "dev"),
    "prod-exposed": (
        {"domain": "ml.example.com", "cluster_issuer": "letsencrypt", "storage_class": "fast-ssd"},
        "prod",
    ),
    "external-oidc": (
        {
            "domain": "ml.example.com",
            "oidc": {"issuer": "https://id.example.com", "client_id": "mlplat"},
            "components": {"object_store": False, "database": False},
            "object_store": {"external": {"endpoint": "https://s3.example.com", "bucket": "ml"}},
            "database": {"external": {"host": "pg.example.com"}},
        },
        "prod",
    ),
}


def load_objects(out_dir: Path) -> list[dict[str, Any]]:
    docs = []
    for path in sorted(out_dir.rglob("*.yaml")):
        if path.name != "charts.yaml":
            docs.extend(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d)
    return docs
