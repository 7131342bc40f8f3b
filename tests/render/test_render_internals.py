"""Render internals with sharp edges: quantities, the manifest of previous files, YAML form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mlplat.render._mock import Registration
from mlplat.render._objects import objects_and_charts
from mlplat.render._summary import footprint, parse_cpu, parse_memory
from mlplat.render._write import dump_yaml, write_tree


@pytest.mark.parametrize(("text", "millis"), [("100m", 100), ("1", 1000), ("0.5", 500), (2, 2000)])
def test_parse_cpu(text: str, millis: int) -> None:
    assert parse_cpu(text) == millis


@pytest.mark.parametrize(
    ("text", "size"), [("64Mi", 64 * 2**20), ("1Gi", 2**30), ("1G", 10**9), ("512", 512)]
)
def test_parse_memory(text: str, size: int) -> None:
    assert parse_memory(text) == size


def test_parse_memory_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="not a memory quantity"):
        parse_memory("lots")


def test_footprint_counts_replicas_and_keeps_jobs_apart() -> None:
    pod = {"containers": [{"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}] * 2}
    objects = [
        {"kind": "Deployment", "spec": {"replicas": 3, "template": {"spec": pod}}},
        {"kind": "Job", "spec": {"template": {"spec": pod}}},
        {
            "kind": "Cluster",
            "apiVersion": "postgresql.cnpg.io/v1",
            "spec": {"instances": 2, "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}},
        },
    ]
    result = footprint(objects, chart_names=[], replicas=1)
    assert result.objects_cpu == 3 * 200 + 2 * 1000
    assert result.objects_memory == 3 * 128 * 2**20 + 2 * 2**30
    assert (result.jobs_cpu, result.jobs_memory) == (200, 128 * 2**20)
    assert result.charts_cpu == 0


def test_dump_yaml_orders_keys_and_uses_block_strings() -> None:
    text = dump_yaml(
        {
            "spec": {"b": 1, "a": "x\ny\n"},
            "kind": "K",
            "apiVersion": "v1",
            "metadata": {"name": "n"},
        }
    )
    assert text.splitlines()[:3] == ["apiVersion: v1", "kind: K", "metadata:"]
    assert "a: |" in text and text.index("a: |") < text.index("b: 1")
    assert yaml.safe_load(text)["spec"]["a"] == "x\ny\n"


def test_previous_files_outside_the_directory_are_never_removed(tmp_path: Path) -> None:
    outside = tmp_path / "precious.txt"
    outside.write_text("mine", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    stale = out / "ns" / "configmap-old.yaml"
    stale.parent.mkdir()
    stale.write_text("old", encoding="utf-8")
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new", "namespace": "ns"}}
    written = write_tree(out, [obj], [], previous=["../precious.txt", "ns/configmap-old.yaml"])
    assert outside.read_text(encoding="utf-8") == "mine"
    assert not stale.exists()
    assert written == ["charts.yaml", "ns/configmap-new.yaml"]
    assert json.dumps(written)  # plain strings, ready for the manifest


def _registration(type_: str, name: str, inputs: dict[str, object]) -> Registration:
    return Registration(
        type=type_,
        name=name,
        inputs=inputs,
        custom=True,
        protect=False,
        retain_on_delete=False,
        parent="",
        urn="",
    )


def test_auto_named_objects_get_their_logical_name_and_groups_are_expanded() -> None:
    regs = [
        _registration(
            "kubernetes:core/v1:ConfigMap",
            "settings",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"namespace": "a"},
                "data": {"replicas": "2"},
            },
        ),
        _registration(
            "kubernetes:yaml/v2:ConfigGroup",
            "crds",
            {
                "yaml": "kind: A\napiVersion: v1\nmetadata: {name: x}\n---\n"
                "kind: B\napiVersion: v1\nmetadata: {name: y}\n"
            },
        ),
        _registration(
            "kubernetes:helm.sh/v4:Chart",
            "c",
            {
                "chart": "x",
                "version": "1.0",
                "values": {"n": 2.0},
                "repositoryOpts": {"repo": "https://r"},
                "namespace": "ns",
            },
        ),
        _registration("random:index/randomPassword:RandomPassword", "pw", {"length": 20.0}),
    ]
    objects, charts = objects_and_charts(regs)
    assert [o["metadata"]["name"] for o in objects] == ["settings", "x", "y"]
    assert list(objects[0])[:3] == ["apiVersion", "kind", "metadata"]
    assert charts[0].as_dict() == {
        "name": "c",
        "source": "upstream",
        "repo": "https://r",
        "chart": "x",
        "version": "1.0",
        "namespace": "ns",
        "values": {"n": 2},
    }
