"""kubeconfig contexts read like kubectl, the API-server probe, and its version."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlplat.errors import MlplatError, UsageError
from mlplat.stack.kube import (
    KubeContext,
    load_contexts,
    probe,
    resolve_context,
    server_version,
)
from tests.stack.conftest import closed_port, write_kubeconfig


def test_current_context_and_its_server(kubeconfig: Path, api_server: str) -> None:
    context = resolve_context(None)
    assert context == KubeContext(name="kind-mlplat", cluster="c-kind-mlplat", server=api_server)
    assert probe(context) is None


def test_kubeconfig_path_list_merges_first_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = write_kubeconfig(tmp_path / "a", {"one": "https://a:6443"}, current=None)
    b = write_kubeconfig(tmp_path / "b", {"one": "https://b:6443", "two": "https://t"}, "two")
    monkeypatch.setenv("KUBECONFIG", f"{a}{os.pathsep}{tmp_path / 'missing'}{os.pathsep}{b}")
    contexts, current = load_contexts()
    assert current == "two"
    assert contexts["one"].server == "https://a:6443"
    assert sorted(contexts) == ["one", "two"]


def test_unknown_context_is_a_usage_error_listing_the_known_ones(kubeconfig: Path) -> None:
    with pytest.raises(UsageError) as info:
        resolve_context("kind-nope")
    assert info.value.message == (
        "--kube-context 'kind-nope' is not a context in your kubeconfig "
        "(contexts: kind-mlplat, kind-other)"
    )


def test_no_current_context_names_doctor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    with pytest.raises(MlplatError) as info:
        resolve_context(None)
    assert info.value.message == f"no current Kubernetes context (kubeconfig: {tmp_path / 'none'})"
    assert "`mlplat doctor`" in (info.value.hint or "")


def test_broken_kubeconfig_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad"
    bad.write_text("clusters: [unclosed\n")
    monkeypatch.setenv("KUBECONFIG", str(bad))
    with pytest.raises(MlplatError, match=f"kubeconfig {bad} cannot be read"):
        resolve_context(None)


def test_probe_reports_a_closed_port() -> None:
    port = closed_port()
    context = KubeContext(name="x", cluster="c", server=f"https://127.0.0.1:{port}")
    reason = probe(context)
    assert reason == f"https://127.0.0.1:{port} (Connection refused)"


def test_probe_skips_proxied_and_serverless_contexts() -> None:
    assert probe(KubeContext(name="x", cluster="c", server=None)) is None
    proxied = KubeContext(name="x", cluster="c", server="https://10.0.0.1", proxied=True)
    assert probe(proxied) is None


def test_server_version_reads_version_anonymously(api_server: str) -> None:
    context = KubeContext(name="x", cluster="c", server=api_server)
    assert server_version(context) == (1, 35, "v1.35.0")


def test_server_version_of_a_dead_server_is_an_oserror() -> None:
    context = KubeContext(name="x", cluster="c", server=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(OSError):
        server_version(context)


def test_kubeconfig_fields_for_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "kc"
    path.write_text(
        json.dumps(
            {
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {
                            "server": "https://127.0.0.1:6443",
                            "certificate-authority-data": "QUJD",
                            "insecure-skip-tls-verify": False,
                        },
                    }
                ],
                "contexts": [{"name": "k", "context": {"cluster": "c"}}],
                "current-context": "k",
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(path))
    context = resolve_context(None)
    assert (context.ca_data, context.ca_file, context.insecure) == ("QUJD", None, False)
