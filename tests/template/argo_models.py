"""Walk a parsed Argo manifest against Hera's generated Argo models and list unknown keys.

``hera.workflows.models`` (generated from Argo Workflows' OpenAPI spec) check the types of the
fields they know but accept unknown keys, so a misspelt key (``serviceAcountName``) would
validate and then be ignored by Argo. This walks every mapping alongside the model its field
declares and names each key no model field (by alias) accepts.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Union

from pydantic import BaseModel, RootModel

__all__ = ["unknown_keys"]


def _candidates(annotation: Any) -> list[Any]:
    """The concrete types an annotation allows (Annotated, Optional and Union unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _candidates(typing.get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [c for arg in typing.get_args(annotation) for c in _candidates(arg)]
    return [annotation]


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return {(info.alias or name): info.annotation for name, info in model.model_fields.items()}


def unknown_keys(value: Any, annotation: Any, path: str = "") -> list[str]:
    """Paths of keys in ``value`` that ``annotation`` (a Hera model type) does not declare."""
    found: list[str] = []
    for candidate in _candidates(annotation):
        origin = typing.get_origin(candidate)
        if isinstance(candidate, type) and issubclass(candidate, RootModel):
            inner = candidate.model_fields["root"].annotation
            return unknown_keys(value, inner, path)
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            if not isinstance(value, dict):
                continue
            fields = _fields(candidate)
            for key, item in value.items():
                if key not in fields:
                    found.append(f"{path}.{key}".lstrip("."))
                else:
                    found += unknown_keys(item, fields[key], f"{path}.{key}")
            return found
        if origin is list and isinstance(value, list):
            (inner,) = typing.get_args(candidate)
            for index, item in enumerate(value):
                found += unknown_keys(item, inner, f"{path}[{index}]")
            return found
        if origin is dict and isinstance(value, dict):
            _, inner = typing.get_args(candidate)
            for key, item in value.items():
                found += unknown_keys(item, inner, f"{path}.{key}")
            return found
    return found
