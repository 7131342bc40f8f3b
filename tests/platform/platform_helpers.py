"""Helpers for the platform's mock-runtime tests.

`run` executes a program under Pulumi's mocks (the same runner `mlplat render` uses) and
returns every registration with its inputs and options; `SECRET` recognises the envelope in
which the engine receives secret values.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlplat.render._mock import Registration

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"


def is_secret(value: Any) -> bool:
    """Whether an input arrived at the engine marked secret."""
    return isinstance(value, dict) and SECRET_SIG_KEY in value


class Run:
    """Registrations of one mocked program run, with lookups by type and name."""

    def __init__(self, registrations: list[Registration], result: Any) -> None:
        self.registrations = registrations
        self.result = result
        self.by_urn = {r.urn: r for r in registrations}

    def of_type(self, suffix: str) -> list[Registration]:
        return [r for r in self.registrations if r.type.endswith(suffix)]

    def one(self, suffix: str, name: str) -> Registration:
        matches = [r for r in self.of_type(suffix) if r.name == name]
        assert len(matches) == 1, f"{suffix} {name}: {[r.name for r in self.of_type(suffix)]}"
        return matches[0]

    def named(self, kind: str, name: str, namespace: str | None = None) -> Registration:
        """The Kubernetes object of ``kind`` named ``name`` (in ``namespace``, if given)."""
        matches = [
            r
            for r in self.of_type(f":{kind}")
            if r.inputs.get("metadata", {}).get("name") == name
            and namespace in (None, r.inputs.get("metadata", {}).get("namespace"))
        ]
        assert len(matches) == 1, f"{kind}/{name}: {len(matches)} matches"
        return matches[0]

    def depends_on(self, reg: Registration, other: Registration) -> bool:
        return other.urn in reg.dependencies

    def waits_for(self, reg: Registration, other: Registration) -> bool:
        """Whether Pulumi creates ``other`` (and awaits it) before ``reg``.

        Follows ``depends_on`` transitively; depending on a component (a chart) means
        waiting for everything inside it, as the engine does.
        """
        children: dict[str, list[str]] = {}
        for r in self.registrations:
            children.setdefault(r.parent or "", []).append(r.urn)
        seen: set[str] = set()
        todo = list(reg.dependencies)
        while todo:
            urn = todo.pop()
            if urn in seen:
                continue
            seen.add(urn)
            if urn == other.urn:
                return True
            todo.extend(children.get(urn, []))
            if urn in self.by_urn:
                todo.extend(self.by_urn[urn].dependencies)
        return False


def shared_chart_mirror() -> Path | None:
    """The pinned charts' archives (``../shared/charts`` beside the main checkout), if here.

    ``MLPLAT_TEST_CHART_MIRROR`` names another directory. The archives are test data of this
    machine and of the local control plane, not part of the repository, so tests that need
    them skip where they are absent.
    """
    named = os.environ.get("MLPLAT_TEST_CHART_MIRROR")
    root = Path(__file__).resolve().parents[2]
    mirror = Path(named) if named else root.parent / "shared" / "charts"
    return mirror if (mirror / "README.md").is_file() else None
