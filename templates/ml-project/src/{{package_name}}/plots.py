"""The evaluation plots evaluate logs (confusion, calibration, residuals, slices): the runtime's."""

from __future__ import annotations

__all__ = ["render"]

from mlplat_runtime.plots import render
