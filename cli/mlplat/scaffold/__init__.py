"""Scaffolding: create projects from Copier templates and keep them up to date.

The public API is two functions over two option objects; everything else is private.
"""

from mlplat.scaffold.new import NewOptions, NewResult, new_project
from mlplat.scaffold.update import UpdateOptions, UpdateResult, update_project

__all__ = [
    "NewOptions",
    "NewResult",
    "UpdateOptions",
    "UpdateResult",
    "new_project",
    "update_project",
]
