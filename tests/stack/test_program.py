"""The inline platform program under Pulumi's mock runtime (no engine, no cluster)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mlplat.errors import UsageError
from mlplat.platform_config import load_platform_config
from mlplat.render._mock import run_mocked
from mlplat.stack.program import (
    missing_secret,
    platform_program,
    secret_config,
    secret_env_name,
)


def _run(program: Any, config: dict[str, str] | None = None) -> Any:
    """Run under mocks with ``config`` as the stack config (set inside the run's context)."""

    def with_config() -> None:
        import pulumi

        pulumi.runtime.set_all_config(dict(config or {}), list(config or {}))
        program.run()

    return run_mocked(with_config, stack="ci")


def test_program_registers_the_platform_on_the_pinned_context() -> None:
    config = dataclasses.replace(load_platform_config(None, "dev"), kube_context="kind-mlplat")
    program = platform_program(config)
    registrations, _ = _run(program)
    providers = [r for r in registrations if r.type == "pulumi:providers:kubernetes"]
    assert [p.inputs.get("context") for p in providers] == ["kind-mlplat"]
    components = {r.type for r in registrations if not r.custom}
    assert {"mlplat:index:Registry", "mlplat:index:Pipelines", "mlplat:index:Serving"} <= components
    assert any(r.protect for r in registrations), "data holders must stay protected"
    assert program.error is None


def test_program_reads_external_secrets_from_stack_config(tmp_path: Any) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "database:\n  external:\n    host: db.example.com\ncomponents:\n  database: false\n"
    )
    config = load_platform_config(path, None)
    failing = platform_program(config)
    with pytest.raises(Exception):  # noqa: B017 - the mock runtime re-raises the program's error
        _run(failing)
    error = missing_secret(failing.error)
    assert isinstance(error, UsageError)
    assert error.message == (
        "database.external needs the secret mlplat:db_password, which the stack does not have"
    )

    program = platform_program(config)
    registrations, _ = _run(program, {"mlplat:db_password": "pw"})
    assert program.error is None
    assert not any(r.type.endswith("postgresql.cnpg.io/v1:Cluster") for r in registrations)


def test_secret_config_comes_from_mlplat_environment_variables() -> None:
    env = {"MLPLAT_S3_ACCESS_KEY_ID": "id", "MLPLAT_S3_SECRET_ACCESS_KEY": "", "OTHER": "x"}
    assert secret_config(env) == {"mlplat:s3_access_key_id": "id"}
    assert secret_env_name("oidc_client_secret") == "MLPLAT_OIDC_CLIENT_SECRET"


def test_other_program_errors_are_not_usage_errors() -> None:
    assert missing_secret(RuntimeError("boom")) is None
