"""``status`` for any inline program's stack: read it without changing it.

Outputs (secrets withheld unless ``--show-secrets``), the last update, resource counts
(protected, pending operations) and whether the stack is locked. Reading needs no cluster
and never runs the program.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mlplat.stack.outputs import Outputs, split_outputs
from mlplat.stack.session import Session, Target, open_run, sdk_errors

if TYPE_CHECKING:
    from pulumi.automation import UpdateSummary

__all__ = ["StatusResult", "run_status"]


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


def run_status(session: Session, target: Target) -> StatusResult:
    """Read the stack's outputs, last update and counts (changes nothing)."""
    options = session.options
    run = open_run(session, target, operation="status", create=False, confirm=None)
    stack = run.stack
    with sdk_errors("status", run.name):
        raw_outputs = stack.outputs()
        info = stack.info(show_secrets=False)
        facts = run.facts("status")
        summaries = stack.workspace.list_stacks()
    # Outputs of a stack that holds no resource describe nothing that exists: the engine
    # records the program's outputs even when the first update failed before creating
    # anything (seen on a real run stopped by a missing provider plugin).
    outputs = split_outputs(raw_outputs if facts.resources else {})
    secret_values = (
        {k: raw_outputs[k].value for k in outputs.secret} if options.show_secrets else {}
    )
    summary = next((s for s in summaries if s.name.rsplit("/", 1)[-1] == run.name), None)
    return StatusResult(
        stack=run.name,
        backend=session.workspace.backend.url,
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


def _last_update(info: UpdateSummary | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return {
        "kind": info.kind,
        "result": info.result,
        "start": _iso(info.start_time),
        "end": _iso(info.end_time),
        "changes": {str(k): int(v) for k, v in (info.resource_changes or {}).items()},
    }
