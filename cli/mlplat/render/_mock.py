"""Run the platform program under Pulumi's mock runtime and record every registration.

No engine, no provider plugin, no cluster: `pulumi.runtime.set_mocks` answers each resource
registration in-process. The recording monitor keeps what the mock API does not hand to
`Mocks.new_resource` (protect, retain-on-delete, parent), which tests assert on.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Registration", "run_mocked"]

#: What a generated password or key looks like in a render. Renders never hold real secrets.
MOCK_SECRET = "mock-secret-value"


@dataclass(frozen=True, kw_only=True)
class Registration:
    """One resource the program registered, with its inputs and options.

    Attributes:
        type: Pulumi type token (``kubernetes:apps/v1:Deployment``).
        name: Logical resource name.
        inputs: Inputs after deserialisation (numbers are floats, secrets are wrapped).
        custom: Whether it is a custom resource (not a component).
        protect: ``protect`` option.
        retain_on_delete: ``retainOnDelete`` option.
        parent: URN of the parent.
        urn: Its own URN.
        dependencies: URNs of its explicit ``depends_on`` resources.
        additional_secret_outputs: Outputs the program asked to be kept secret.
        provider: Reference (``urn::id``) of the provider it was registered with.
    """

    type: str
    name: str
    inputs: dict[str, Any]
    custom: bool
    protect: bool
    retain_on_delete: bool
    parent: str
    urn: str
    dependencies: tuple[str, ...] = ()
    additional_secret_outputs: tuple[str, ...] = ()
    provider: str = ""


def run_mocked(
    program: Callable[[], Any], *, project: str = "mlplat", stack: str = "render"
) -> tuple[list[Registration], Any]:
    """Run ``program`` under mocks in a fresh context; return registrations and its result.

    The fresh `contextvars.Context` keeps Pulumi's global settings (root stack, monitor) from
    leaking between runs, so rendering twice in one process gives the same result.
    """
    return contextvars.Context().run(_run, program, project, stack)


def _run(program: Callable[[], Any], project: str, stack: str) -> tuple[list[Registration], Any]:
    import pulumi
    from pulumi.runtime import mocks

    recorded: list[Registration] = []
    pending: dict[tuple[str, str], tuple[dict[str, Any], bool]] = {}
    lock = threading.Lock()

    class _Monitor(mocks.MockMonitor):
        def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
            response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
            if request.type == "pulumi:pulumi:Stack":
                return response
            with lock:
                inputs, custom = pending.pop((request.type, request.name), ({}, request.custom))
                recorded.append(
                    Registration(
                        type=request.type,
                        name=request.name,
                        inputs=inputs,
                        custom=bool(custom),
                        protect=bool(request.protect),
                        retain_on_delete=bool(request.retainOnDelete),
                        parent=request.parent,
                        urn=response.urn,
                        dependencies=tuple(request.dependencies),
                        additional_secret_outputs=tuple(request.additionalSecretOutputs),
                        provider=request.provider,
                    )
                )
            return response

    class _Mocks(mocks.Mocks):
        def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
            state = dict(args.inputs)
            if args.typ.startswith("random:"):
                state["result"] = MOCK_SECRET
            with lock:
                pending[(args.typ, args.name)] = (dict(args.inputs), bool(args.custom))
            return f"{args.name}-id", state

        def call(self, args: Any) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
            return {}, None

    mock = _Mocks()
    monitor = _Monitor(mock)
    pulumi.runtime.set_mocks(
        mock,
        project=project,
        stack=stack,
        preview=False,
        monitor=monitor,
        logger=logging.getLogger("mlplat.render"),
    )
    result: dict[str, Any] = {}

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def _program() -> Any:
        result["value"] = program()
        return result["value"]

    _program()
    return recorded, result.get("value")
