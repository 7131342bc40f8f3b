"""``up`` and ``preview`` for any inline program: preview, confirm, deploy, recover.

One flow serves the platform (``mlplat up``) and a project's model (``mlplat deploy``):

1. refuse to deploy unconfirmed when nobody can be asked (exit 2, before any work);
2. open the stack, break its lock if ``--force-unlock``;
3. read the checkpoint: a stack pinned to another cluster is refused; pending operations
   left by an interrupted update are reported and, if confirmed (``--recover`` or a prompt),
   cleared with Pulumi's documented recovery, ``refresh(clear_pending_creates=True)``;
4. set the stack config (plain and secret);
5. unless ``--yes``: preview with progress, show the plan, ask;
6. ``up`` with live progress; Ctrl-C cancels cleanly (`mlplat.stack.interrupt`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplat.errors import ExitCode, MlplatError, UsageError
from mlplat.stack.failures import exit_code_of, program_error, translate
from mlplat.stack.interrupt import graceful_interrupts
from mlplat.stack.outputs import Outputs, split_outputs
from mlplat.stack.program import missing_secret
from mlplat.stack.progress import PlannedStep, Progress, op_counts
from mlplat.stack.session import Opened, Session, StackOptions, Target, open_target, sdk_errors
from mlplat.stack.state import StateFacts
from mlplat.stack.ui import Ui, plan_lines

__all__ = ["UpResult", "require_confirmation", "run_preview", "run_up"]


@dataclass(frozen=True, kw_only=True)
class UpResult:
    """What an ``up`` or ``preview`` did.

    Attributes:
        stack: Stack name.
        backend: Backend URL.
        kube_context: The cluster's context.
        changes: Resource changes per operation (``create``: 12, ``same``: 80).
        outputs: The stack's outputs, secrets withheld (empty for a preview).
        planned: Changes a preview announced.
        deployed: Whether anything was deployed (``False`` for a preview or no changes).
        passphrase_created: The passphrase file mlplat created on this run, if any.
    """

    stack: str
    backend: str
    kube_context: str | None
    changes: dict[str, int]
    outputs: Outputs = field(default_factory=lambda: Outputs(public={}, secret=()))
    planned: tuple[PlannedStep, ...] = ()
    deployed: bool = False
    passphrase_created: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable form for ``--json`` (no secret values)."""
        return {
            "stack": self.stack,
            "backend": self.backend,
            "kube_context": self.kube_context,
            "deployed": self.deployed,
            "changes": self.changes,
            "planned": [{"op": s.op, "type": s.type, "name": s.name} for s in self.planned],
            "outputs": self.outputs.public,
            "secret_outputs": list(self.outputs.secret),
        }


def require_confirmation(options: StackOptions, action: str) -> None:
    """Exit 2 when a change needs confirming and nobody can be asked."""
    if not options.yes and not options.interactive:
        raise UsageError(
            f"refusing to {action} without confirmation: stdin is not a terminal",
            hint="Pass --yes to confirm, or run it in a terminal to be asked.",
        )


def run_preview(target: Target, options: StackOptions, ui: Ui, session: Session) -> UpResult:
    """Show what ``up`` would change, changing nothing."""
    opened = open_target(target, options, ui, session, operation="preview", create=True)
    _prepare(opened, target, options, ui, operation="preview")
    progress = _preview(opened, target, options, ui)
    return _result(opened, target, progress, deployed=False)


def run_up(target: Target, options: StackOptions, ui: Ui, session: Session) -> UpResult:
    """Deploy ``target``: preview and confirm unless ``--yes``, then update with progress."""
    require_confirmation(options, f"deploy {target.what}")
    opened = open_target(target, options, ui, session, operation=target.command, create=True)
    _prepare(opened, target, options, ui, operation=target.command)
    total = None
    if not options.yes:
        plan = _preview(opened, target, options, ui)
        changed = {op: n for op, n in (plan.changes or {}).items() if op != "same" and n}
        if not changed:
            return _result(opened, target, plan, deployed=False, outputs=True)
        where = target.kube_context.name if target.kube_context else "the cluster"
        if not ui.confirm(f"Deploy these changes to stack {options.stack!r} on {where}?"):
            raise MlplatError("not deployed: the changes were not confirmed; nothing changed")
        total = sum(changed.values())
    from pulumi import automation as auto

    if target.before_update is not None:
        target.before_update()
    progress = Progress(total=total)
    title = f"Deploying {target.what} (stack {options.stack})"
    with graceful_interrupts(ui.message) as interrupts, ui.progress(progress, title) as on_event:
        try:
            result = opened.stack.up(on_event=on_event, on_output=ui.output, on_error=ui.output)
        except KeyboardInterrupt:
            raise stopped_error(target.command, options.stack) from None
        except auto.CommandError as exc:
            raise _failure(exc, opened, target, options, progress, interrupts.cancelling) from exc
    if progress.changes is None and result.summary.resource_changes:
        progress.changes = op_counts(result.summary.resource_changes)
    return _result(opened, target, progress, deployed=True, outputs=True)


def _prepare(
    opened: Opened, target: Target, options: StackOptions, ui: Ui, *, operation: str
) -> None:
    """Check the checkpoint (cluster pin, pending operations), then set the stack config."""
    from pulumi import automation as auto

    with sdk_errors(operation, options.stack):
        facts = opened.facts()
    check_pinned_context(facts, target, options)
    if facts.pending:
        recover(opened, facts, options, ui, operation=operation)
    values = {k: auto.ConfigValue(value=v) for k, v in target.config.items()}
    values |= {k: auto.ConfigValue(value=v, secret=True) for k, v in target.secrets.items()}
    if values:
        with sdk_errors(operation, options.stack):
            opened.stack.set_all_config(values)


def check_pinned_context(facts: StateFacts, target: Target, options: StackOptions) -> None:
    """Refuse to point an existing stack at another cluster (it would recreate everything)."""
    wanted = target.kube_context.name if target.kube_context else None
    if facts.kube_context and wanted and facts.kube_context != wanted:
        raise UsageError(
            f"stack {options.stack!r} deploys to kube context {facts.kube_context!r}, but "
            f"this run resolved {wanted!r}",
            hint=f"Pass --kube-context {facts.kube_context} (or `kubectl config use-context "
            f"{facts.kube_context}`). To deploy to another cluster, use another --stack.",
        )


def recover(
    opened: Opened, facts: StateFacts, options: StackOptions, ui: Ui, *, operation: str
) -> None:
    """Offer Pulumi's recovery for an interrupted update's pending operations."""
    count = len(facts.pending)
    ui.message(
        f"Stack {options.stack!r} has {count} pending operation(s) from an interrupted update:\n"
        + "\n".join(f"  {op.text()}" for op in facts.pending)
    )
    question = "Refresh the stack from the cluster and clear the pending creates now?"
    if not (options.recover or (options.interactive and not options.yes and ui.confirm(question))):
        raise MlplatError(
            f"stack {options.stack!r} has {count} pending operation(s) from an interrupted update",
            hint=f"Run `mlplat {operation} --stack {options.stack} --recover`: it refreshes the "
            "state from the cluster and clears the pending creates (Pulumi's `refresh "
            "--clear-pending-creates`); objects that were created after all are adopted by "
            "the next deploy.",
        )
    progress = Progress()
    with ui.progress(progress, f"Refreshing stack {options.stack}") as on_event:
        with sdk_errors("refresh", options.stack, lambda: progress.failures):
            opened.stack.refresh(clear_pending_creates=True, on_event=on_event)
    ui.message("Cleared the pending operations.")


def _preview(opened: Opened, target: Target, options: StackOptions, ui: Ui) -> Progress:
    from pulumi import automation as auto

    progress = Progress()
    title = f"Previewing {target.what} (stack {options.stack})"
    with graceful_interrupts(ui.message) as interrupts, ui.progress(progress, title) as on_event:
        try:
            result = opened.stack.preview(
                on_event=on_event, on_output=ui.output, on_error=ui.output
            )
        except KeyboardInterrupt:
            raise stopped_error("preview", options.stack) from None
        except auto.CommandError as exc:
            raise _failure(exc, opened, target, options, progress, interrupts.cancelling) from exc
    progress.changes = op_counts(result.change_summary)
    for line in plan_lines(progress.planned, progress.changes):
        ui.message(line)
    return progress


def _failure(
    exc: BaseException,
    opened: Opened,
    target: Target,
    options: StackOptions,
    progress: Progress,
    cancelling: bool,
) -> MlplatError:
    """The error for a failed engine run: cancelled, program bug, or deploy failure."""
    operation = target.command
    if cancelling or exit_code_of(exc) == ExitCode.CANCELLED:
        return cancelled_error(opened, operation, options.stack, progress)
    if target.program.error is not None:
        return missing_secret(target.program.error) or program_error(
            target.program.error, what=target.what
        )
    return translate(exc, operation=operation, stack=options.stack, failures=progress.failures)


def cancelled_error(opened: Opened, operation: str, stack: str, progress: Progress) -> MlplatError:
    """Say what state a cleanly cancelled stack is in."""
    try:
        pending = len(opened.facts().pending)
    except Exception:  # the state is what we report on; failing to read it is not fatal
        pending = -1
    state = {
        0: "its state is saved with no pending operations",
        -1: "its state could not be read back",
    }.get(
        pending, f"its state has {pending} pending operation(s), which the next run offers to clear"
    )
    return MlplatError(
        f"cancelled: {progress.done} change(s) finished before the cancel; {state}",
        hint=f"Run `mlplat {operation} --stack {stack}` to finish, or `mlplat down --stack "
        f"{stack}` to remove what was created.",
        exit_code=ExitCode.CANCELLED,
    )


def stopped_error(operation: str, stack: str) -> MlplatError:
    """A second Ctrl-C stopped mlplat and the engine mid-operation."""
    return MlplatError(
        f"stopped at once: operations in flight on stack {stack!r} may be unfinished",
        hint=f"Run `mlplat {operation} --stack {stack}` again: it reports pending operations "
        "and offers the recovery; if it says the stack is locked, add --force-unlock.",
        exit_code=ExitCode.INTERRUPTED,
    )


def _result(
    opened: Opened, target: Target, progress: Progress, *, deployed: bool, outputs: bool = False
) -> UpResult:
    shown = Outputs(public={}, secret=())
    if outputs:
        with sdk_errors("status", opened.stack.name):
            shown = split_outputs(opened.stack.outputs())
    return UpResult(
        stack=opened.stack.name,
        backend=opened.backend.url,
        kube_context=target.kube_context.name if target.kube_context else None,
        changes=dict(progress.changes or {}),
        outputs=shown,
        planned=tuple(progress.planned),
        deployed=deployed,
        passphrase_created=opened.passphrase.created,
    )
