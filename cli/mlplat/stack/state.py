"""Facts read from a stack's checkpoint: pending operations, protection, the pinned cluster.

The checkpoint is what ``Stack.export_stack()`` returns (Pulumi's ``DeploymentV3`` JSON:
``resources`` with ``urn``, ``type``, ``protect``, ``retainOnDelete``, ``inputs``, and
``pending_operations`` with ``resource`` and ``type``). Reading it needs no cluster, so
``mlplat up`` can tell about an interrupted update and ``mlplat status`` can count what
``mlplat down`` kept before anything runs.

`release_data` is ``mlplat down --delete-data``'s state edit: the data holders are
``protect=True`` and ``retain_on_delete=True`` in the program, and Pulumi's destroy honours
both from the state, so the only way to delete them is to clear the two flags in the state
(export, edit, import: the SDK's documented route for state surgery) and then destroy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pulumi.automation import Deployment, Stack

__all__ = ["PendingOperation", "StateFacts", "read_facts", "release_data"]

_STACK_TYPE = "pulumi:pulumi:Stack"
_K8S_PROVIDER = "pulumi:providers:kubernetes"


@dataclass(frozen=True, kw_only=True)
class PendingOperation:
    """An operation an interrupted update left unfinished.

    Attributes:
        urn: The resource.
        type: ``creating``, ``updating``, ``deleting``, ``reading`` or ``importing``.
    """

    urn: str
    type: str

    def text(self) -> str:
        """``type name (interrupted while creating)``."""
        kind = self.urn.split("::")[-2] if self.urn.count("::") >= 2 else ""
        return f"{kind} {self.urn.rsplit('::', 1)[-1]} (interrupted while {self.type})".strip()


@dataclass(frozen=True, kw_only=True)
class StateFacts:
    """What a checkpoint says.

    Attributes:
        resources: Resources recorded (the stack itself and providers excluded).
        protected: How many of them are protected (kept by ``mlplat down``).
        pending: Operations an interrupted update left.
        kube_context: The context of the stack's Kubernetes provider, if it has one.
    """

    resources: int
    protected: int
    pending: tuple[PendingOperation, ...]
    kube_context: str | None


def _checkpoint(deployment: Deployment | Mapping[str, Any]) -> Mapping[str, Any]:
    data = getattr(deployment, "deployment", deployment)
    return data if isinstance(data, Mapping) else {}


def read_facts(deployment: Deployment | Mapping[str, Any]) -> StateFacts:
    """Facts from an exported deployment (an ``auto.Deployment`` or its ``deployment`` dict)."""
    data = _checkpoint(deployment)
    resources = [r for r in data.get("resources") or [] if isinstance(r, Mapping)]
    managed = [
        r
        for r in resources
        if r.get("type") != _STACK_TYPE
        and not str(r.get("type", "")).startswith("pulumi:providers:")
    ]
    context = None
    for resource in resources:
        if resource.get("type") == _K8S_PROVIDER:
            context = (resource.get("inputs") or {}).get("context") or context
    pending = tuple(
        PendingOperation(
            urn=str((op.get("resource") or {}).get("urn", "")), type=str(op.get("type", ""))
        )
        for op in data.get("pending_operations") or []
        if isinstance(op, Mapping)
    )
    return StateFacts(
        resources=len(managed),
        protected=sum(1 for r in managed if r.get("protect")),
        pending=pending,
        kube_context=str(context) if context else None,
    )


def release_data(stack: Stack) -> int:
    """Clear ``protect`` and ``retainOnDelete`` on every resource of ``stack``'s state.

    Returns:
        How many resources had either flag.
    """
    from pulumi import automation as auto

    exported = stack.export_stack()
    data = dict(_checkpoint(exported))
    released = 0
    resources = []
    for resource in data.get("resources") or []:
        item = dict(resource)
        if item.get("protect") or item.get("retainOnDelete"):
            released += 1
        item.pop("protect", None)
        item.pop("retainOnDelete", None)
        resources.append(item)
    if released:
        data["resources"] = resources
        stack.import_stack(auto.Deployment(version=exported.version, deployment=data))
    return released
