"""``up`` and ``preview`` for any inline program: preview, confirm, deploy, recover.

One flow serves the platform (``mlplat up``) and a project's model (``mlplat deploy``), after
`mlplat.stack.session.preflight` and with the target resolved:

1. refuse to deploy unconfirmed when nobody can be asked (exit 2), then open the stack and
   break its lock if ``--force-unlock`` (`mlplat.stack.session.open_run`);
2. read the checkpoint: a stack pinned to another cluster is refused; pending operations
   left by an interrupted update are reported and, if confirmed (``--recover`` or a prompt),
   cleared with Pulumi's documented recovery, ``refresh(clear_pending_creates=True)``;
3. set the stack config (plain and secret);
4. unless ``--yes``: preview with progress, show the plan, ask;
5. ``up`` with live progress; Ctrl-C cancels cleanly (`mlplat.stack.session.StackRun.engine`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplat.errors import MlplatError
from mlplat.stack.outputs import Outputs, split_outputs
from mlplat.stack.progress import PlannedStep, Progress, op_counts
from mlplat.stack.session import Session, StackRun, Target, open_run, sdk_errors
from mlplat.stack.ui import plan_lines

__all__ = ["UpResult", "run_preview", "run_up"]


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


def run_preview(session: Session, target: Target) -> UpResult:
    """Show what ``up`` would change, changing nothing (no confirmation needed)."""
    run = open_run(session, target, operation="preview", create=True, confirm=None)
    _prepare(run, operation="preview")
    progress = _preview(run, operation="preview")
    return _result(run, progress, deployed=False)


def run_up(session: Session, target: Target) -> UpResult:
    """Deploy ``target``: preview and confirm unless ``--yes``, then update with progress."""
    operation, options, ui = target.command, session.options, session.ui
    run = open_run(session, target, operation=operation, create=True, confirm=target.action)
    _prepare(run, operation=operation)
    total = None
    if not options.yes:
        plan = _preview(run, operation=operation)
        changed = {op: n for op, n in (plan.changes or {}).items() if op != "same" and n}
        if not changed:
            return _result(run, plan, deployed=False, outputs=True)
        where = target.context_name or "the cluster"
        if not ui.confirm(f"Deploy these changes to stack {options.stack!r} on {where}?"):
            raise MlplatError("not deployed: the changes were not confirmed; nothing changed")
        total = sum(changed.values())
    if target.before_update is not None:
        target.before_update()
    progress = Progress(total=total)
    title = f"Deploying {target.what} (stack {options.stack})"
    with run.engine(operation, progress, title) as on_event:
        result = run.stack.up(on_event=on_event, on_output=ui.output, on_error=ui.output)
    if progress.changes is None and result.summary.resource_changes:
        progress.changes = op_counts(result.summary.resource_changes)
    return _result(run, progress, deployed=True, outputs=True)


def _prepare(run: StackRun, *, operation: str) -> None:
    """Check the checkpoint (cluster pin, pending operations), then set the stack config."""
    from pulumi import automation as auto

    facts = run.facts(operation)
    run.check_pinned_context(facts)
    if facts.pending:
        run.recover(facts, operation=operation)
    target = run.target
    values = {k: auto.ConfigValue(value=v) for k, v in target.config.items()}
    values |= {k: auto.ConfigValue(value=v, secret=True) for k, v in target.secrets.items()}
    if values:
        with sdk_errors(operation, run.name):
            run.stack.set_all_config(values)


def _preview(run: StackRun, *, operation: str) -> Progress:
    """Preview with progress and show the plan; ``operation`` names the command in hints."""
    progress = Progress()
    title = f"Previewing {run.target.what} (stack {run.name})"
    ui = run.ui
    with run.engine(operation, progress, title) as on_event:
        result = run.stack.preview(on_event=on_event, on_output=ui.output, on_error=ui.output)
    progress.changes = op_counts(result.change_summary)
    for line in plan_lines(progress.planned, progress.changes):
        ui.message(line)
    return progress


def _result(
    run: StackRun, progress: Progress, *, deployed: bool, outputs: bool = False
) -> UpResult:
    shown = Outputs(public={}, secret=())
    if outputs:
        with sdk_errors("status", run.name):
            shown = split_outputs(run.stack.outputs())
    return UpResult(
        stack=run.name,
        backend=run.session.workspace.backend.url,
        kube_context=run.target.context_name,
        changes=dict(progress.changes or {}),
        outputs=shown,
        planned=tuple(progress.planned),
        deployed=deployed,
        passphrase_created=run.passphrase_created,
    )
