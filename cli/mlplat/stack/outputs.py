"""A stack's outputs as people and scripts read them: secrets withheld, and how to reach things.

``Stack.outputs()`` returns every output with a ``secret`` flag (the SDK asks the CLI twice,
masked and with ``--show-secrets``). Only non-secret values are ever shown; secret ones are
listed by name. `reach` turns the platform's exports (``mlflow_url``,
``mlflow_port_forward``, ``argo_token_command``, ...) into the few lines that say how to open
MLflow, Argo and the inference endpoints, with ``kubectl --context`` pinned to the stack's
cluster so the commands cannot hit another one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Outputs", "output_lines", "reach", "split_outputs"]


@dataclass(frozen=True, kw_only=True)
class Outputs:
    """Outputs split by secrecy.

    Attributes:
        public: Non-secret outputs, by name.
        secret: Names of secret outputs (values withheld).
    """

    public: dict[str, Any]
    secret: tuple[str, ...]


def split_outputs(outputs: Mapping[str, Any]) -> Outputs:
    """Split an ``auto.OutputMap`` (name -> ``OutputValue(value, secret)``)."""
    public = {k: v.value for k, v in sorted(outputs.items()) if not v.secret}
    secret = tuple(sorted(k for k, v in outputs.items() if v.secret))
    return Outputs(public=public, secret=secret)


def output_lines(outputs: Outputs) -> list[str]:
    """``name: value`` for each set, non-secret output, then the secret ones by name only."""
    lines = [f"{k}: {v}" for k, v in outputs.public.items() if v not in (None, "")]
    if outputs.secret:
        lines.append("secret outputs (not shown): " + ", ".join(outputs.secret))
    return lines


def _pin(command: str, context: str | None) -> str:
    if context and command.startswith("kubectl ") and "--context" not in command:
        return f"kubectl --context {context} " + command.removeprefix("kubectl ")
    return command


def _local_url(port_forward: str) -> str | None:
    """``http://localhost:PORT`` for a ``kubectl port-forward svc/x LOCAL:REMOTE`` command."""
    last = port_forward.rsplit(" ", 1)[-1]
    local = last.split(":", 1)[0]
    return f"http://localhost:{local}" if local.isdigit() else None


def reach(outputs: Outputs, *, context: str | None) -> list[str]:
    """How to reach the platform's UIs and models, from its outputs."""
    out = outputs.public
    lines: list[str] = []
    for label, url_key, forward_key in (
        ("MLflow", "mlflow_url", "mlflow_port_forward"),
        ("Argo Workflows", "argo_url", "argo_port_forward"),
    ):
        if out.get(url_key):
            lines.append(f"{label}: {out[url_key]}")
        elif out.get(forward_key):
            forward = _pin(str(out[forward_key]), context)
            local = _local_url(forward)
            lines.append(f"{label}: {forward}" + (f"   then open {local}" if local else ""))
    if out.get("argo_token_command"):
        lines.append(f"Argo login token: {_pin(str(out['argo_token_command']), context)}")
    if out.get("models_url_template"):
        lines.append(f"Inference: {out['models_url_template']}")
    elif out.get("models_namespace"):
        lines.append(
            f"Inference: InferenceServices in namespace {out['models_namespace']} "
            f"(service account {out.get('models_service_account', 'default')}); reach one "
            "with `"
            + _pin(
                f"kubectl -n {out['models_namespace']} port-forward svc/<name>-predictor 8080:80",
                context,
            )
            + "`"
        )
    if out.get("auth_username") and outputs.secret:
        lines.append(
            f"Gateway login: user {out['auth_username']}; the password is the secret output "
            "auth_password (`mlplat status --show-secrets` prints it)"
        )
    if out.get("exposure"):
        lines.append(f"Exposure: {out['exposure']}")
    return lines
