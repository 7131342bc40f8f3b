"""The inline Pulumi programs ``mlplat up`` runs, and what they need from the stack config.

The platform program is `mlplat_platform.build_platform` on a config resolved by the same
loader as ``mlplat render`` and ``pulumi up`` (`mlplat_platform.load_config_file`), with the
kube context pinned. Secrets for external services are stack config secrets
(``mlplat:<name>``, listed once in `mlplat_platform.SECRET_NAMES`); `secret_config` reads
them from ``MLPLAT_<NAME>`` environment variables so CI can pass them without a file.

The program runs inside this process (the Automation API's language server calls it), so an
exception it raises is kept in `InlineProgram.error` and translated into a precise message
instead of the engine's generic "program failed".
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlplat.errors import UsageError

if TYPE_CHECKING:
    from mlplat_platform import PlatformConfig

__all__ = [
    "PLATFORM_PROJECT",
    "InlineProgram",
    "missing_secret",
    "never_run",
    "platform_program",
    "secret_config",
    "secret_env_name",
]

#: The Pulumi project of the platform: its config keys are ``mlplat:*`` (platform/Pulumi.yaml).
PLATFORM_PROJECT = "mlplat"


@dataclass
class InlineProgram:
    """An inline program and the exception it raised in its last run, if any.

    Attributes:
        body: What the program does (declares its resources).
        error: What the last `run` raised (the engine only sees a failed program).
    """

    body: Callable[[], None]
    error: BaseException | None = field(default=None)

    def run(self) -> None:
        """The function the Automation API calls: `body`, keeping what it raises."""
        self.error = None
        try:
            self.body()
        except Exception as exc:
            self.error = exc
            raise


def platform_program(config: PlatformConfig) -> InlineProgram:
    """The platform as an inline program: ``build_platform(config, secrets from config)``."""

    def body() -> None:
        from mlplat_platform import PlatformSecrets, build_platform

        build_platform(config, PlatformSecrets.from_pulumi_config())

    return InlineProgram(body=body)


def never_run() -> None:
    """The program of a command that only reads or destroys a stack's state."""
    raise RuntimeError("this stack is only read (or destroyed from its state), never updated")


def secret_env_name(name: str) -> str:
    """The environment variable that carries the stack secret ``mlplat:<name>``."""
    return f"MLPLAT_{name.upper()}"


def secret_config(environ: dict[str, str] | None = None) -> dict[str, str]:
    """``{"mlplat:<name>": value}`` for every platform secret set in the environment."""
    from mlplat_platform import SECRET_NAMES

    env = os.environ if environ is None else environ
    return {
        f"mlplat:{name}": env[secret_env_name(name)]
        for name in SECRET_NAMES
        if env.get(secret_env_name(name))
    }


def missing_secret(error: BaseException | None) -> UsageError | None:
    """A usage error for a ``ConfigError`` the program raised, or ``None`` for other errors.

    `mlplat_platform.PlatformSecrets.require` raises ``ConfigError`` when a configured external
    service has no secret; its own hint names ``pulumi config set``, which mlplat users do not
    run, so the message here names the environment variable instead.
    """
    from mlplat_platform import SECRET_NAMES, ConfigError

    if not isinstance(error, ConfigError):
        return None
    for name in SECRET_NAMES:
        if f"mlplat:{name}" in error.problem:
            return UsageError(
                f"{error.key} needs the secret mlplat:{name}, which the stack does not have",
                hint=f"Set {secret_env_name(name)} in the environment; mlplat stores it "
                "encrypted in the stack's config.",
            )
    from mlplat.platform_config import config_error

    return config_error(error)
