"""Before any worker starts: does the alias the server is asked for exist in the registry?

Why: a missing alias is not a transient failure. Workers would each try to load it, fail, be
restarted and fail again until the supervisor gives up, and the user would read a registry error
(``alias champion not found``) instead of the reason, which is the evaluation: the pipeline
registered the model as ``challenger`` and a gate held it back. So the supervisor asks once,
before forking, and when the alias is missing says which gate(s) failed, with their numbers, and
the command that serves the challenger anyway.

The question runs in a short-lived child interpreter: the supervisor must fork its workers
before anything imports MLflow or starts a thread, so MLflow is imported there only (a child
started fresh, not forked, so nothing the caller holds can deadlock it). Anything
other than "this does not exist" (an unreachable registry, a slow import) is left to the workers,
whose loads retry behind the registry breaker as before.
"""

from __future__ import annotations

import logging
import math
import os
import re
import subprocess
import sys
from typing import Any

log = logging.getLogger(__name__)

#: The server's exit code when the model it is asked to serve does not exist (DESIGN: 1 failure).
NOT_SERVABLE = 1

#: Seconds the check may spend importing MLflow (and creating a fresh local store) on top of
#: the registry's request timeout.
IMPORT_BUDGET_S = 90.0
#: The child interpreter's exit code when it printed a message (1 is any uncaught error).
_EXPLAINED = 3

_ALIAS_URI = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/]+)$")
_MISSING = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND")


def _reasons(version: Any) -> list[str]:
    """The evaluation's reasons for the version: its run's report, else the version description."""
    import mlflow

    try:
        report = mlflow.artifacts.load_dict(f"runs:/{version.run_id}/evaluation/report.json")
        reasons = [str(r) for r in report.get("reasons", [])]
        if reasons:
            return reasons
    except Exception:  # an older run or a removed artifact: the description has the same text
        log.debug("no evaluation report on run %s", version.run_id, exc_info=True)
    description = str(version.description or "")
    if description.startswith("Blocked: "):
        return [description.removeprefix("Blocked: ")]
    return []


def _held_back(client: Any, name: str, alias: str, prog: str) -> str:
    """The message for a missing ``alias`` of the registered model ``name``."""
    from mlflow.exceptions import MlflowException

    from mlplat_runtime import tracking

    try:
        versions = list(client.search_model_versions(f"name = '{name}'"))
    except MlflowException:
        versions = []
    if not versions:
        return (
            f"no model named {name!r} is registered (MLFLOW_TRACKING_URI="
            f"{tracking.tracking_uri()}): run `make pipeline` to train and register one, or "
            "pass --model-uri PATH to a model directory"
        )
    try:
        latest = client.get_model_version_by_alias(name, "challenger")
        which = f"version {latest.version} (alias challenger)"
        serve = f"models:/{name}@challenger"
    except MlflowException:
        latest = max(versions, key=lambda v: int(v.version))
        which = f"version {latest.version} (the newest)"
        serve = f"models:/{name}/{latest.version}"
    gates = str((latest.tags or {}).get("gates", ""))
    reasons = _reasons(latest) if gates != "passed" else []
    lines = [f"models:/{name}@{alias} does not exist: no version of {name!r} holds that alias."]
    if reasons:
        lines.append(f"{which} was held back by the evaluation gate(s):")
        lines += [f"  - {reason}" for reason in reasons]
    elif gates == "passed":
        lines.append(f"{which} passed every gate but is not {alias}: rerun `make pipeline`.")
    else:
        lines.append(f"{which} has no recorded gate result (see its model card).")
    lines += [
        "Fix the data or the config and run `make pipeline` again, or serve it anyway:",
        f"  make serve MODEL_URI={serve}",
        f"  ({prog} --model-uri {serve})",
    ]
    return "\n".join(lines)


def explain_missing(uri: str, *, prog: str) -> str | None:
    """In this process: None when ``uri`` is not ``models:/NAME@ALIAS`` or the alias resolves.

    Otherwise the message saying why the alias is missing and how to serve the challenger. An
    error other than "does not exist" propagates (the caller leaves it to the workers).
    """
    found = _ALIAS_URI.match(uri)
    if found is None:
        return None
    import mlflow
    from mlflow.exceptions import MlflowException

    from mlplat_runtime import tracking

    tracking.configure()
    client = mlflow.MlflowClient()
    try:
        client.get_model_version_by_alias(found["name"], found["alias"])
    except MlflowException as exc:
        if exc.error_code not in _MISSING:
            raise
        return _held_back(client, found["name"], found["alias"], prog)
    return None


def check_servable(uri: str, *, prog: str, request_timeout_s: float) -> str | None:
    """Run :func:`explain_missing` in a child interpreter; its message, or None to go ahead.

    The registry gets one try of ``request_timeout_s`` (the workers' loads are where it is
    retried); importing MLflow gets :data:`IMPORT_BUDGET_S` more, as it can take tens of seconds
    on a busy machine. None also when the child fails or runs out of time (it is then killed):
    the workers' own loads report that case, with retries.
    """
    if _ALIAS_URI.match(uri) is None:
        return None
    timeout_s = request_timeout_s + IMPORT_BUDGET_S
    env = os.environ | {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": os.environ.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0"),
        "MLFLOW_HTTP_REQUEST_TIMEOUT": os.environ.get(
            "MLFLOW_HTTP_REQUEST_TIMEOUT", str(max(1, math.ceil(request_timeout_s)))
        ),
    }
    command = [sys.executable, "-m", __name__, uri, prog]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        log.warning("no registry answer within %.0f s; the workers will retry", timeout_s)
        return None
    if done.returncode != _EXPLAINED or not done.stdout.strip():
        if done.returncode:
            log.debug("the registry check failed; the workers will retry: %s", done.stderr)
        return None
    return done.stdout.strip()


def _main(argv: list[str]) -> int:
    """``python -m mlplat_runtime.serving.preflight URI PROG``: the message on stdout, exit 3."""
    uri, prog = argv
    message = explain_missing(uri, prog=prog)
    if message is None:
        return 0
    print(message)
    return _EXPLAINED


__all__ = ["IMPORT_BUDGET_S", "NOT_SERVABLE", "check_servable", "explain_missing"]


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
