"""``down`` and ``status`` for any inline program's stack.

``down`` destroys with ``exclude_protected=True``: the data holders the platform marks
``protect=True`` (database, object store, their volumes and namespaces) stay, in the cluster
and in the state, so the next ``mlplat up`` finds its data again. ``--delete-data`` asks a
second time (``--yes`` confirms both), clears the protection in the state
(`mlplat.stack.state.release_data`) and destroys everything.

``status`` reads the stack without changing it: outputs (secrets withheld unless
``--show-secrets``), the last update, and resource counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlplat.errors import ExitCode, MlplatError
from mlplat.stack.failures import exit_code_of, translate
from mlplat.stack.interrupt import graceful_interrupts
from mlplat.stack.operations import (
    cancelled_error,
    recover,
    require_confirmation,
    stopped_error,
)
from mlplat.stack.outputs import Outputs, split_outputs
from mlplat.stack.progress import Progress
from mlplat.stack.session import (
    Session,
    StackOptions,
    Target,
    open_target,
    sdk_errors,
    stack_context,
)
from mlplat.stack.state import release_data
from mlplat.stack.ui import Ui

__all__ = ["DownResult", "StatusResult", "run_down", "run_status"]


@dataclass(frozen=True, kw_only=True)
class DownResult:
    """What ``down`` did.

    Attributes:
        stack: Stack name.
        backend: Backend URL.
        deleted: Resources deleted.
        kept: Resources still in the stack (the protected data, unless ``--delete-data``).
        released: Resources whose protection ``--delete-data`` removed.
    """

    stack: str
    backend: str
    deleted: int
    kept: int
    released: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable form for ``--json``."""
        return {
            "stack": self.stack,
            "backend": self.backend,
            "deleted": self.deleted,
            "kept": self.kept,
            "released": self.released,
        }


def run_down(target: Target, options: StackOptions, ui: Ui, session: Session) -> DownResult:
    """Destroy the stack's resources, keeping protected data unless ``delete_data``."""
    from pulumi import automation as auto

    require_confirmation(options, f"destroy {target.what}")
    opened = open_target(target, options, ui, session, operation="down", create=False)
    with sdk_errors("down", options.stack):
        facts = opened.facts()
    context = stack_context(facts, options)
    where = f" on kube context {context.name!r}" if context else ""
    if facts.resources == 0:
        ui.message(f"Stack {options.stack!r} has no resources; nothing to destroy.")
        return DownResult(stack=options.stack, backend=opened.backend.url, deleted=0, kept=0)
    if facts.pending:
        recover(opened, facts, options, ui, operation="down")
    if options.delete_data:
        question = (
            f"Destroy all {facts.resources} resources of stack {options.stack!r}{where}, "
            f"INCLUDING the {facts.protected} protected data resources?"
        )
    else:
        question = (
            f"Destroy stack {options.stack!r}{where}: {facts.resources - facts.protected} "
            f"resources, keeping the {facts.protected} protected data resources?"
        )
    if not options.yes and not ui.confirm(question):
        raise MlplatError("not destroyed: not confirmed; nothing changed")
    if options.delete_data and not options.yes:
        again = "The database, object store and their volumes cannot be recovered. Delete them?"
        if not ui.confirm(again):
            raise MlplatError("not destroyed: deleting the data was not confirmed; nothing changed")
    released = 0
    if options.delete_data:
        with sdk_errors("down", options.stack):
            released = release_data(opened.stack)
        ui.message(f"Removed the protection of {released} resource(s).")
    progress = Progress(total=facts.resources if options.delete_data else None)
    title = f"Destroying {target.what} (stack {options.stack})"
    with graceful_interrupts(ui.message) as interrupts, ui.progress(progress, title) as on_event:
        try:
            opened.stack.destroy(
                exclude_protected=not options.delete_data,
                on_event=on_event,
                on_output=ui.output,
                on_error=ui.output,
            )
        except KeyboardInterrupt:
            raise stopped_error("down", options.stack) from None
        except auto.CommandError as exc:
            if interrupts.cancelling or exit_code_of(exc) == ExitCode.CANCELLED:
                raise cancelled_error(opened, "down", options.stack, progress) from exc
            raise translate(
                exc, operation="down", stack=options.stack, failures=progress.failures
            ) from exc
    with sdk_errors("down", options.stack):
        kept = opened.facts().resources
    return DownResult(
        stack=options.stack,
        backend=opened.backend.url,
        deleted=progress.done,
        kept=kept,
        released=released,
    )


@dataclass(frozen=True, kw_only=True)
class StatusResult:
    """A stack at a glance.

    Attributes:
        stack: Stack name.
        backend: Backend URL.
        outputs: Outputs (secret values withheld unless asked for).
        secret_values: Secret outputs' values, only with ``--show-secrets``.
        last_update: ``kind``, ``result``, ``start``, ``end``, ``changes`` of the last operation.
        resources: Resources in the stack (providers and the stack itself excluded).
        protected: How many are protected.
        pending: Pending operations left by an interrupted update.
        kube_context: The cluster the stack deploys to.
        locked: An update is in progress (or a killed one left its lock).
    """

    stack: str
    backend: str
    outputs: Outputs
    secret_values: dict[str, Any]
    last_update: dict[str, Any] | None
    resources: int
    protected: int
    pending: int
    kube_context: str | None
    locked: bool

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable form for ``--json``."""
        data: dict[str, Any] = {
            "stack": self.stack,
            "backend": self.backend,
            "kube_context": self.kube_context,
            "outputs": self.outputs.public,
            "secret_outputs": list(self.outputs.secret),
            "last_update": self.last_update,
            "resources": {
                "total": self.resources,
                "protected": self.protected,
                "pending_operations": self.pending,
            },
            "locked": self.locked,
        }
        if self.secret_values:
            data["secret_values"] = self.secret_values
        return data


def run_status(target: Target, options: StackOptions, ui: Ui, session: Session) -> StatusResult:
    """Read the stack's outputs, last update and counts (changes nothing)."""
    opened = open_target(target, options, ui, session, operation="status", create=False)
    stack = opened.stack
    with sdk_errors("status", options.stack):
        raw_outputs = stack.outputs()
        info = stack.info(show_secrets=False)
        facts = opened.facts()
        summaries = stack.workspace.list_stacks()
    outputs = split_outputs(raw_outputs)
    secret_values = (
        {k: raw_outputs[k].value for k in outputs.secret} if options.show_secrets else {}
    )
    summary = next((s for s in summaries if s.name.rsplit("/", 1)[-1] == options.stack), None)
    return StatusResult(
        stack=options.stack,
        backend=opened.backend.url,
        outputs=outputs,
        secret_values=secret_values,
        last_update=_last_update(info),
        resources=facts.resources,
        protected=facts.protected,
        pending=len(facts.pending),
        kube_context=facts.kube_context,
        locked=bool(summary and summary.update_in_progress),
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _last_update(info: Any) -> dict[str, Any] | None:
    if info is None:
        return None
    return {
        "kind": info.kind,
        "result": info.result,
        "start": _iso(info.start_time),
        "end": _iso(info.end_time),
        "changes": {str(k): int(v) for k, v in (info.resource_changes or {}).items()},
    }
