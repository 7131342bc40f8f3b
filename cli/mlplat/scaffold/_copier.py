"""The one module that talks to Copier, and the translation of its errors into ours.

mlplat drives Copier's ``Worker`` rather than ``run_copy``/``run_update`` for two reasons:
the questionnaire must be known before answers are applied (to reject unknown keys by
name), and an update of a project made from the bundled template must read the template
from *this* machine's cache, not from the path recorded on the machine that generated it.
Copier is pinned below 10 for this reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplat.errors import MlplatError, UsageError
from mlplat.scaffold.answers import check_known

__all__ = ["RenderRequest", "copy_template", "update_from_template"]

# Messages Copier raises (as ValueError/TypeError) for answers that fail a question's type,
# choices or validator: these are the user's input errors, so they exit 2.
_ANSWER_ERRORS = (
    "Validation error for question",
    "Invalid choice for",
    'Question "',
    "Invalid answer",
)


@contextlib.contextmanager
def _translated_errors() -> Iterator[None]:
    from copier.errors import CopierError, InteractiveSessionError, UserMessageError

    try:
        yield
    except InteractiveSessionError as error:
        raise UsageError(
            f"Copier needs an answer it cannot ask for: {error}",
            hint="Pass --defaults and/or --data key=value.",
        ) from None
    except (ValueError, TypeError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        if message.startswith(_ANSWER_ERRORS):
            raise UsageError(message) from None
        raise
    except UserMessageError as error:
        raise MlplatError(str(error).strip()) from None
    except CopierError as error:
        raise MlplatError(f"Copier failed: {error}") from None


@dataclass(frozen=True, kw_only=True)
class RenderRequest:
    """What both copy and update hand to Copier.

    Attributes:
        src: Template path or URL; for an update, None means the recorded ``_src_path``.
        dst: The project directory.
        data: Answers, checked against the template's questions before use.
        defaults: Use defaults for unanswered questions instead of prompting.
        vcs_ref: Template git ref to render; None for Copier's default.
        quiet: Hide Copier's per-file output.
    """

    src: str | None
    dst: Path
    data: Mapping[str, Any]
    defaults: bool
    vcs_ref: str | None
    quiet: bool


@contextlib.contextmanager
def _worker(request: RenderRequest, **extra: Any) -> Iterator[Any]:
    from copier._main import Worker

    with (
        _translated_errors(),
        Worker(
            src_path=request.src,
            dst_path=request.dst,
            data=dict(request.data),
            defaults=request.defaults,
            vcs_ref=request.vcs_ref,
            quiet=request.quiet,
            unsafe=False,
            **extra,
        ) as worker,
    ):
        check_known(request.data, frozenset(worker.template.questions_data))
        yield worker


def copy_template(request: RenderRequest) -> None:
    """Render the template into ``request.dst`` after checking answer keys."""
    with _worker(request) as worker:
        worker.run_copy()


def update_from_template(request: RenderRequest) -> None:
    """Update the project at ``request.dst`` from its template; conflicts are inline.

    When ``request.src`` is given it replaces the recorded ``_src_path`` for *both* sides
    of the three-way merge: the old version is regenerated from it at the recorded
    ``_commit`` too, since the recorded path may only exist on another machine.
    """
    with _worker(request, overwrite=True, conflict="inline", skip_answered=True) as worker:
        if request.src is not None:
            worker.subproject.last_answers["_src_path"] = request.src
        worker.run_update()
