"""The platform's stack commands: `up`, `preview`, `down`, `status` on project ``mlplat``.

The platform program is the one `mlplat_platform.build_platform` that ``mlplat render`` and
``pulumi up`` in ``platform/`` run, on a config read by the same loader, with the kube
context resolved once (``--kube-context`` > the config's ``kube_context`` > the current one)
and pinned into the provider. Secrets for external services come from ``MLPLAT_<NAME>``
environment variables (`mlplat.stack.program.secret_config`).

Checks run cheapest and most actionable first: confirmation (exit 2), the config file
(exit 2), the backend URL (exit 2), the Pulumi CLI, the kube context, the cluster.
"""

from __future__ import annotations

import dataclasses

from mlplat.platform_config import load_platform_config
from mlplat.stack.kube import resolve_context
from mlplat.stack.operations import UpResult, require_confirmation, run_preview, run_up
from mlplat.stack.program import InlineProgram, platform_program, secret_config
from mlplat.stack.session import StackOptions, Target, preflight
from mlplat.stack.teardown import DownResult, StatusResult, run_down, run_status
from mlplat.stack.ui import TerminalUi, Ui

__all__ = ["PLATFORM_PROJECT", "down", "platform_target", "preview", "status", "up"]

#: The Pulumi project of the platform: its config keys are ``mlplat:*`` (platform/Pulumi.yaml).
PLATFORM_PROJECT = "mlplat"
_WHAT = "the platform"


def platform_target(options: StackOptions, config: object | None) -> Target:
    """The platform program for ``options``.

    Args:
        options: The command's options.
        config: The loaded `PlatformConfig` for ``up``/``preview`` (the cluster is resolved
            and pinned into it); ``None`` for ``down`` and ``status``, which act on what the
            state holds and never run the program.
    """
    if config is None:
        return Target(project=PLATFORM_PROJECT, what=_WHAT, program=InlineProgram(run=_not_run))
    configured = getattr(config, "kube_context", None)
    if options.kube_context:
        context = resolve_context(options.kube_context)
    else:
        context = resolve_context(configured, source="the config's kube_context")
    pinned = dataclasses.replace(config, kube_context=context.name)  # type: ignore[type-var]
    return Target(
        project=PLATFORM_PROJECT,
        what=_WHAT,
        program=platform_program(pinned),
        kube_context=context,
        secrets=secret_config(),
    )


def _not_run() -> None:
    raise RuntimeError("down and status act on the stack's state and never run the program")


def up(options: StackOptions, ui: Ui | None = None) -> UpResult:
    """``mlplat up``: deploy the platform (preview and confirm unless ``options.yes``)."""
    require_confirmation(options, "deploy the platform")
    config = load_platform_config(options.config, options.profile)
    session = preflight(options)
    return run_up(platform_target(options, config), options, ui or TerminalUi(), session)


def preview(options: StackOptions, ui: Ui | None = None) -> UpResult:
    """``mlplat preview``: what ``up`` would change."""
    config = load_platform_config(options.config, options.profile)
    session = preflight(options)
    return run_preview(platform_target(options, config), options, ui or TerminalUi(), session)


def down(options: StackOptions, ui: Ui | None = None) -> DownResult:
    """``mlplat down``: destroy the platform, keeping its data unless ``delete_data``."""
    require_confirmation(options, "destroy the platform")
    session = preflight(options)
    return run_down(platform_target(options, None), options, ui or TerminalUi(), session)


def status(options: StackOptions, ui: Ui | None = None) -> StatusResult:
    """``mlplat status``: outputs, last update and resource counts."""
    session = preflight(options)
    return run_status(platform_target(options, None), options, ui or TerminalUi(), session)
