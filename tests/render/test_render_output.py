"""What the render writes: appliable objects, no secrets, pinned charts, secure pods."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from render_helpers import load_objects

from mlplat.render import RenderSummary
from mlplat.render._mock import MOCK_SECRET
from mlplat.render._objects import REDACTED, normalise
from mlplat_platform import versions

VARIANTS = ["dev", "dev-exposed", "prod-exposed", "external-oidc"]
GiB = 2**30


def _walk(value: Any) -> Any:
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)
    else:
        yield value


def _pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{o['kind']}/{o['metadata']['name']}", o["spec"]["template"]["spec"])
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet", "Job")
    ]


def test_normalise_turns_whole_floats_into_ints_and_redacts_secrets() -> None:
    envelope = {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
        "value": {"password": "hunter2"},
    }
    assert normalise({"a": 1.0, "b": [2.5, 3.0], "s": envelope}) == {
        "a": 1,
        "b": [2.5, 3],
        "s": {"password": REDACTED},
    }


@pytest.mark.parametrize("variant", VARIANTS)
def test_objects_are_appliable_and_hold_no_secret(
    renders: dict[str, RenderSummary], variant: str
) -> None:
    out = renders[variant].out_dir
    objects = load_objects(out)
    assert len(objects) == renders[variant].object_count
    for obj in objects:
        assert obj["apiVersion"] and obj["kind"] and obj["metadata"]["name"], obj
        for leaf in _walk(obj):
            assert not (isinstance(leaf, float) and leaf.is_integer()), obj["metadata"]
        if obj["kind"] == "Secret":
            assert set(_walk(obj.get("stringData", {}))) <= {REDACTED}, obj["metadata"]
    for path in out.rglob("*"):
        if path.is_file():
            assert MOCK_SECRET not in path.read_text(encoding="utf-8"), path


@pytest.mark.parametrize("variant", VARIANTS)
def test_pods_meet_the_security_defaults(renders: dict[str, RenderSummary], variant: str) -> None:
    objects = load_objects(renders[variant].out_dir)
    pods = _pod_specs(objects)
    assert pods
    for name, pod in pods:
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["runAsNonRoot"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert sc["runAsUser"] >= 10000, name
            assert set(container["resources"]) == {"requests", "limits"}, name
            if name.startswith("Deployment/"):
                assert "readinessProbe" in container and "livenessProbe" in container, name


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_namespace_is_restricted_and_closed_by_default(
    renders: dict[str, RenderSummary], variant: str
) -> None:
    objects = load_objects(renders[variant].out_dir)
    namespaces = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Namespace"}
    denies = {
        o["metadata"]["namespace"]
        for o in objects
        if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "default-deny"
    }
    assert set(namespaces) == denies
    for ns in namespaces.values():
        assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    namespaced = {o["metadata"].get("namespace") for o in objects} - {None}
    assert namespaced <= set(namespaces), "every object lives in a namespace we secure"


@pytest.mark.parametrize("variant", VARIANTS)
def test_charts_yaml_lists_the_pinned_versions(
    renders: dict[str, RenderSummary], variant: str
) -> None:
    charts = yaml.safe_load((renders[variant].out_dir / "charts.yaml").read_text("utf-8"))
    pins = {(p.chart, p.version, p.repo) for p in versions.ALL_CHARTS}
    for entry in charts["charts"]:
        assert (entry["chart"], entry["version"], entry["repo"]) in pins, entry
        assert entry["namespace"] and isinstance(entry["values"], dict)
    names = {e["name"] for e in charts["charts"]}
    assert {"cert-manager", "argo-workflows", "kserve-resources"} <= names
    assert ("envoy-gateway" in names) == (variant != "dev")
    assert ("cloudnative-pg" in names) == (variant != "external-oidc")


@pytest.mark.parametrize("variant", ["dev", "dev-exposed"])
def test_dev_footprint_fits_a_laptop(renders: dict[str, RenderSummary], variant: str) -> None:
    footprint = renders[variant].footprint
    assert footprint.charts_cpu > 0 and footprint.objects_cpu > 0
    assert footprint.total_cpu <= 2000, footprint
    assert footprint.total_memory <= 4 * GiB, footprint


def test_prod_runs_more_replicas_than_dev(renders: dict[str, RenderSummary]) -> None:
    assert renders["prod-exposed"].footprint.total_cpu > renders["dev-exposed"].footprint.total_cpu
    prod = load_objects(renders["prod-exposed"].out_dir)
    cluster = next(o for o in prod if o["kind"] == "Cluster")
    assert cluster["spec"]["instances"] == 3
    assert cluster["spec"]["storage"]["storageClass"] == "fast-ssd"
    assert any(o["kind"] == "PodDisruptionBudget" for o in prod)
    charts = yaml.safe_load((renders["prod-exposed"].out_dir / "charts.yaml").read_text("utf-8"))
    argo = next(c for c in charts["charts"] if c["name"] == "argo-workflows")["values"]
    assert (
        argo["controller"]["pdb"] == argo["server"]["pdb"] == {"enabled": True, "minAvailable": 1}
    )
    assert argo["controller"]["replicas"] == 2


def test_files_are_one_object_each(renders: dict[str, RenderSummary]) -> None:
    out: Path = renders["dev"].out_dir
    for path in out.rglob("*.yaml"):
        if path.name != "charts.yaml":
            docs = [d for d in yaml.safe_load_all(path.read_text("utf-8")) if d]
            assert len(docs) == 1, path


@pytest.mark.parametrize("variant", VARIANTS)
def test_secret_files_say_they_are_for_review_only(
    renders: dict[str, RenderSummary], variant: str
) -> None:
    from mlplat.render._write import SECRET_HEADER

    out = renders[variant].out_dir
    secrets = 0
    for path in out.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        docs = [d for d in yaml.safe_load_all(text) if d]
        is_secret = path.name != "charts.yaml" and docs[0]["kind"] == "Secret"
        assert (SECRET_HEADER in text) == is_secret, path
        secrets += is_secret
    assert secrets == renders[variant].kinds["Secret"] > 0
    assert "not for `kubectl apply`" in renders[variant].text()
    assert renders[variant].as_dict()["redacted_secrets"] == secrets
