"""The one module that talks to Copier, and the translation of its errors into ours.

mlplat drives Copier's ``Worker`` rather than ``run_copy``/``run_update`` for two reasons:
the questionnaire must be known before answers are applied (to reject unknown keys by
name), and an update of a project made from the bundled template must read the template
from *this* machine's cache, not from the path recorded on the machine that generated it.
Copier is pinned below 10 for this reason.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplat.errors import MlplatError, UsageError
from mlplat.scaffold.answers import check_known

__all__ = ["AnswerError", "RenderRequest", "copy_template", "update_from_template"]

# Messages Copier raises (as ValueError/TypeError) for answers that fail a question's type,
# choices or validator: these are the user's input errors, so they exit 2.
_ANSWER_ERRORS = (
    "Validation error for question",
    "Invalid choice for",
    'Question "',
    "Invalid answer",
)
_QUESTION = re.compile(r"""^(?:Validation error for question|Invalid choice for) '(\w+)'""")


class AnswerError(UsageError):
    """An answer (given, or a default) that the template's question refuses.

    Attributes:
        question: The question's name, when Copier's message names it.
    """

    def __init__(self, message: str, *, question: str | None) -> None:
        super().__init__(message)  # Copier's message says what is accepted: no hint needed
        self.question = question


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
        suggested: Defaults mlplat proposes in place of the template's (they are also the
            prompts' defaults); dropped for questions the template does not ask.
    """

    src: str | None
    dst: Path
    data: Mapping[str, Any]
    defaults: bool
    vcs_ref: str | None
    quiet: bool
    suggested: Mapping[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def _translated_errors(request: RenderRequest) -> Iterator[None]:
    from copier.errors import (
        CopierAnswersInterrupt,
        CopierError,
        InteractiveSessionError,
        UserMessageError,
    )
    from plumbum import ProcessExecutionError

    try:
        yield
    except CopierAnswersInterrupt:
        # Ctrl-C at a prompt: Copier wraps it with the whole questionnaire's state, which is
        # no message for a user. The caller cleans up and reports the interrupt.
        raise KeyboardInterrupt from None
    except InteractiveSessionError:
        # mlplat only lets Copier prompt on a terminal, so this is end of input (Ctrl-D)
        # at a prompt.
        raise UsageError(
            "A prompt got end of input (Ctrl-D) instead of an answer; nothing was written.",
            hint="Answer the questions, or pass --defaults and/or --data key=value.",
        ) from None
    except ProcessExecutionError as error:
        output = (error.stderr or error.stdout or "").strip().splitlines()
        fatal = [line for line in output if line.startswith(("fatal:", "error:"))]
        detail = (fatal or output or [f"exit code {error.retcode}"])[0]
        raise MlplatError(
            f"git failed reading the template {request.src or '(recorded _src_path)'}: {detail}",
            hint="Check the template path or URL, your network and your git credentials.",
        ) from None
    except (ValueError, TypeError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        if message.startswith(_ANSWER_ERRORS):
            match = _QUESTION.match(message)
            raise AnswerError(message, question=match.group(1) if match else None) from None
        if message.startswith("Unknown revision"):
            ref = message.partition(":")[2].strip()
            src = request.src or "recorded as _src_path in .copier-answers.yml"
            raise UsageError(
                f"The template {src} has no tag, branch or commit {ref}.",
                hint=f"List its tags with `git ls-remote --tags {request.src or '<_src_path>'}`,"
                " and pass one with --vcs-ref.",
            ) from None
        raise
    except UserMessageError as error:
        raise MlplatError(str(error).strip()) from None
    except CopierError as error:
        raise MlplatError(f"Copier failed: {error}") from None


@contextlib.contextmanager
def _worker(request: RenderRequest, **extra: Any) -> Iterator[Any]:
    from copier._main import Worker

    with (
        _translated_errors(request),
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
        questions = frozenset(worker.template.questions_data)
        check_known(request.data, questions)
        worker.user_defaults = {k: v for k, v in request.suggested.items() if k in questions}
        yield worker


def copy_template(request: RenderRequest) -> None:
    """Render the template into ``request.dst`` after checking answer keys.

    Raises:
        KeyboardInterrupt: Ctrl-C at a prompt (the caller removes what it staged).
        AnswerError: An answer or a suggested default fails its question.
        UsageError: Another input error (unknown answer key, ref, end of input at a prompt).
        MlplatError: The template could not be read or rendered.
    """
    with _worker(request) as worker:
        worker.run_copy()


def update_from_template(request: RenderRequest, *, before_changes: Callable[[], None]) -> bool:
    """Update the project at ``request.dst`` from its template; conflicts are inline.

    When ``request.src`` is given it replaces the recorded ``_src_path`` for *both* sides
    of the three-way merge: the old version is regenerated from it at the recorded
    ``_commit`` too, since the recorded path may only exist on another machine.

    Args:
        request: What to update and how.
        before_changes: Called once it is known that the update will change something,
            before anything is written (the caller's clean-tree check).

    Returns:
        False, with nothing done, when the project already is at the target commit and no
        answer is being changed; True after an update.
    """
    with _worker(request, overwrite=True, conflict="inline", skip_answered=True) as worker:
        if request.src is not None:
            worker.subproject.last_answers["_src_path"] = request.src
        recorded = worker.subproject.template
        target = worker.template.commit_hash
        if not request.data and recorded is not None and target is not None:
            if recorded.commit_hash == target:
                return False
        before_changes()
        worker.run_update()
        return True
