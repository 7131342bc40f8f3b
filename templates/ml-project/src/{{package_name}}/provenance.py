"""Provenance facts (content hash, code and package versions): the runtime's, named for stages."""

from __future__ import annotations

__all__ = ["code_version", "content_hash", "package_versions"]

from mlplat_runtime.provenance import code_version, content_hash, package_versions
