"""``down`` for any inline program's stack: destroy it, keeping the protected data.

``down`` destroys with ``exclude_protected=True``: the data holders the platform marks
``protect=True`` (database, object store, their volumes and namespaces) stay, in the cluster
and in the state, so the next ``mlplat up`` finds its data again. ``--delete-data`` asks a
second time (``--yes`` confirms both), clears the protection in the state
(`mlplat.stack.state.release_data`) and destroys everything.

``down`` never runs the program: it acts on what the state holds, on the cluster the state is
pinned to, so a model's deployment can be removed after the platform is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlplat.errors import MlplatError
from mlplat.stack.progress import Progress
from mlplat.stack.session import Session, Target, open_run, sdk_errors
from mlplat.stack.state import release_data

__all__ = ["DownResult", "run_down"]


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


def run_down(session: Session, target: Target) -> DownResult:
    """Destroy the stack's resources, keeping protected data unless ``delete_data``."""
    options, ui = session.options, session.ui
    run = open_run(session, target, operation="down", create=False, confirm=target.action)
    facts = run.facts("down")
    context = run.stack_context(facts)
    where = f" on kube context {context.name!r}" if context else ""
    if facts.resources == 0:
        ui.message(f"Stack {run.name!r} has no resources; nothing to destroy.")
        return DownResult(stack=run.name, backend=session.workspace.backend.url, deleted=0, kept=0)
    if facts.pending:
        run.recover(facts, operation="down")
    if options.delete_data:
        question = (
            f"Destroy all {facts.resources} resources of stack {run.name!r}{where}, "
            f"INCLUDING the {facts.protected} protected data resources?"
        )
    else:
        question = (
            f"Destroy stack {run.name!r}{where}: {facts.resources - facts.protected} "
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
        with sdk_errors("down", run.name):
            released = release_data(run.stack)
        ui.message(f"Removed the protection of {released} resource(s).")
    progress = Progress(total=facts.resources if options.delete_data else None)
    title = f"Destroying {target.what} (stack {run.name})"
    with run.engine("down", progress, title) as on_event:
        run.stack.destroy(
            exclude_protected=not options.delete_data,
            on_event=on_event,
            on_output=ui.output,
            on_error=ui.output,
        )
    return DownResult(
        stack=run.name,
        backend=session.workspace.backend.url,
        deleted=progress.done,
        kept=run.facts("down").resources,
        released=released,
    )
