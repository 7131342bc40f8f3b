"""``mlplat doctor``: each check passes or fails with its fix; --install-pulumi offline."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mlplat._cli import app
from mlplat.errors import MlplatError
from mlplat.settings import load_settings
from mlplat.stack.doctor import DoctorOptions, install_pulumi, run_doctor
from tests.stack.conftest import write_kubeconfig

runner = CliRunner()


def _tool(bin_dir: Path, name: str, output: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\necho '{output}'\n")
    path.chmod(0o755)


def _checks(report: Any) -> dict[str, tuple[bool, str]]:
    return {c.name: (c.ok, c.detail) for c in report.checks}


def test_everything_in_place(fake_pulumi: Path, kubeconfig: Path) -> None:
    _tool(fake_pulumi.parent, "docker", "28.5.1")
    _tool(fake_pulumi.parent, "kubectl", "gitVersion: v1.35.0")
    report = run_doctor(DoctorOptions())
    checks = _checks(report)
    assert checks["pulumi CLI"] == (True, f"v3.272.0 ({fake_pulumi})")
    assert checks["kube context"][0] and checks["kube context"][1].startswith("kind-mlplat (")
    assert checks["Kubernetes version"] == (True, "v1.35.0")
    assert checks["docker"] == (True, "28.5.1")
    assert checks["kubectl"] == (True, "v1.35.0")
    assert checks["git"][0]
    assert report.ok
    assert all(line.startswith("PASS") for line in report.lines())


def test_missing_pulumi_and_unreachable_cluster_fail(fake_pulumi: Path, kubeconfig: Path) -> None:
    fake_pulumi.unlink()
    report = run_doctor(DoctorOptions(kube_context="kind-other"))
    checks = _checks(report)
    assert checks["pulumi CLI"] == (False, "not found")
    assert not checks["cluster reachable"][0]
    assert "Kubernetes version" not in checks
    assert not checks["docker"][0]  # optional: a WARN, not a failure
    assert not report.ok
    lines = report.lines()
    assert lines[0] == "FAIL  pulumi CLI         not found"
    assert "fix: `mlplat doctor --install-pulumi`" in lines[1]
    assert any(line.startswith("WARN  docker") for line in lines)


def test_old_kubernetes_fails_with_kserves_minimum(
    fake_pulumi: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import http.server
    import threading

    class Old(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"major": "1", "minor": "31+", "gitVersion": "v1.31.4-eks"}')

        def log_message(self, *args: Any) -> None:
            return

    server = http.server.HTTPServer(("127.0.0.1", 0), Old)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}).start()
    try:
        path = write_kubeconfig(
            tmp_path / "kc", {"old": f"http://127.0.0.1:{server.server_address[1]}"}, "old"
        )
        monkeypatch.setenv("KUBECONFIG", str(path))
        report = run_doctor(DoctorOptions())
    finally:
        server.shutdown()
        server.server_close()
    check = next(c for c in report.checks if c.name == "Kubernetes version")
    assert (check.ok, check.detail) == (False, "v1.31.4-eks, KServe v0.20 needs 1.32+")
    assert check.fix == "upgrade the cluster to Kubernetes 1.32 or later"
    assert not report.ok


def test_old_pulumi_fails(fake_pulumi: Path, kubeconfig: Path) -> None:
    fake_pulumi.write_text("#!/bin/sh\necho v3.150.0\n")
    check = run_doctor(DoctorOptions()).checks[0]
    assert (check.ok, check.detail) == (False, f"v3.150.0 ({fake_pulumi}), need 3.181.0+")


def test_install_pulumi_when_the_download_is_unreachable(
    fake_pulumi: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    """The SDK's real PulumiCommand.install runs; only the network call is refused."""
    fake_pulumi.unlink()
    opened: list[str] = []

    def no_network(url: str, *args: Any, **kwargs: Any) -> Any:
        opened.append(url)
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(MlplatError) as info:
        install_pulumi(load_settings())
    assert opened == ["https://get.pulumi.com/install.sh"]
    assert info.value.message == (
        "could not download the Pulumi CLI installer (get.pulumi.com): "
        "[Errno -2] Name or service not known"
    )
    assert "install Pulumi yourself" in (info.value.hint or "")
    assert (isolated_env / "pulumi" / "cli").is_dir()

    result = runner.invoke(app, ["doctor", "--install-pulumi"])
    assert result.exit_code == 1
    assert "Error: could not download the Pulumi CLI installer" in result.output
    assert "Traceback" not in result.output


def test_doctor_cli_exit_codes_and_json(fake_pulumi: Path, kubeconfig: Path) -> None:
    result = runner.invoke(app, ["doctor", "--json"])
    data = json.loads(result.stdout)
    assert data["ok"] is True and result.exit_code == 0
    fake_pulumi.unlink()
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "FAIL  pulumi CLI" in result.stdout


def test_kubectl_reports_the_version_when_anonymous_access_is_off(
    fake_pulumi: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubectl = fake_pulumi.parent / "kubectl"
    kubectl.write_text(
        "#!/bin/sh\n"
        'case "$*" in *--client*) echo "gitVersion: v1.35.0";; '
        '*) echo \'{"serverVersion": {"major": "1", "minor": "33", "gitVersion": "v1.33.2"}}\';; '
        "esac\n"
    )
    kubectl.chmod(0o755)
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        path = write_kubeconfig(
            tmp_path / "kc", {"k": f"https://127.0.0.1:{listener.getsockname()[1]}"}, "k"
        )
        monkeypatch.setenv("KUBECONFIG", str(path))
        checks = _checks(run_doctor(DoctorOptions()))
    finally:
        listener.close()
    assert checks["Kubernetes version"] == (True, "v1.33.2 (kubectl)")


def test_doctor_flags_reach_the_core(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlplat import stack
    from mlplat.stack.doctor import Check, DoctorReport

    seen: list[DoctorOptions] = []

    def fake(options: DoctorOptions, settings: Any = None) -> DoctorReport:
        seen.append(options)
        return DoctorReport(checks=(Check(name="git", ok=True, required=True, detail="2.x"),))

    monkeypatch.setattr(stack, "run_doctor", fake)
    result = runner.invoke(app, ["doctor", "--install-pulumi", "--kube-context", "k", "--json"])
    assert result.exit_code == 0, result.output
    assert seen == [DoctorOptions(install_pulumi=True, kube_context="k")]
    assert runner.invoke(app, ["doctor"]).exit_code == 0
    assert seen[1] == DoctorOptions()


def test_missing_provider_plugins_fail_when_pulumi_may_not_download_them(
    fake_pulumi: Path, kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Seen for real: doctor passed with a source-built CLI, then `mlplat up` stopped at the
    # kubernetes provider ("no resource plugin ... found"), because nothing checked plugins.
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "empty-home"))
    monkeypatch.setenv("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
    report = run_doctor(DoctorOptions())
    check = next(c for c in report.checks if c.name == "pulumi plugins")
    assert not check.ok and check.required and not report.ok
    assert check.detail == (
        "not installed: kubernetes v4.34.2, random v4.21.4 (automatic download disabled)"
    )
    assert check.fix is not None
    assert "`pulumi plugin install resource kubernetes v4.34.2`" in check.fix
    assert "pulumi-resource-random on PATH" in check.fix

    monkeypatch.delenv("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION")
    check = next(c for c in run_doctor(DoctorOptions()).checks if c.name == "pulumi plugins")
    assert not check.ok and not check.required  # a WARN: the first up downloads them


def test_provider_plugins_on_path_or_newer_in_the_cache_pass(
    fake_pulumi: Path, kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    newer = home / "plugins" / "resource-kubernetes-v4.40.0" / "pulumi-resource-kubernetes"
    newer.parent.mkdir(parents=True)
    newer.write_text("")
    monkeypatch.setenv("PULUMI_HOME", str(home))
    monkeypatch.setenv("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
    _tool(fake_pulumi.parent, "pulumi-resource-random", "")  # an ambient plugin on PATH
    check = next(c for c in run_doctor(DoctorOptions()).checks if c.name == "pulumi plugins")
    assert check.ok and check.detail == "kubernetes v4.34.2, random v4.21.4"
    monkeypatch.setenv("PULUMI_IGNORE_AMBIENT_PLUGINS", "1")
    check = next(c for c in run_doctor(DoctorOptions()).checks if c.name == "pulumi plugins")
    assert check.detail.startswith("not installed: random v4.21.4")
