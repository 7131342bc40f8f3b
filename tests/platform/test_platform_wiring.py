"""The consumer table is the one source of the platform's cross-cutting wiring."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from platform_helpers import Run

from mlplat_platform import build_platform, load_config
from mlplat_platform.config import Components, ConfigError
from mlplat_platform.consumers import CONSUMERS, NAMESPACES, callers, enabled_consumers
from mlplat_platform.program import _BUILDERS

Runner = Callable[[Callable[[], Any]], Run]


def _peers(result: Run, namespace: str, policy: str) -> set[str]:
    spec = result.named("NetworkPolicy", policy, namespace).inputs["spec"]
    rules = spec.get("ingress") or spec.get("egress")
    key = "from" if "ingress" in spec else "to"
    return {
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for rule in rules
        for p in rule[key]
        if "namespaceSelector" in p
    }


def test_every_row_is_a_component_flag_with_a_builder() -> None:
    flags = {f.name for f in dataclasses.fields(Components)}
    for row in CONSUMERS:
        assert row.component in flags, row.component
        assert row.component in _BUILDERS, f"{row.component} has no builder"
        for other in row.calls:
            assert other in {c.component for c in CONSUMERS}, (row.component, other)
        if row.object_store:
            assert row.identity, f"{row.component} uses the object store without an identity"
    for key in ("namespace", "identity"):
        values = [getattr(c, key) for c in CONSUMERS if getattr(c, key)]
        assert len(values) == len(set(values)), f"duplicate {key}"
    assert set(_BUILDERS) == {c.component for c in CONSUMERS}


@pytest.mark.parametrize(
    "components",
    [
        {},
        {"feature_store": True},
        {"pipelines": False, "feature_store": True},
        {"serving": False, "pipelines": False},
        {"registry": False},
        {"registry": False, "feature_store": True},
    ],
)
def test_shared_services_serve_exactly_the_deployed_consumers(
    run: Runner, components: dict[str, bool]
) -> None:
    cfg = load_config({"domain": "ml.example.com", "components": components})
    enabled = enabled_consumers(cfg.has)
    result = run(lambda: build_platform(cfg))
    # Object store: one identity per consumer using it, and only their namespaces get in.
    envelope = result.named("Secret", "seaweedfs-s3-config").inputs["stringData"]
    identities = {i["name"] for i in json.loads(envelope["value"]["s3.json"])["identities"]}
    assert identities == {"admin"} | {c.identity for c in enabled if c.object_store}
    storage = _peers(result, NAMESPACES.object_store, "allow-s3-clients")
    assert storage == {c.namespace for c in enabled if c.object_store}
    # Database: only the consumers with a database reach 5432 (besides CNPG itself), and
    # with none there is no database at all.
    if any(c.database for c in enabled):
        peers = _peers(result, NAMESPACES.database, "allow-postgres-clients")
        assert peers - {NAMESPACES.cnpg} == {c.namespace for c in enabled if c.database}
    else:
        assert not result.of_type(":Cluster") and not result.of_type("mlplat:index:Database")
    # Gateway: it forwards to the exposed consumers only.
    backends = {
        r.inputs["metadata"]["name"].removeprefix("allow-backend-")
        for r in result.of_type(":NetworkPolicy")
        if r.inputs["metadata"]["name"].startswith("allow-backend-")
    }
    assert backends == {c.namespace for c in enabled if c.exposed}
    # Each consumer reaches what it calls, and is reached by its callers and the gateway.
    for row in enabled:
        for other in row.calls:
            target = next((c for c in enabled if c.component == other), None)
            if target is not None:
                flow = f"allow-{other.replace('_', '-')}"
                assert _peers(result, row.namespace, flow) == {target.namespace}
    if any(c.component == "registry" for c in enabled):
        clients = _peers(result, NAMESPACES.registry, "allow-mlflow-clients")
        assert clients == set(callers("registry", enabled)) | {NAMESPACES.gateway}


@pytest.mark.parametrize("row", CONSUMERS, ids=lambda c: c.component)
def test_a_consumer_without_the_service_it_needs_is_refused(row: Any) -> None:
    alone = {c.component: c is row for c in CONSUMERS}
    for service, needed in (("database", row.database), ("object_store", row.object_store)):
        components = {**alone, service: False}
        if not needed:
            load_config({"components": components})  # it does not need that service
            continue
        with pytest.raises(ConfigError) as caught:
            load_config({"components": components})
        assert caught.value.key == f"components.{row.component}"
        assert service in caught.value.problem
