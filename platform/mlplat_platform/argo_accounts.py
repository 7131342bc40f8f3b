"""The pipelines namespace's own identities: who logs in to Argo, and who the monitor runs as.

The chart makes one account for workflow pods, ``argo-workflow`` (argo-helm
argo-workflows-1.0.18: templates/controller/workflow-sa.yaml, workflow-role.yaml), allowed only
``create`` and ``patch`` on ``workflowtaskresults`` (what Argo's executor needs to report a
step's outputs). It is every workflow's default (``workflowDefaults``), so it stays that
narrow: a workflow anyone submits runs as it.

Two accounts are ours:

- ``argo-ui``: the token people log in to the UI with (the server runs in ``client`` mode).
- ``argo-monitor``: a project's monitor CronWorkflow (``mlplat_runtime.pipeline.argo_monitor``)
  runs as it. On a ``retrain`` decision its resource step creates a Workflow from the project's
  WorkflowTemplate (``kubectl create``, no wait, so no read back). It may do exactly that and
  report its steps' outputs; it cannot read, change or delete workflows, nor touch templates,
  schedules, pods or secrets. A dedicated account rather than a grant to ``argo-workflow``:
  only the monitor's pods hold a token that can start work in the namespace.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.rbac.v1 as rbac

__all__ = ["MONITOR_ACCOUNT", "UI_ACCOUNT", "monitor_account", "ui_account"]

#: The service account whose token logs people in to the Argo UI.
UI_ACCOUNT = "argo-ui"
#: The service account projects' monitor CronWorkflows run as (``argo.monitor_service_account``).
MONITOR_ACCOUNT = "argo-monitor"

_READ = ["get", "list", "watch"]
#: What Argo's executor does with the pod's token in every step: report outputs.
_EXECUTOR_RULE = {
    "apiGroups": ["argoproj.io"],
    "resources": ["workflowtaskresults"],
    "verbs": ["create", "patch"],
}


def _bound_role(
    name: str,
    account: str,
    ns: str,
    rules: list[dict[str, list[str]]],
    opts: pulumi.ResourceOptions,
    *,
    automount: bool,
) -> None:
    """A service account with one namespaced Role bound to it, all named ``account``."""
    core.ServiceAccount(
        f"{name}-sa",
        metadata={"name": account, "namespace": ns},
        automount_service_account_token=automount,
        opts=opts,
    )
    rbac.Role(f"{name}-role", metadata={"name": account, "namespace": ns}, rules=rules, opts=opts)
    rbac.RoleBinding(
        f"{name}-binding",
        metadata={"name": account, "namespace": ns},
        role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
        subjects=[{"kind": "ServiceAccount", "name": account, "namespace": ns}],
        opts=opts,
    )


def ui_account(name: str, ns: str, opts: pulumi.ResourceOptions) -> None:
    """The identity people log in to the Argo UI with (client mode asks for a token).

    Read-mostly and namespaced: watch and submit workflows, read templates and step logs;
    no update or delete. ``kubectl create token`` issues a short-lived token for it; no pod
    runs as it, so no token is mounted.
    """
    rules = [
        {"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": [*_READ, "create"]},
        {
            "apiGroups": ["argoproj.io"],
            "resources": ["workflowtemplates", "cronworkflows", "workfloweventbindings"],
            "verbs": _READ,
        },
        {"apiGroups": [""], "resources": ["pods", "pods/log", "events"], "verbs": _READ},
    ]
    _bound_role(f"{name}-ui", UI_ACCOUNT, ns, rules, opts, automount=False)


def monitor_account(name: str, ns: str, opts: pulumi.ResourceOptions) -> None:
    """The identity of the monitor CronWorkflows: report outputs, create a Workflow, no more.

    Its pods' executor needs the token (Argo mounts it; the monitor's own container hides it
    under an empty volume), so it is mounted.
    """
    rules = [
        _EXECUTOR_RULE,
        {"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": ["create"]},
    ]
    _bound_role(f"{name}-monitor", MONITOR_ACCOUNT, ns, rules, opts, automount=True)
