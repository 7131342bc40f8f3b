"""The stack commands' entry points: ``up``, ``preview``, ``down``, ``status``.

Each command is one path: options → checks → target → `mlplat.stack.session.open_run` (the
confirmation, then the stack) → the operation. Checks run cheapest and most actionable first,
and all of them before the confirmation: the project or the config file (exit 2), the
backend URL (exit 2), the Pulumi CLI and the passphrase source (exit 1), the kube context,
the cluster; only then does a run without ``--yes`` off a terminal stop (exit 2).

The platform program is the one `mlplat_platform.build_platform` that ``mlplat render`` and
``pulumi up`` in ``platform/`` run, on a config read by the same loader, with the kube
context resolved once (``--kube-context`` > the config's ``kube_context`` > the current one)
and pinned into the provider. Secrets for external services come from ``MLPLAT_<NAME>``
environment variables (`mlplat.stack.program.secret_config`).

``down`` and ``status`` act on a stack's state and never run a program: the platform's, or
with ``--project DIR`` that project's model deployment (`mlplat.stack.deploy`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from mlplat.platform_config import load_platform_config
from mlplat.stack.deploy import deployment_target
from mlplat.stack.kube import resolve_context
from mlplat.stack.operations import UpResult, run_preview, run_up
from mlplat.stack.program import (
    PLATFORM_PROJECT,
    InlineProgram,
    never_run,
    platform_program,
    secret_config,
)
from mlplat.stack.project import find_project
from mlplat.stack.session import StackOptions, Target, preflight
from mlplat.stack.status import StatusResult, run_status
from mlplat.stack.teardown import DownResult, run_down
from mlplat.stack.ui import TerminalUi, Ui

if TYPE_CHECKING:
    from mlplat_platform import PlatformConfig

__all__ = ["PLATFORM_PROJECT", "down", "platform_target", "preview", "state_target", "status", "up"]

_WHAT = "the platform"


def platform_target(options: StackOptions, config: PlatformConfig) -> Target:
    """The platform program for ``config``, pinned to the cluster ``options`` resolve to.

    Raises:
        UsageError: The context named by ``--kube-context`` or the config is not in kubeconfig.
        MlplatError: None is named and kubeconfig has no current context.
    """
    if options.kube_context:
        context = resolve_context(options.kube_context)
    else:
        context = resolve_context(config.kube_context, source="the config's kube_context")
    pinned = dataclasses.replace(config, kube_context=context.name)
    return Target(
        project=PLATFORM_PROJECT,
        what=_WHAT,
        action=f"deploy {_WHAT}",
        program=platform_program(pinned),
        kube_context=context,
        secrets=secret_config(),
    )


def state_target(options: StackOptions) -> Target:
    """The stack ``down`` and ``status`` act on: the platform's, or ``--project``'s model's.

    Raises:
        UsageError: ``--project`` is not inside a generated project.
    """
    if options.project is not None:
        return deployment_target(find_project(options.project))
    return Target(
        project=PLATFORM_PROJECT,
        what=_WHAT,
        action=f"destroy {_WHAT}",
        program=InlineProgram(body=never_run),
    )


def up(options: StackOptions, ui: Ui | None = None) -> UpResult:
    """``mlplat up``: deploy the platform (preview and confirm unless ``options.yes``)."""
    config = load_platform_config(options.config, options.profile)
    session = preflight(options, ui or TerminalUi())
    return run_up(session, platform_target(options, config))


def preview(options: StackOptions, ui: Ui | None = None) -> UpResult:
    """``mlplat preview``: what ``up`` would change."""
    config = load_platform_config(options.config, options.profile)
    session = preflight(options, ui or TerminalUi())
    return run_preview(session, platform_target(options, config))


def down(options: StackOptions, ui: Ui | None = None) -> DownResult:
    """``mlplat down``: destroy the stack's resources, keeping its data unless ``delete_data``."""
    target = state_target(options)
    return run_down(preflight(options, ui or TerminalUi()), target)


def status(options: StackOptions, ui: Ui | None = None) -> StatusResult:
    """``mlplat status``: outputs, last update and resource counts."""
    target = state_target(options)
    return run_status(preflight(options, ui or TerminalUi()), target)
