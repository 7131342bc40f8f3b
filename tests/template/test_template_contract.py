"""The shipped contract.py carries its own fingerprint, so the first `make contract` may replace it.

The generated project's ``contract_file.is_unedited`` accepts a file whose fingerprint line is the
SHA-256 of every other line; the template computes it at render time (Jinja's ``hash`` filter).
This checks the rendered files the same way, for each sample dataset.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

PREFIX = "# contract-fingerprint: sha256:"


@pytest.mark.parametrize(
    "data",
    [{}, {"problem_type": "regression", "dataset": "diabetes"}],
    ids=["credit", "diabetes"],
)
def test_shipped_contract_is_fingerprinted_as_unedited(
    render: Callable[..., Path], data: dict[str, str]
):
    project = render(**data)
    text = (project / "src" / "ml_project" / "contract.py").read_text()
    lines = text.splitlines(keepends=True)
    (marked,) = [line for line in lines if line.startswith(PREFIX)]
    body = "".join(line for line in lines if not line.startswith(PREFIX))
    assert marked.removeprefix(PREFIX).strip() == hashlib.sha256(body.encode()).hexdigest()
    assert text.endswith("validate_frame = CONTRACT.validate_frame\n")
    assert "@@FINGERPRINT@@" not in text
