"""Deploying through the Pulumi Automation API: ``mlplat up/preview/down/status/doctor``.

Public API:

- `StackOptions`, the options of the stack commands; `up`, `preview`, `down`, `status` run
  them on the platform (project ``mlplat``; ``down`` and ``status`` on a project's model
  deployment with ``StackOptions.project``) and return `UpResult`, `DownResult`,
  `StatusResult`; ``mlplat deploy`` is `mlplat.stack.deploy.deploy`;
- `DoctorOptions` and `run_doctor` (a `DoctorReport`).

Each command is one path through typed hand-offs: `StackOptions` → checks and the `Target`
(`platform`, `deploy`) → `Session` (`session.preflight`: the `Workspace`) → the confirmation
and the opened stack (`session.open_run`: a `StackRun`) → the operation (`operations`,
`teardown`, `status`) → its result. Everything else (backend, passphrase, CLI lookup,
events, error mapping, recovery) is in the private-by-convention modules of this package.
Importing it imports neither Pulumi nor rich: they load when a command runs.
"""

from __future__ import annotations

from mlplat.stack.doctor import DoctorOptions, DoctorReport, run_doctor
from mlplat.stack.operations import UpResult
from mlplat.stack.platform import down, preview, status, up
from mlplat.stack.session import StackOptions
from mlplat.stack.status import StatusResult
from mlplat.stack.teardown import DownResult

__all__ = [
    "DoctorOptions",
    "DoctorReport",
    "DownResult",
    "StackOptions",
    "StatusResult",
    "UpResult",
    "down",
    "preview",
    "run_doctor",
    "status",
    "up",
]
