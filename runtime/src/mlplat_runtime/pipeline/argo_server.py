"""Submit one run of the compiled pipeline to the platform's Argo server (``--submit``).

The run is a Workflow carrying the WorkflowTemplate's spec inline (or, with ``--monitor``, the
monitor CronWorkflow's workflow spec: one monitor run now), so what runs is exactly what
``--out`` writes, and submitting needs only the right to create workflows (the platform's
``argo-ui`` account has it; applying templates and schedules is an administrator's job). The
server runs in ``client`` auth mode: it acts with the bearer token it is sent.

Settings, as the ``argo`` CLI names them: ``$ARGO_SERVER`` (or ``--argo-server``; a ``host:port``
without scheme means HTTPS), ``$ARGO_TOKEN`` (never a flag: command lines end up in shell history
and process lists), ``$ARGO_INSECURE_SKIP_VERIFY=true`` for a self-signed certificate. Behind the
platform's gateway, ``$ARGO_BASIC_AUTH=user:password`` logs in to the gateway; the gateway drops
the ``Authorization`` header before Argo, so the token then travels in Argo's ``authorization``
cookie, as the Argo UI sends it.
"""

from __future__ import annotations

__all__ = ["DEFAULT_SERVER", "ArgoServer", "SubmitError", "server_from_env", "submit"]

import os
from collections.abc import Mapping
from dataclasses import dataclass

import requests
from hera.exceptions import Forbidden, HeraException, NotFound, Unauthorized
from hera.workflows import CronWorkflow, WorkflowsService, WorkflowTemplate
from hera.workflows import models as m

from mlplat_runtime.errors import RunnerError

#: Where ``kubectl port-forward svc/argo-workflows-server 2746:2746`` puts the server.
DEFAULT_SERVER = "http://localhost:2746"
_TIMEOUT_S = 30.0


class SubmitError(RunnerError):
    """The run could not be submitted; the message says why and what to do."""


@dataclass(frozen=True, kw_only=True)
class ArgoServer:
    """How to reach and authenticate to the Argo server.

    Attributes:
        url: The server's base URL (``http://localhost:2746``, ``https://argo.example.com``).
        token: A Kubernetes bearer token (``kubectl -n mlplat-pipelines create token argo-ui``).
        basic_auth: ``(user, password)`` for the platform's gateway, or ``None``.
        verify_tls: Check the server's certificate.
    """

    url: str
    token: str
    basic_auth: tuple[str, str] | None = None
    verify_tls: bool = True


def server_from_env(
    url: str | None, *, namespace: str, env: Mapping[str, str] = os.environ
) -> ArgoServer:
    """The server settings from ``url`` (``--argo-server``) and the environment.

    Raises:
        SubmitError: No token, or ``$ARGO_BASIC_AUTH`` without a ``:``.
    """
    url = (url or env.get("ARGO_SERVER") or DEFAULT_SERVER).rstrip("/")
    if "://" not in url:
        url = f"https://{url}"
    token = env.get("ARGO_TOKEN", "").strip()
    if not token:
        raise SubmitError(
            "no token for the Argo server: export ARGO_TOKEN=$(kubectl -n "
            f"{namespace} create token argo-ui) (or the token `mlplat status` shows)"
        )
    basic = env.get("ARGO_BASIC_AUTH")
    pair = None
    if basic:
        user, sep, password = basic.partition(":")
        if not sep:
            raise SubmitError("ARGO_BASIC_AUTH must be user:password (the gateway's login)")
        pair = (user, password)
    skip = env.get("ARGO_INSECURE_SKIP_VERIFY", "").lower() in {"1", "true", "yes"}
    return ArgoServer(url=url, token=token, basic_auth=pair, verify_tls=not skip)


class _Session(requests.Session):
    """A session whose every request has a timeout (Hera's calls set none)."""

    def request(self, *args: object, **kwargs: object) -> requests.Response:
        kwargs.setdefault("timeout", _TIMEOUT_S)
        return super().request(*args, **kwargs)  # type: ignore[arg-type]


def submit(template: WorkflowTemplate | CronWorkflow, server: ArgoServer) -> str:
    """Start one run with ``template``'s spec (a CronWorkflow's: one run now); return its name.

    Raises:
        SubmitError: The server is unreachable, refused the token or the request, or is not an
            Argo server; the message names the fix.
    """
    built = template.build()
    spec = built.spec.workflow_spec if isinstance(built.spec, m.CronWorkflowSpec) else built.spec
    if not isinstance(spec, m.WorkflowSpec):
        raise TypeError(f"expected a workflow spec, got {type(spec).__name__}")
    namespace = str(built.metadata.namespace)
    workflow = m.Workflow(
        metadata=m.ObjectMeta(
            generate_name=f"{built.metadata.name}-",
            namespace=namespace,
            labels=built.metadata.labels,
        ),
        spec=spec,
    )
    bearer = server.token if " " in server.token else f"Bearer {server.token}"
    session = _Session()
    token: str | None = bearer
    if server.basic_auth is not None:
        session.auth = server.basic_auth
        session.cookies.set("authorization", bearer)
        token = None  # the Authorization header carries the gateway's login instead
    service = WorkflowsService(
        host=f"{server.url}/", token=token, verify_ssl=server.verify_tls, session=session
    )
    forward = f"kubectl -n {namespace} port-forward svc/argo-workflows-server 2746:2746"
    try:
        created = service.create_workflow(
            m.WorkflowCreateRequest(workflow=workflow), namespace=namespace
        )
    except requests.exceptions.SSLError as error:
        raise SubmitError(
            f"TLS to the Argo server at {server.url} failed ({error}); for a self-signed "
            "certificate set ARGO_INSECURE_SKIP_VERIFY=true"
        ) from None
    except (requests.ConnectionError, requests.Timeout) as error:
        raise SubmitError(
            f"cannot reach the Argo server at {server.url} ({type(error).__name__}): start "
            f"`{forward}` and use --argo-server {DEFAULT_SERVER}, or set ARGO_SERVER to the "
            "server's URL"
        ) from None
    except Unauthorized:
        raise SubmitError(
            f"the Argo server at {server.url} refused the token (401): tokens expire; get a "
            f"new one with export ARGO_TOKEN=$(kubectl -n {namespace} create token argo-ui)"
            + (" (behind the gateway, check ARGO_BASIC_AUTH too)" if server.basic_auth else "")
        ) from None
    except Forbidden as error:
        raise SubmitError(
            f"the token's account may not create workflows in namespace {namespace} (403): "
            f"use the argo-ui account's token, or one allowed to create workflows ({error})"
        ) from None
    except NotFound:
        raise SubmitError(
            f"{server.url} has no Argo workflow API (404): is it the Argo server's URL?"
        ) from None
    except HeraException as error:
        raise SubmitError(f"the Argo server refused the workflow: {error}") from None
    except (ValueError, KeyError) as error:  # a 2xx that is not a workflow: a login page, say
        raise SubmitError(
            f"{server.url} did not answer like an Argo server ({type(error).__name__}): is "
            "it the Argo server's URL?"
        ) from None
    return str(created.metadata.name)
