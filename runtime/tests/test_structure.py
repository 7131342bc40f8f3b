"""The runtime's shape: no import cycles, typed, and every moved module importable alone."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import mlplat_runtime
from tests.template.imports import import_cycles, import_graph

PACKAGE = Path(mlplat_runtime.__file__).parent
MODULES = sorted(import_graph(PACKAGE))


def test_no_import_cycles() -> None:
    assert import_cycles(import_graph(PACKAGE)) == ()


def test_the_package_is_typed() -> None:
    assert (PACKAGE / "py.typed").is_file()


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_on_its_own(module: str) -> None:
    importlib.import_module(module)
